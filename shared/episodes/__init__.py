"""Hospital stays (episodes): event reads and folds, recompute, rebuild, flags, work lists."""
