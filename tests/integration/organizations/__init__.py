"""Integration tests of shared.organizations (real PostgreSQL)."""
