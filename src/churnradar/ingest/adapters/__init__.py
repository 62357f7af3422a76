"""Adapters for public churn datasets: map their columns to churnradar's canonical names.

Public datasets are flat (one row per customer, one churn column), not the operator's canonical
tables, so an adapter only renames what has a canonical meaning (``subscriber_id``, ``tenure_months``,
``package_fee``, voice minutes, service contacts, ``churned``), derives ``arpu`` where the bill is
split into parts (BigML's day/evening/night/international charges), and leaves the rest as is.
``churnradar fit-table`` applies the adapter whose columns a file has (``--adapter auto``).

>>> from churnradar.ingest.adapters import detect_adapter
>>> detect_adapter(["customerID", "tenure", "MonthlyCharges", "TotalCharges", "Contract", "Churn"]).name
'ibm_telco'
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from churnradar.errors import ConfigError


@dataclass(frozen=True)
class Adapter:
    """A public dataset's column → canonical name map; ``required`` columns identify the dataset."""

    name: str
    title: str
    rename: dict[str, str]
    required: tuple[str, ...]
    target: str
    id_column: str | None = None
    #: canonical columns computed from the renamed ones (e.g. monthly revenue from charge parts)
    derive: Callable[[Any], Any] | None = None

    def matches(self, columns: Sequence[str]) -> bool:
        return set(self.required) <= set(columns)

    def canonical(self, column: str) -> str:
        return self.rename.get(column, column)

    def adapt(self, frame: Any) -> Any:
        """A pandas DataFrame with canonical names where they exist (and derived canonical columns)."""
        out = frame.rename(columns=self.rename)
        return self.derive(out) if self.derive is not None else out


def _bigml_derive(frame: Any) -> Any:
    parts = ["revenue_day", "revenue_eve", "revenue_night", "revenue_intl"]
    if all(c in frame.columns for c in parts):
        frame = frame.assign(arpu=frame[parts].sum(axis=1))
    return frame


IBM_TELCO = Adapter(
    name="ibm_telco",
    title="IBM Telco Customer Churn (sample data, 7,043 customers)",
    rename={
        "customerID": "subscriber_id",
        "tenure": "tenure_months",
        "MonthlyCharges": "package_fee",
        "TotalCharges": "revenue_total",
        "Contract": "contract_type",
        "PaymentMethod": "payment_method",
        "PaperlessBilling": "paperless_billing",
        "InternetService": "internet_service",
        "PhoneService": "phone_service",
        "MultipleLines": "customer_lines_multiple",
        "SeniorCitizen": "is_senior",
        "Partner": "has_partner",
        "Dependents": "has_dependents",
        "gender": "gender",
        "Churn": "churned",
    },
    required=("customerID", "tenure", "MonthlyCharges", "TotalCharges", "Contract", "Churn"),
    target="Churn",
    id_column="customerID",
)

BIGML_CHURN = Adapter(
    name="bigml_churn",
    title="BigML / Orange telecom churn (semi-synthetic, 3,333 customers)",
    rename={
        "State": "region_id",
        "Account length": "tenure_days",
        "Area code": "area_code",
        "International plan": "international_plan",
        "Voice mail plan": "voice_mail_plan",
        "Number vmail messages": "vmail_messages",
        "Total day minutes": "voice_day_min",
        "Total day calls": "voice_day_calls",
        "Total day charge": "revenue_day",
        "Total eve minutes": "voice_eve_min",
        "Total eve calls": "voice_eve_calls",
        "Total eve charge": "revenue_eve",
        "Total night minutes": "voice_night_min",
        "Total night calls": "voice_night_calls",
        "Total night charge": "revenue_night",
        "Total intl minutes": "voice_intl_min",
        "Total intl calls": "voice_intl_calls",
        "Total intl charge": "revenue_intl",
        "Customer service calls": "service_contacts",
        "Churn": "churned",
    },
    required=("State", "Account length", "Customer service calls", "Churn"),
    target="Churn",
    derive=_bigml_derive,
)

ADAPTERS: dict[str, Adapter] = {a.name: a for a in (IBM_TELCO, BIGML_CHURN)}


def detect_adapter(columns: Sequence[str]) -> Adapter | None:
    """The adapter whose identifying columns the file has, or None."""
    for a in ADAPTERS.values():
        if a.matches(columns):
            return a
    return None


def get_adapter(name: str, columns: Sequence[str]) -> Adapter | None:
    """``auto`` (detect), ``none``, or an adapter by name (checked against the columns)."""
    if name == "none":
        return None
    if name == "auto":
        return detect_adapter(columns)
    if name not in ADAPTERS:
        raise ConfigError(f"unknown adapter {name!r}; expected auto, none or one of {', '.join(ADAPTERS)}")
    a = ADAPTERS[name]
    if not a.matches(columns):
        missing = [c for c in a.required if c not in columns]
        raise ConfigError(f"adapter {name} needs columns {missing}, which the file lacks")
    return a
