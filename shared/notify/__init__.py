"""Webhooks: subscriptions, the outbox written with each change, and signed delivery (issue 14)."""
