"""The catalogue of simulator mechanisms: each rule that causes a churn, with its ground truth.

A mechanism's code is stored in the population arrays (``cause``) and written to
``_truth/churn_truth`` as ``mechanism`` together with its kind, reason code, intent and driver.
``baseline`` draws its reason from ``SimConfig.baseline_reason_mix`` (see :data:`BASELINE_REASONS`).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mechanism:
    name: str
    kind: str  # offnet | port_out (decided by the route) | other churn kinds
    reason: str
    intent: str
    driver: str
    competitor_bound: bool  # the customer moves to a competitor (port-out more likely)
    doc: str


MECHANISMS: tuple[Mechanism, ...] = (
    Mechanism(
        "baseline",
        "offnet",
        "unknown",
        "voluntary",
        "none",
        False,
        "Baseline hazard: payment type, tenure, customer group, family plan, dual SIM and "
        "unobserved frailty; the reason is drawn from baseline_reason_mix.",
    ),
    Mechanism(
        "spring_festival_migrant",
        "offnet",
        "seasonal_migrant",
        "involuntary",
        "life_event",
        False,
        "The whole hazard of migrant customers and second SIMs is multiplied by "
        "spring_festival_multiplier in the Spring-Festival month and the month after.",
    ),
    Mechanism(
        "promotion_burn",
        "offnet",
        "arrears",
        "induced",
        "convenience",
        False,
        "Subscribers acquired on the cheap promo card abandon it at tenure 3–8 months.",
    ),
    Mechanism(
        "promotion_commission_fraud",
        "offnet",
        "fraud",
        "malicious",
        "convenience",
        False,
        "Commission-fraud promo cards (养卡) opened for the raised social-channel commission, "
        "barely used, dropped at tenure 3–4 months.",
    ),
    Mechanism(
        "competitor_push",
        "offnet",
        "competitor",
        "voluntary",
        "price",
        True,
        "A competitor pushes in a county for a few months: extra hazard, moves to that competitor.",
    ),
    Mechanism(
        "network_blackspot",
        "offnet",
        "competitor",
        "voluntary",
        "quality",
        True,
        "Hazard rises with the network badness of the home grid.",
    ),
    Mechanism(
        "unresolved_complaint",
        "offnet",
        "competitor",
        "voluntary",
        "quality",
        True,
        "Extra hazard for 3 months after an unresolved complaint.",
    ),
    Mechanism(
        "contract_expiry",
        "offnet",
        "competitor",
        "voluntary",
        "price",
        True,
        "Hazard spike in the month a service contract ends and the month after.",
    ),
    Mechanism(
        "subsidy_expiry",
        "offnet",
        "competitor",
        "voluntary",
        "technology",
        True,
        "Hazard spike in the month a handset subsidy ends and the month after.",
    ),
    Mechanism(
        "social_contagion",
        "offnet",
        "competitor",
        "voluntary",
        "social",
        True,
        "Hazard rises with the share of own-network contacts who left in the last 3 months.",
    ),
    Mechanism(
        "arrears_nonpayment",
        "offnet",
        "arrears",
        "involuntary",
        "price",
        False,
        "A line falls into arrears and is never paid: suspended and deregistered.",
    ),
    Mechanism(
        "number_reselection",
        "number_reselection",
        "number_reselection",
        "voluntary",
        "convenience",
        False,
        "Same customer (certificate) closes the number and opens a new one within days.",
    ),
    Mechanism(
        "tariff_reselection",
        "tariff_reselection",
        "tariff_reselection",
        "induced",
        "price",
        False,
        "Same handset (IMEI) moves to a new number on a cheaper or promo package.",
    ),
    Mechanism(
        "brand_downgrade",
        "brand_downgrade",
        "unknown",
        "voluntary",
        "price",
        False,
        "A premium-brand line changes to a budget-brand package.",
    ),
    Mechanism(
        "value_decline",
        "value_decline",
        "unknown",
        "voluntary",
        "none",
        False,
        "Usage and revenue fall to 25–55% of the line's own baseline and stay there.",
    ),
    Mechanism(
        "silent_dormant",
        "silent",
        "unknown",
        "voluntary",
        "none",
        False,
        "The number stays open with no billable activity.",
    ),
)

MECH_INDEX: dict[str, int] = {m.name: i for i, m in enumerate(MECHANISMS)}

#: Order of hazard components (columns of the hazard matrix) = off-net mechanisms in this order.
HAZARD_MECHS: tuple[str, ...] = (
    "baseline",
    "spring_festival_migrant",
    "promotion_burn",
    "promotion_commission_fraud",
    "competitor_push",
    "network_blackspot",
    "unresolved_complaint",
    "contract_expiry",
    "subsidy_expiry",
    "social_contagion",
)

#: Reasons of baseline churn: (reason, intent, driver, competitor-bound), in baseline_reason_mix order.
BASELINE_REASONS: tuple[tuple[str, str, str, bool], ...] = (
    ("competitor", "voluntary", "price", True),
    ("relocation", "voluntary", "life_event", False),
    ("unemployment", "involuntary", "life_event", False),
    ("travel", "voluntary", "life_event", False),
    ("lost_sim", "involuntary", "none", False),
    ("fraud", "malicious", "none", False),
    ("unknown", "voluntary", "none", False),
)

#: Reasons of value decline and of brand downgrade and silence: (reason, intent, driver, weight).
DECLINE_REASONS: tuple[tuple[str, str, str, float], ...] = (
    ("competitor", "voluntary", "price", 0.40),
    ("unemployment", "involuntary", "life_event", 0.25),
    ("unknown", "voluntary", "none", 0.35),
)
DOWNGRADE_REASONS: tuple[tuple[str, str, str, float], ...] = (
    ("unknown", "voluntary", "price", 0.70),
    ("unemployment", "involuntary", "life_event", 0.30),
)
SILENT_REASONS: tuple[tuple[str, str, str, float], ...] = (
    ("travel", "voluntary", "life_event", 0.30),
    ("relocation", "voluntary", "life_event", 0.30),
    ("unknown", "voluntary", "none", 0.40),
)
