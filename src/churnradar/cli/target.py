"""`churnradar target`: budgeted retention target list (being written)."""
