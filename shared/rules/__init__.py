"""Pure rule engine for 入退院支援ルール: the event types, the fold, metrics and flags (no I/O)."""
