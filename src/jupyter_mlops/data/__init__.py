"""Data snapshots: content-addressed, deduplicated versions of tables with diff and drift."""
