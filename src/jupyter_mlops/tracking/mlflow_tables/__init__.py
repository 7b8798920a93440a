"""Direct SQL on MLflow's own tables, for the embedded and SQL stores, without MLflow's import.

Everything here reads or writes the rows MLflow's ``SqlAlchemyStore`` keeps, and answers only
for a schema revision it was tested with (:data:`.run_reads.TESTED_REVISIONS`); anything else
goes through MLflow. :mod:`.run_writes` writes one run, :mod:`.run_reads` reads runs back for
a command line, :mod:`.index_source` feeds the runs index.
"""
