"""Organizations: registration and API keys, the reference cache, rule-set reads."""
