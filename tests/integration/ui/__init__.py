"""Integration tests of the Japanese screens (services.api.ui) over the real app."""
