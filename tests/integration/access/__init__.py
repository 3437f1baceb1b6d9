"""Integration tests of shared.access (real PostgreSQL)."""
