"""Validating new data against a snapshot: inferred rules, pandera checks, anomaly reports."""
