"""Integration tests of the worker processes and the periodic scheduler (real brokers)."""
