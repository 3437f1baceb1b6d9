"""Integration tests of shared.notify (real PostgreSQL)."""
