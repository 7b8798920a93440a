"""Direct SQL on MLflow's own tables, for the embedded and SQL stores, without MLflow's import.

Everything here reads or writes the rows MLflow's ``SqlAlchemyStore`` keeps, and answers only
for a store of the shape it was tested with (:mod:`.contract`, the one guard); anything else
goes through MLflow. :mod:`.run_writes` writes one run, :mod:`.run_reads` reads runs back for
a command line, :mod:`.index_source` feeds the runs index.
"""
