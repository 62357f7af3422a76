"""Churn definitions: named, parameterised, versioned objects.

A definition says which churn kind is the prediction target and fixes every parameter that changes
what gets counted. Its ``version`` is a short hash of name and parameters, stored with every label
row so that labels made under different rules are never mixed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, replace

from churnradar.errors import ConfigError
from churnradar.metrics.population import DEREGISTRATION_LAG_MONTHS
from churnradar.schema.enums import OFFNET_KINDS

#: How an off-net exit is dated, in the words of the metrics layer and the reports: ``left`` (the
#: last month with billable activity, when the customer actually left) or ``recorded`` (the month
#: of the recorded deregistration or port-out).
DATINGS = ("left", "recorded")
#: Earlier names of the datings, still accepted everywhere a dating is: ``last_activity`` is
#: ``left``, ``event`` is ``recorded``.
DATING_ALIASES = {"last_activity": "left", "event": "recorded"}


@dataclass(frozen=True)
class ChurnDefinition:
    """Parameters of churn labelling.

    - ``target``: the kind that makes ``churn_within_<h>m`` true (``offnet`` counts deregistrations
      and port-outs; ``port_out``, ``brand_downgrade``, ``value_decline``, ``silent`` count only that
      kind).
    - ``dating``: ``left`` dates an off-net churn in the subscriber's last month with billable
      activity (the month the customer actually left; arrears → deregistration takes about three
      more months); ``recorded`` dates it by the recorded deregistration or port-out
      (``last_activity`` and ``event``, the earlier names, are accepted and read as these).
    - ``reselection_days``: a new subscription of the same certificate or handset opened within this
      many days of the old one going quiet (or before it was closed) is in-network re-selection.
    - ``value_decline_share`` / ``value_decline_months``: revenue below this share of the previous
      three months' mean for this many consecutive months.
    - ``silent_days``: no billable activity for this many days while not suspended or closed.
    - ``horizons``: months ahead for the horizon labels.
    """

    name: str = "offnet"
    target: str = "offnet"
    dating: str = "left"
    reselection_days: int = 30
    value_decline_share: float = 0.5
    value_decline_months: int = 3
    silent_days: int = 90
    horizons: tuple[int, ...] = (1, 2, 3)
    description: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if self.dating in DATING_ALIASES:
            object.__setattr__(self, "dating", DATING_ALIASES[self.dating])
        if self.target not in TARGETS:
            raise ConfigError(
                f"churn target {self.target!r} is not known; expected one of {', '.join(TARGETS)}"
            )
        if self.dating not in DATINGS:
            raise ConfigError(
                f"dating {self.dating!r} is not known; expected one of {', '.join(DATINGS)} "
                f"(or {', '.join(DATING_ALIASES)})"
            )
        if not 0 <= self.reselection_days <= 366:
            raise ConfigError(f"reselection_days {self.reselection_days} is out of range; expected 0 to 366")
        if not 0 < self.value_decline_share < 1:
            raise ConfigError(
                f"value_decline_share {self.value_decline_share} is out of range; expected between 0 and 1"
            )
        if not 1 <= self.value_decline_months <= 12:
            raise ConfigError(
                f"value_decline_months {self.value_decline_months} is out of range; expected 1 to 12"
            )
        if not 30 <= self.silent_days <= 366:
            raise ConfigError(f"silent_days {self.silent_days} is out of range; expected 30 to 366")
        if (
            not self.horizons
            or any(h < 1 or h > 24 for h in self.horizons)
            or list(self.horizons) != sorted(set(self.horizons))
        ):
            raise ConfigError(
                f"horizons {self.horizons} are not valid; expected increasing months between 1 and 24"
            )

    @property
    def silent_months(self) -> int:
        """Whole months without activity that make ``silent_days`` (rounded up)."""
        return -(-self.silent_days // 30)

    @property
    def lag_months(self) -> int:
        """Months after an event month before the recorded exits of that month are complete: the
        deregistration lag under ``left`` dating, none under ``recorded``."""
        return DEREGISTRATION_LAG_MONTHS if self.dating == "left" else 0

    @property
    def version(self) -> str:
        params = {k: v for k, v in asdict(self).items() if k != "description"}
        # hashed under the datings' earlier names, so labels written before keep their version
        params["dating"] = {v: k for k, v in DATING_ALIASES.items()}[self.dating]
        digest = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()
        return f"1.{digest[:8]}"

    def with_params(self, **params: object) -> ChurnDefinition:
        return replace(self, **params)


#: ``offnet`` (both off-net kinds) and ``port_out`` (only port-outs) are the off-net targets
TARGETS = (*OFFNET_KINDS, "brand_downgrade", "value_decline", "silent")

DEFINITIONS: dict[str, ChurnDefinition] = {
    d.name: d
    for d in (
        ChurnDefinition(
            "offnet",
            description="Off-net churn (deregistration or port-out), dated by last billable activity.",
        ),
        ChurnDefinition(
            "offnet_recorded",
            dating="recorded",
            description="Off-net churn dated by the recorded deregistration or port-out event.",
        ),
        ChurnDefinition("port_out", target="port_out", description="Number ported out to a competitor."),
        ChurnDefinition(
            "brand_downgrade",
            target="brand_downgrade",
            description="Move from a higher brand to a lower one.",
        ),
        ChurnDefinition(
            "value_decline",
            target="value_decline",
            description="Revenue below 50% of the own 3-month baseline for 3 months in a row.",
        ),
        ChurnDefinition(
            "silent", target="silent", description="No billable activity for 90 days, not suspended."
        ),
        ChurnDefinition(
            "zero_usage",
            target="silent",
            silent_days=30,
            description="No billable activity in a whole month (zero usage), not suspended.",
        ),
    )
}

#: what ``--definition`` accepts beside the names: ``silent:DAYS``
PARAMETERISED = ("silent:DAYS",)
#: the definition used when the store has no deregistration or port-out events to date off-net churn
USAGE_BASED_DEFAULT = "silent:30"


def get_definition(name: str) -> ChurnDefinition:
    """The definition called ``name``: one of :data:`DEFINITIONS`, or ``silent:DAYS`` (no billable
    activity for DAYS days, 30 to 366)."""
    if name in DEFINITIONS:
        return DEFINITIONS[name]
    kind, _, arg = name.partition(":")
    if kind == "silent" and arg:
        try:
            days = int(arg)
        except ValueError:
            raise ConfigError(
                f"churn definition {name!r}: {arg!r} is not a number of days; e.g. silent:30"
            ) from None
        return DEFINITIONS["silent"].with_params(
            name=f"silent:{days}",
            silent_days=days,
            description=f"No billable activity for {days} days, not suspended.",
        )
    raise ConfigError(
        f"unknown churn definition {name!r}; expected one of {', '.join([*DEFINITIONS, *PARAMETERISED])}"
    )
