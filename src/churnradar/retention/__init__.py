"""Retention: customer value, value × risk segments and policy, campaigns with randomised control,
idempotent contact and outcome recording, evaluation, uplift models and budgeted targeting.

See ``docs/retention.md``. Campaign writes go to the operational store
(:mod:`churnradar.opstore`); value, segments and target lists to the analytical store.
"""
