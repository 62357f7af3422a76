"""churnradar: churn analytics and retention engine for mobile operators."""

__version__ = "0.1.0"
