"""Every parameter of the operator simulator, with its default and where the default comes from.

Each field's metadata carries ``doc`` (what it controls) and ``source``: ``[sourced]`` for a figure
taken from published figures (the public source is named), ``[derived]`` for arithmetic on
sourced figures, ``[assumption]`` for our choice within sourced bounds. Rates are monthly
probabilities per subscriber unless the doc says otherwise. ``docs/simulator.md`` lists them all
(:func:`parameter_table` renders the list).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from churnradar.errors import ConfigError


def _p(default, doc: str, source: str):
    """A dataclass field with its documentation and source tag."""
    if isinstance(default, (tuple, dict)):
        return field(default_factory=lambda: default, metadata={"doc": doc, "source": source})
    return field(default=default, metadata={"doc": doc, "source": source})


@dataclass(frozen=True)
class SimConfig:
    """Parameters of the simulated operator (all documented; see ``docs/simulator.md``)."""

    # ---- population and market -------------------------------------------------------------------
    prepaid_share: float = _p(
        0.60,
        "Share of prepaid subscriptions in the initial base.",
        "[assumption] prepaid-dominated Chinese mass market",
    )
    new_prepaid_share: float = _p(0.70, "Share of prepaid among new acquisitions.", "[assumption]")
    migrant_share_industrial: float = _p(
        0.55,
        "Share of migrant customers in migrant-heavy industrial counties.",
        "[assumption] Guangdong: 57.2 M people away from usual city at New Year's Eve 2020 (CNR)",
    )
    migrant_share_other: float = _p(0.05, "Share of migrant customers elsewhere.", "[assumption]")
    key_account_share: float = _p(0.02, "Share of key-account (大客户) customers.", "[assumption]")
    business_share: float = _p(0.08, "Share of business (商业客户) customers.", "[assumption]")
    multi_line_share: float = _p(
        0.08, "Share of subscriptions that are a further line of an existing customer.", "[assumption]"
    )
    family_share: float = _p(
        0.30, "Share of subscriptions in a family V-net (家庭V网) group of 2–4.", "[assumption]"
    )
    dual_sim_share: float = _p(
        0.08,
        "Share of subscriptions that are the second SIM beside a competitor's SIM in one handset.",
        "[assumption] MIIT cited dropped second SIMs in the February 2020 loss",
    )
    dual_sim_share_migrant: float = _p(
        0.25, "Share of dual-SIM (with a competitor) among migrant customers.", "[assumption]"
    )
    fiveg_share: float = _p(
        0.65,
        "Share of subscriptions on a 5G package.",
        "[assumption] below Telecom 73–80% / Unicom 79–83% 5G package penetration (2023–24)",
    )
    competitor_market_share: tuple[float, float, float] = _p(
        (0.22, 0.14, 0.04),
        "Share of the market's mobile numbers held by each of the 3 competitors.",
        "[assumption] three challengers beside a dominant own operator",
    )
    contacts_per_subscriber: int = _p(
        6,
        "Call-circle slots per subscriber (call_edge has at most this many rows per month).",
        "[assumption] a handful of top contacts",
    )
    community_size: int = _p(40, "Mean size of a calling community inside a grid.", "[assumption]")
    contact_mix: tuple[float, float, float] = _p(
        (0.60, 0.12, 0.28),
        "Contact slots drawn from own community / own county / competitor numbers of the community.",
        "[assumption]",
    )

    # ---- usage and billing -----------------------------------------------------------------------
    arpu_mean: float = _p(
        48.5,
        "Mean monthly ARPU of the initial base (yuan).",
        "[sourced] China Mobile mobile ARPU 2024: 48.5 RMB",
    )
    arpu_sigma: float = _p(0.55, "Log-sd of the lognormal subscriber ARPU.", "[assumption]")
    arpu_5g_ratio: float = _p(
        1.7,
        "ARPU of 5G-package subscribers relative to non-5G.",
        "[derived] China Mobile H1 2021: 5G-network-user ARPU 88.9 vs 52.2 RMB (≈1.7×)",
    )
    dou_gb_mean: float = _p(
        16.0, "Mean monthly data use (GB).", "[sourced] China Mobile DOU 15.9 GB (2023, 2024)"
    )
    dou_sigma: float = _p(0.9, "Log-sd of the lognormal subscriber data use.", "[assumption]")
    february_data_factor: float = _p(
        0.82,
        "Data-use multiplier in February.",
        "[derived] MIIT: industry DOU in February ≈15–21% below the preceding December",
    )
    mou_mean: float = _p(
        222.0, "Mean monthly voice minutes (in + out).", "[sourced] China Mobile MOU 2024: 222 min"
    )
    mou_sigma: float = _p(0.8, "Log-sd of the lognormal subscriber voice minutes.", "[assumption]")
    mou_trend_per_year: float = _p(
        -0.08,
        "Yearly relative trend of voice minutes.",
        "[sourced] China Mobile MOU 256 → 242 → 222 (2022–24), ≈ −8%/yr",
    )
    sms_mean: float = _p(12.0, "Mean SMS sent per month.", "[assumption]")
    sms_trend_per_year: float = _p(
        0.036, "Yearly relative trend of SMS.", "[sourced] MIIT: SMS volume +3.6% (2024)"
    )
    month_noise_sigma: float = _p(
        0.25, "Log-sd of month-to-month noise on each usage and revenue figure.", "[assumption]"
    )
    dip_prob: float = _p(
        0.04,
        "Chance that a loyal subscriber has a temporary usage dip (travel, illness) in a month.",
        "[assumption] false warnings so that early-warning signals are not too clean",
    )

    # ---- off-net churn hazard --------------------------------------------------------------------
    base_hazard_prepaid: float = _p(
        0.0135,
        "Baseline monthly off-net hazard of a prepaid subscription before multipliers.",
        "[assumption] tuned so blended off-net churn ≈1.5–2.5%/month (Strategy Analytics: <3%)",
    )
    prepaid_postpaid_ratio: float = _p(
        3.0,
        "Prepaid baseline hazard divided by postpaid (push factors use its square root).",
        "[sourced] prepaid ≈2–3× postpaid churn (US carriers; Strategy Analytics)",
    )
    early_tenure_multiplier: float = _p(
        2.5,
        "Hazard multiplier in the first 3 months of tenure.",
        "[sourced] very heavy prepaid churn in the first 90 days (Juvo / Strategy Analytics 2019)",
    )
    long_tenure_multiplier: float = _p(0.7, "Hazard multiplier after 36 months of tenure.", "[assumption]")
    group_multipliers: tuple[float, float, float, float] = _p(
        (0.4, 0.7, 1.0, 1.3), "Hazard multiplier for key account / business / mass / migrant.", "[assumption]"
    )
    family_multiplier: float = _p(0.6, "Hazard multiplier inside a family V-net group.", "[assumption]")
    dual_sim_multiplier: float = _p(
        1.6, "Hazard multiplier for our SIM as second SIM beside a competitor's.", "[assumption]"
    )
    frailty_shape: float = _p(
        2.0,
        "Gamma shape of unobserved per-subscriber frailty (mean 1); churn without observed cause.",
        "[assumption]",
    )
    baseline_reason_mix: tuple[float, ...] = _p(
        (0.30, 0.17, 0.06, 0.05, 0.06, 0.03, 0.33),
        "Reasons of baseline churn: competitor, relocation, unemployment, travel, lost SIM, fraud, unknown.",
        "[assumption]",
    )
    spring_festival_multiplier: float = _p(
        1.45,
        "Hazard multiplier on migrant customers and second SIMs in the Spring-Festival month and "
        "the month after.",
        "[sourced] ×1.3–1.5 on deregistration of migrant and second SIMs (CALIBRATION; Feb 2020 loss)",
    )
    promo_fee: float = _p(
        5.0,
        "Monthly fee of the acquisition-promotion prepaid card (yuan).",
        "[sourced] operator practice: a ¥5/month prepaid promotion package",
    )
    promo_launch_offset: int = _p(2, "Months after the start when the ¥5 card launches.", "[assumption]")
    promo_acquisition_share: float = _p(
        0.25, "Share of new acquisitions on the promo card while it runs.", "[assumption]"
    )
    promo_acquisition_boost: float = _p(
        0.20, "Relative rise of acquisitions while the promo card runs.", "[assumption]"
    )
    commission_before: float = _p(
        30.0, "Social-channel commission per new line before the launch.", "[assumption]"
    )
    commission_after: float = _p(80.0, "Raised social-channel commission for the promo card.", "[assumption]")
    promo_burn_hazard: float = _p(
        0.12,
        "Monthly hazard of promo-card subscribers at tenure 3–8 months ('burn the card').",
        "[assumption] DOMAIN: promo churners leave at tenure 3–9 months",
    )
    promo_fraud_share: float = _p(
        0.08, "Share of promo-card lines that are commission-fraud cards (养卡) barely used.", "[assumption]"
    )
    competitor_pushes: tuple[tuple[int, int, int, int], ...] = _p(
        ((3, 1, 4, 6), (0, 2, 8, 10)),
        "Competitor pushes: (county index, competitor index, first month offset, last month offset).",
        "[assumption] DOMAIN: a competitor's push in some regions",
    )
    push_excess_hazard: float = _p(0.012, "Extra hazard in a pushed county during the push.", "[assumption]")
    push_share_boost: float = _p(
        0.15,
        "Rise of the competitor minute share in a pushed county (ramps up 2 months before).",
        "[assumption]",
    )
    competitor_launches: tuple[tuple[int, int, int, int], ...] = _p(
        (),
        "Drift injected at a chosen month (none by default): a competitor's launch offer in a county, "
        "(county index, competitor index, first month offset, last month offset). Unlike a push it "
        "starts at once, with no ramp-up.",
        "[assumption] a scenario for testing monitoring, not part of the default market",
    )
    launch_excess_hazard: float = _p(
        0.03, "Extra hazard in a launch county while the launch runs.", "[assumption]"
    )
    launch_share_boost: float = _p(
        0.30, "Rise of the competitor minute share in a launch county from the launch month.", "[assumption]"
    )
    launch_usage_cut: float = _p(
        0.30,
        "Share of own-network voice and data that moves to the competitor's SIM in a launch county "
        "(customers trying the offer in a dual-SIM handset).",
        "[assumption]",
    )
    launch_port_out_prob: float = _p(
        0.50,
        "Chance that a leaver going to the launching competitor ports the number out (the offer pays "
        "for the port-in).",
        "[assumption]",
    )
    blackspot_excess_hazard: float = _p(
        0.012, "Extra hazard per unit of network badness (0–1) of the home grid.", "[assumption]"
    )
    blackspot_fix_offset: int = _p(7, "Month offset when one black-spot grid is repaired.", "[assumption]")
    complaint_rate: float = _p(0.004, "Base monthly complaint probability.", "[assumption]")
    complaint_blackspot_rate: float = _p(
        0.04, "Extra network-complaint probability per unit of network badness.", "[assumption]"
    )
    complaint_resolved_prob: float = _p(0.65, "Share of complaints resolved.", "[assumption]")
    complaint_excess_hazard: float = _p(
        0.04, "Extra hazard in the 3 months after an unresolved complaint.", "[assumption]"
    )
    inquiry_rate: float = _p(0.02, "Monthly inquiry probability.", "[assumption]")
    contract_share_postpaid: float = _p(
        0.5, "Share of postpaid lines with a service contract.", "[assumption]"
    )
    subsidy_share: float = _p(0.15, "Share of postpaid lines with a handset subsidy.", "[assumption]")
    contract_excess_hazard: float = _p(
        0.03, "Extra hazard in the month a contract or subsidy ends and the month after.", "[assumption]"
    )
    social_excess_per_share: float = _p(
        0.05,
        "Extra hazard per unit share of own-network contacts that left in the last 3 months.",
        "[assumption]",
    )
    arrears_onset_prepaid: float = _p(
        0.006, "Monthly chance a prepaid line falls into arrears.", "[assumption]"
    )
    arrears_onset_postpaid: float = _p(
        0.002, "Monthly chance a postpaid line falls into arrears.", "[assumption]"
    )
    arrears_pay_prob: float = _p(
        0.55,
        "Share of lines in arrears that pay and are reactivated (复机); the rest are deregistered.",
        "[assumption]",
    )
    dereg_lag_months: int = _p(
        3,
        "Months from leaving (one-way suspension) to deregistration.",
        "[sourced] deregistration about 90 days after suspension (press; low confidence)",
    )
    port_out_prob_competitor: float = _p(
        0.10,
        "Chance that a churner leaving for a competitor ports the number out.",
        "[derived] port-out ≈5% of off-net churn; ≈0.08–0.12% of base per month (SCIO/MIIT)",
    )
    port_out_prob_other: float = _p(0.01, "Port-out chance for other reasons.", "[derived]")
    user_request_prob_postpaid: float = _p(
        0.35, "Chance a postpaid leaver closes the number at a store rather than via arrears.", "[assumption]"
    )
    user_request_prob_prepaid: float = _p(0.08, "Same for prepaid.", "[assumption]")
    warning_lag_probs: tuple[float, float, float, float] = _p(
        (0.25, 0.30, 0.30, 0.15),
        "Chance that the decision to leave precedes leaving by 0, 1, 2 or 3 months (warning period).",
        "[assumption]",
    )
    no_signal_share: float = _p(
        0.20,
        "Share of churners with a warning period whose usage shows no decline.",
        "[assumption] CALIBRATION: AUC above ≈0.95 would be too clean",
    )
    signal_decay: tuple[float, float] = _p(
        (0.40, 0.90), "Range of the monthly usage decay factor in the warning period.", "[assumption]"
    )

    # ---- other churn kinds -----------------------------------------------------------------------
    number_reselection_rate: float = _p(0.0008, "Monthly chance of number re-selection.", "[assumption]")
    tariff_reselection_rate: float = _p(0.0006, "Monthly chance of tariff re-selection.", "[assumption]")
    tariff_reselection_promo_rate: float = _p(
        0.0025,
        "Extra tariff re-selection chance of prepaid lines while the ¥5 card runs.",
        "[assumption] DOMAIN: in-network tariff re-selection",
    )
    reselection_max_days: int = _p(
        7, "The new number opens 0 to this many days after the old one closes.", "[assumption]"
    )
    brand_downgrade_rate: float = _p(
        0.005, "Monthly chance a premium-brand line moves to a budget package.", "[assumption]"
    )
    upgrade_rate: float = _p(
        0.002, "Monthly chance a non-premium line upgrades (noise, no churn).", "[assumption]"
    )
    value_decline_rate: float = _p(0.0025, "Monthly chance of onset of value decline.", "[assumption]")
    value_decline_factor: tuple[float, float] = _p(
        (0.25, 0.55),
        "Range of the usage level value decliners settle at (share of baseline).",
        "[assumption]",
    )
    silent_rate: float = _p(
        0.0015, "Monthly chance a line turns silent (open number, no activity).", "[assumption]"
    )

    # ---- acquisition ------------------------------------------------------------------------------
    acquisition_rate: float = _p(
        0.018,
        "New lines per month as a share of the initial base (×(1 + promo_acquisition_boost) while the "
        "¥5 card runs).",
        "[derived] churn ≈2%/month plus base growth ≈1.3%/yr (China Mobile 2024)",
    )

    # ---- retention, survey -----------------------------------------------------------------------
    campaign_offsets: tuple[int, ...] = _p(
        (3, 6, 9),
        "Month offsets of the randomised retention campaigns (offsets past the last month are skipped); "
        "members of a campaign whose follow-up window is still running are not selected again.",
        "[assumption] a campaign a quarter, so uplift models have logged campaigns to learn from",
    )
    campaign_share: float = _p(0.05, "Share of the active base targeted by each campaign.", "[assumption]")
    campaign_control_share: float = _p(0.20, "Randomised control share of the campaign.", "[assumption]")
    campaign_reach: float = _p(0.75, "Chance a treated subscriber (with consent) is reached.", "[assumption]")
    campaign_accept: float = _p(
        0.25, "Chance a reached subscriber accepts the offer.", "[assumption] acceptance 10–30% (CALIBRATION)"
    )
    offer_effects: tuple[float, float, float] = _p(
        (0.15, 0.10, 0.05),
        "Mean relative hazard reduction over the active base by offer (tariff discount, data bonus, "
        "family V-net) for reached subscribers, for the follow-up window; ≈0.10 on average.",
        "[sourced] ≈ −11% relative churn, randomised (de Matos, Ferreira & Belo)",
    )
    offer_effect_modifiers: tuple[tuple[float, float, float, float], ...] = _p(
        ((0.25, 0.0, 0.0, -0.35), (0.0, 0.35, 0.0, -0.10), (0.0, 0.0, -0.25, 0.05)),
        "Per offer, added to its effect per unit of (prepaid, heavy data user, in a family V-net, "
        "high ARPU), each centred on its share among active lines: discounts work on prepaid low "
        "spenders and backfire on high-ARPU postpaid, data bonuses on heavy data users, V-net only "
        "outside a family group. The true effect is this observable segment table plus a small "
        "per-line deviation (`offer_effect_noise`).",
        "[assumption] heterogeneous and sometimes negative effects; offers can backfire "
        "(Ascarza, Iyengar & Schleicher 2016: 10.0% vs 6.4% churn)",
    )
    offer_effect_noise: float = _p(
        0.02, "Standard deviation of each line's own deviation from its segment's effect.", "[assumption]"
    )
    heavy_data_gb: float = _p(
        16.0, "Monthly data use above which a line counts as a heavy data user (GB).", "[assumption]"
    )
    high_arpu_yuan: float = _p(
        80.0, "Baseline ARPU above which a line counts as high ARPU (yuan).", "[assumption]"
    )
    campaign_followup_months: int = _p(3, "Follow-up window of campaign outcomes.", "[assumption]")
    survey_offset: int = _p(5, "Month offset of the customer survey.", "[assumption]")
    survey_share: float = _p(0.02, "Share of active subscribers answering the survey.", "[assumption]")

    # ---- machinery ------------------------------------------------------------------------------
    burn_in_months: int = _p(
        6,
        "Months simulated before the start and not written, so that warning periods and the "
        "arrears pipeline are in steady state in the first written month.",
        "[assumption]",
    )

    def validate(self) -> SimConfig:
        """Raise :class:`ConfigError` naming the first parameter out of its allowed range."""
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, float) and v < 0 and not f.name.endswith("_trend_per_year"):
                raise ConfigError(f"SimConfig.{f.name} = {v!r} is negative; expected a value ≥ 0")
        probs = [
            "prepaid_share",
            "new_prepaid_share",
            "migrant_share_industrial",
            "migrant_share_other",
            "multi_line_share",
            "family_share",
            "dual_sim_share",
            "dual_sim_share_migrant",
            "fiveg_share",
            "month_noise_sigma",
            "dip_prob",
            "base_hazard_prepaid",
            "promo_acquisition_share",
            "promo_burn_hazard",
            "promo_fraud_share",
            "complaint_rate",
            "complaint_resolved_prob",
            "inquiry_rate",
            "contract_share_postpaid",
            "subsidy_share",
            "arrears_onset_prepaid",
            "arrears_onset_postpaid",
            "arrears_pay_prob",
            "port_out_prob_competitor",
            "port_out_prob_other",
            "launch_excess_hazard",
            "launch_share_boost",
            "launch_usage_cut",
            "launch_port_out_prob",
            "user_request_prob_postpaid",
            "user_request_prob_prepaid",
            "no_signal_share",
            "number_reselection_rate",
            "tariff_reselection_rate",
            "tariff_reselection_promo_rate",
            "brand_downgrade_rate",
            "upgrade_rate",
            "value_decline_rate",
            "silent_rate",
            "acquisition_rate",
            "campaign_share",
            "campaign_control_share",
            "campaign_reach",
            "campaign_accept",
            "survey_share",
        ]
        for name in probs:
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0:
                raise ConfigError(f"SimConfig.{name} = {v!r} is not a probability; expected 0 ≤ x ≤ 1")
        if self.key_account_share + self.business_share > 1:
            raise ConfigError("SimConfig.key_account_share + business_share exceed 1; expected ≤ 1")
        for name, n in (
            ("competitor_market_share", 3),
            ("contact_mix", 3),
            ("baseline_reason_mix", 7),
            ("warning_lag_probs", 4),
            ("group_multipliers", 4),
            ("offer_effects", 3),
        ):
            v = getattr(self, name)
            if len(v) != n or any(x < 0 for x in v):
                raise ConfigError(f"SimConfig.{name} = {v!r}; expected {n} non-negative numbers")
        if len(self.offer_effect_modifiers) != 3 or any(len(m) != 4 for m in self.offer_effect_modifiers):
            raise ConfigError(
                f"SimConfig.offer_effect_modifiers = {self.offer_effect_modifiers!r}; expected 3 offers × 4 numbers"
            )
        if any(o < 0 for o in self.campaign_offsets) or list(self.campaign_offsets) != sorted(
            set(self.campaign_offsets)
        ):
            raise ConfigError(
                f"SimConfig.campaign_offsets = {self.campaign_offsets!r}; expected increasing offsets ≥ 0"
            )
        for name in ("contact_mix", "baseline_reason_mix", "warning_lag_probs"):
            if abs(sum(getattr(self, name)) - 1.0) > 1e-6:
                raise ConfigError(f"SimConfig.{name} = {getattr(self, name)!r} does not sum to 1")
        if sum(self.competitor_market_share) >= 1:
            raise ConfigError("SimConfig.competitor_market_share sums to 1 or more; expected < 1")
        if not 1 <= self.contacts_per_subscriber <= 20:
            raise ConfigError(
                f"SimConfig.contacts_per_subscriber = {self.contacts_per_subscriber}; expected 1 to 20"
            )
        if self.community_size < 5:
            raise ConfigError(f"SimConfig.community_size = {self.community_size}; expected ≥ 5")
        if not 1 <= self.dereg_lag_months <= 6:
            raise ConfigError(f"SimConfig.dereg_lag_months = {self.dereg_lag_months}; expected 1 to 6")
        if not 0 <= self.burn_in_months <= 24:
            raise ConfigError(f"SimConfig.burn_in_months = {self.burn_in_months}; expected 0 to 24")
        lo, hi = self.signal_decay
        if not 0 < lo <= hi <= 1:
            raise ConfigError(f"SimConfig.signal_decay = {self.signal_decay!r}; expected 0 < low ≤ high ≤ 1")
        lo, hi = self.value_decline_factor
        if not 0 <= lo <= hi <= 1:
            raise ConfigError(
                f"SimConfig.value_decline_factor = {self.value_decline_factor!r}; expected 0 ≤ low ≤ high ≤ 1"
            )
        for name in ("mou_trend_per_year", "sms_trend_per_year"):
            if not -0.9 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"SimConfig.{name} = {getattr(self, name)!r}; expected −0.9 to 1.0")
        if self.prepaid_postpaid_ratio < 1:
            raise ConfigError(
                f"SimConfig.prepaid_postpaid_ratio = {self.prepaid_postpaid_ratio}; expected ≥ 1"
            )
        for name in ("competitor_pushes", "competitor_launches"):
            for push in getattr(self, name):
                if len(push) != 4 or not 0 <= push[0] < 7 or not 0 <= push[1] < 3 or push[2] > push[3]:
                    raise ConfigError(
                        f"SimConfig.{name} entry {push!r}; expected (county 0–6, competitor 0–2, "
                        "first offset, last offset ≥ first)"
                    )
        return self


def parameter_table() -> str:
    """Markdown table of every parameter, its default, meaning and source."""
    lines = ["| parameter | default | meaning | source |", "|---|---|---|---|"]
    defaults = SimConfig()
    for f in fields(SimConfig):
        value = getattr(defaults, f.name)
        lines.append(f"| `{f.name}` | `{value!r}` | {f.metadata['doc']} | {f.metadata['source']} |")
    return "\n".join(lines) + "\n"
