"""Integration tests of shared.episodes (real PostgreSQL)."""
