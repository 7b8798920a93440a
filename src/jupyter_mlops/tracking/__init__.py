"""Tracking service: run lifecycle, buffered logging, run context, queries."""
