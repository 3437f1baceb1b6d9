"""Integration tests of shared.metrics (real PostgreSQL)."""
