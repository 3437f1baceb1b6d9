"""Demo data: a seeded, realistic region of hospitals and care offices, and its poster."""
