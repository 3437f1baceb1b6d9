"""Who is calling and what they may see: principals, API keys, audit, episode visibility."""
