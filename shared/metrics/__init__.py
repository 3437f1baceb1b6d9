"""Survey metrics: windows, sums, rollups, contributions, queries, the monthly survey."""
