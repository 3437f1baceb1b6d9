"""Integration tests of the operator's tools: CLI, migrations, /metrics, /readyz, isolation."""
