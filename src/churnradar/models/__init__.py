"""Churn models: discrete-time hazard model (LightGBM), calibration, reasons, health, flat tables.

>>> from churnradar.models import train_store, score_store
>>> train_store("operator.duckdb", as_of="2024-06")  # doctest: +SKIP
>>> score_store("operator.duckdb", as_of="2024-06").summary()  # doctest: +SKIP
"""

from churnradar.models.calibration import CalibrationWarning, HazardCalibrator
from churnradar.models.churn import ChurnModel
from churnradar.models.explain import ReasonExplainer, feature_reason_map, reason_label
from churnradar.models.hazard import ChurnHazardModel, hazard_panel
from churnradar.models.health import HealthScorer, risk_level
from churnradar.models.pipeline import FeatureSetMismatchError, score_store, train_store
from churnradar.models.registry import ModelNotFoundError, list_models, load_model, save_model

__all__ = [
    "CalibrationWarning",
    "ChurnHazardModel",
    "ChurnModel",
    "FeatureSetMismatchError",
    "HazardCalibrator",
    "HealthScorer",
    "ModelNotFoundError",
    "ReasonExplainer",
    "feature_reason_map",
    "hazard_panel",
    "list_models",
    "load_model",
    "reason_label",
    "risk_level",
    "save_model",
    "score_store",
    "train_store",
]
