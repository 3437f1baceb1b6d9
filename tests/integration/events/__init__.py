"""Integration tests of shared.events (real PostgreSQL)."""
