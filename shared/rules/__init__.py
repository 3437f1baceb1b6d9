"""Pure rule engine for 入退院支援ルール: fold events, compute metrics and flags (no I/O)."""
