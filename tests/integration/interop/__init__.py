"""Integration tests of shared.interop (real PostgreSQL)."""
