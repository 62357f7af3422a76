"""The metric catalogue: every business figure's id, names, unit, formula and 口径 (what is counted,
the denominator, the dating, what is excluded), in zh-CN and en.

The expressions behind the counts are in :mod:`churnradar.metrics.compute`; a rate is declared here
as the quotient of two counts (``ratio``), so its numerator and denominator are the catalogue's own
figures and cannot drift from them.
"""

from __future__ import annotations

from dataclasses import dataclass

from churnradar.metrics.population import DEREGISTRATION_LAG_MONTHS

#: T+n of the acquisition-quality cohort rates (T+n 拆机率).
TPLUS = (0, 1, 2, 3, 6, 12)
#: Months after assignment in which a campaign member's off-net exit counts as not retained.
CAMPAIGN_FOLLOWUP_MONTHS = 3
#: Risk levels of the churn model's ``score.risk_level`` (multiples of the base rate), low to high.
RISK_LEVELS = ("low", "medium", "high", "very_high")

UNITS = {
    "lines": ("户", "lines"),
    "ratio": ("比率", "ratio (0–1)"),
    "pp": ("百分点（比率差）", "difference of ratios"),
    "yuan": ("元", "yuan"),
    "yuan_per_line": ("元/户", "yuan per line"),
    "gb": ("GB", "GB"),
    "minutes": ("分钟", "minutes"),
    "gb_per_line": ("GB/户", "GB per line"),
    "min_per_line": ("分钟/户", "minutes per line"),
}


@dataclass(frozen=True)
class Metric:
    """One business figure: what it is called, its unit and how it is defined."""

    id: str
    name_zh: str
    name_en: str
    unit: str
    formula: str
    definition_zh: str
    definition_en: str
    #: for a rate: the ids of its numerator and denominator in this catalogue
    ratio: tuple[str, str] | None = None
    #: True when the figure of a recent month can still grow (it needs later data to be final)
    lagged: bool = False

    def describe(self) -> dict[str, object]:
        return {
            "id": self.id,
            "name_zh": self.name_zh,
            "name_en": self.name_en,
            "unit": self.unit,
            "formula": self.formula,
            "definition_zh": self.definition_zh,
            "definition_en": self.definition_en,
        }


_IN_NET_ZH = "开户日期不晚于该月最后一天、且该月结束前未记录销户或携出的号码"
_IN_NET_EN = "lines activated on or before the month's last day with no deregistration or port-out recorded before the month ended"
_EXIT_ZH = "按BSS记录月份计（销户/携出事件所在月）；只计上月末在网的号码；网内号码重选、资费重选的旧号不计（客户仍在网）"
_EXIT_EN = (
    "dated by the recorded month (the BSS deregistration (销户) or port-out event); only lines in network at the end of the "
    "previous month; the old numbers of in-network number or tariff re-selections are excluded (the customer stayed)"
)
_LEFT_ZH = (
    f"按实际离开月（最后有计费行为的月份，不晚于记录月）计；欠费路径约滞后{DEREGISTRATION_LAG_MONTHS}个月才记录销户，"
    f"故数据最后{DEREGISTRATION_LAG_MONTHS}个月为暂估值；只计上月末在网的号码；网内重选不计"
)
_LEFT_EN = (
    "dated by the month the customer left (last month with billable activity, never later than the "
    f"recorded event); on the arrears path the deregistration (销户) is recorded about {DEREGISTRATION_LAG_MONTHS} months later, "
    f"so the last {DEREGISTRATION_LAG_MONTHS} months of data are provisional; only lines in network at "
    "the end of the previous month; re-selections excluded"
)
_SNAP_ZH = "拍照月为上年12月（数据不含上年12月时取数据首月）；拍照用户 = 拍照月出账收入>0的号码"
_SNAP_EN = (
    "the snapshot (拍照) month is December of the previous year (the first month of data when that "
    "December is not in the data); snapshot lines = lines billed (revenue > 0) in the snapshot month"
)


def _m(*args: object, **kw: object) -> Metric:
    return Metric(*args, **kw)  # type: ignore[arg-type]


_ENTRIES: list[Metric] = [
    _m(
        "lines_start",
        "月初在网数（上月末在网数）",
        "lines in network at the start of the month",
        "lines",
        "count(in network at the end of T−1)",
        f"上月末在网数：{_IN_NET_ZH}（按上月计）。离网率等比率的分母",
        f"lines in network at the end of the previous month: {_IN_NET_EN} (of month T−1). The denominator of the churn rates",
    ),
    _m(
        "lines_end",
        "月末在网数（用户数）",
        "lines in network at the end of the month",
        "lines",
        "count(in network at the end of T)",
        f"{_IN_NET_ZH}；已销户或携出的号码不计",
        f"{_IN_NET_EN}; closed lines are not counted",
    ),
    _m(
        "activations",
        "新增数（开户数）",
        "new lines",
        "lines",
        "count(activation_date in T)",
        "当月开户的号码（含网内重选的新号）",
        "lines activated in the month (the new numbers of re-selections included)",
    ),
    _m(
        "deregistrations",
        "销户数",
        "deregistrations",
        "lines",
        "count(first end event = deregister, recorded in T) − re-selections",
        f"当月记录销户的号码；{_EXIT_ZH}",
        f"lines deregistered in the month; {_EXIT_EN}",
    ),
    _m(
        "port_outs",
        "携出数",
        "port-outs",
        "lines",
        "count(first end event = port_out, recorded in T) − re-selections",
        f"当月记录携号转网（携出）的号码，与销户分开计；{_EXIT_ZH}",
        f"lines ported out to a competitor in the month, counted apart from deregistrations; {_EXIT_EN}",
    ),
    _m(
        "offnet_churn",
        "离网数（销户+携出）",
        "off-net churn (deregistrations + port-outs)",
        "lines",
        "deregistrations + port_outs",
        f"销户数与携出数之和；{_EXIT_ZH}",
        f"deregistrations plus port-outs; {_EXIT_EN}",
    ),
    _m(
        "offnet_rate",
        "离网率（销户率）",
        "off-net churn rate (deregistrations)",
        "ratio",
        "deregistrations / lines_start",
        "销户数 / 上月末在网数（经分口径：分子为销户数，携出另计）；" + _EXIT_ZH,
        "deregistrations / lines in network at the end of the previous month (the BI convention: the "
        "numerator is deregistrations (销户), port-outs are counted apart); " + _EXIT_EN,
        ratio=("deregistrations", "lines_start"),
    ),
    _m(
        "port_out_rate",
        "携出率",
        "port-out rate",
        "ratio",
        "port_outs / lines_start",
        "携出数 / 上月末在网数；" + _EXIT_ZH,
        "port-outs / lines in network at the end of the previous month; " + _EXIT_EN,
        ratio=("port_outs", "lines_start"),
    ),
    _m(
        "offnet_churn_rate",
        "离网率（含携出）",
        "off-net churn rate incl. port-outs",
        "ratio",
        "offnet_churn / lines_start",
        "（销户数+携出数）/ 上月末在网数；" + _EXIT_ZH,
        "(deregistrations + port-outs) / lines in network at the end of the previous month; " + _EXIT_EN,
        ratio=("offnet_churn", "lines_start"),
    ),
    _m(
        "offnet_churn_left",
        "离网数（按离开月）",
        "off-net churn by the month left",
        "lines",
        "count(off-net exit with last-activity month = T) − re-selections",
        "销户与携出，" + _LEFT_ZH,
        "deregistrations and port-outs, " + _LEFT_EN,
        lagged=True,
    ),
    _m(
        "offnet_churn_rate_left",
        "离网率（按离开月）",
        "off-net churn rate by the month left",
        "ratio",
        "offnet_churn_left / lines_start",
        "按离开月计的离网数 / 上月末在网数；" + _LEFT_ZH,
        "off-net churn by the month left / lines in network at the end of the previous month; " + _LEFT_EN,
        ratio=("offnet_churn_left", "lines_start"),
        lagged=True,
    ),
    _m(
        "number_reselections",
        "号码重选数",
        "number re-selections",
        "lines",
        "count(old numbers re-selected, recorded in T)",
        "旧号当月记录销户或携出、同一证件或同一终端在网内新开号码（资费不降）的旧号数；非流失，不计入离网",
        "old numbers ended in the month (recorded) whose certificate or handset opened a new number of ours "
        "(not cheaper): not a loss, not in off-net churn",
    ),
    _m(
        "tariff_reselections",
        "网内资费重选数",
        "tariff re-selections",
        "lines",
        "count(old numbers re-selected onto a cheaper or promotion package, recorded in T)",
        "同上，但新号套餐更便宜或为促销套餐；非流失，不计入离网",
        "as number re-selections, but the new package is cheaper or a promotion: not a loss, not in off-net churn",
    ),
    _m(
        "reselections",
        "重选数（号码+资费）",
        "re-selections (number + tariff)",
        "lines",
        "number_reselections + tariff_reselections",
        "号码重选数与网内资费重选数之和（按记录月；只计上月末在网的旧号）",
        "number plus tariff re-selections (recorded month; old numbers in network at the end of the previous month)",
    ),
    _m(
        "active_lines",
        "活跃用户数",
        "active lines",
        "lines",
        "count(usage row of T with billable activity)",
        "当月有计费行为（活跃天数>0；无活跃天数字段时有任何通话、流量或短信）的号码",
        "lines with billable activity in the month (active_days > 0; where the data has no active days, any minutes, data or SMS)",
    ),
    _m(
        "revenue",
        "出账收入",
        "billed revenue",
        "yuan",
        "sum(billing_monthly.revenue of T)",
        "当月出账收入合计（含退费调账的负数）",
        "billed revenue of the month (refunds and adjustments negative)",
    ),
    _m(
        "billed_lines",
        "出账用户数",
        "billed lines",
        "lines",
        "count(revenue of T > 0)",
        "当月出账收入>0的号码",
        "lines billed in the month (revenue > 0)",
    ),
    _m(
        "arpu",
        "ARPU",
        "ARPU",
        "yuan_per_line",
        "revenue / billed_lines",
        "当月出账收入 / 出账用户数",
        "billed revenue / billed lines of the month",
        ratio=("revenue", "billed_lines"),
    ),
    _m(
        "data_gb",
        "流量合计",
        "data volume",
        "gb",
        "sum(data_mb of T) / 1024",
        "当月移动数据流量合计（GB）",
        "mobile data of the month (GB)",
    ),
    _m(
        "dou",
        "DOU",
        "DOU (data per user)",
        "gb_per_line",
        "data_gb / active_lines",
        "当月流量合计（GB）/ 活跃用户数",
        "data volume of the month (GB) / active lines",
        ratio=("data_gb", "active_lines"),
    ),
    _m(
        "voice_min",
        "通话分钟合计",
        "voice minutes",
        "minutes",
        "sum(voice_out_min + voice_in_min of T)",
        "当月主叫与被叫分钟合计",
        "outgoing plus incoming voice minutes of the month",
    ),
    _m(
        "mou",
        "MOU",
        "MOU (minutes per user)",
        "min_per_line",
        "voice_min / active_lines",
        "当月主被叫分钟合计 / 活跃用户数",
        "voice minutes (out + in) of the month / active lines",
        ratio=("voice_min", "active_lines"),
    ),
    _m(
        "snapshot_lines",
        "拍照用户数",
        "snapshot lines",
        "lines",
        "count(billed in the snapshot month)",
        _SNAP_ZH,
        _SNAP_EN,
    ),
    _m(
        "retained_lines",
        "拍照用户本月出账数",
        "snapshot lines billed this month",
        "lines",
        "count(snapshot lines with revenue of T > 0)",
        "拍照用户中当月出账收入>0的号码；" + _SNAP_ZH,
        "snapshot lines billed (revenue > 0) in the month; " + _SNAP_EN,
    ),
    _m(
        "customer_retention",
        "客保率",
        "customer retention (客保率)",
        "ratio",
        "retained_lines / snapshot_lines",
        "拍照用户本月出账数 / 拍照用户数；" + _SNAP_ZH,
        "snapshot lines billed this month / snapshot lines; " + _SNAP_EN,
        ratio=("retained_lines", "snapshot_lines"),
    ),
    _m(
        "revenue_retention",
        "收保率",
        "stock revenue retention (收保率)",
        "ratio",
        "(revenue of the snapshot lines from the month after the snapshot to T ÷ those months) / their snapshot-month revenue",
        "（拍照用户自拍照次月至本月的收入 ÷ 月数）/ 拍照用户拍照月收入，即（年累收入÷月数×12）/（拍照收入×12）；"
        + _SNAP_ZH
        + "；拍照月当月无值",
        "(revenue of the snapshot lines from the month after the snapshot to T ÷ those months) / their "
        "revenue in the snapshot month; " + _SNAP_EN + "; no value in the snapshot month itself",
    ),
    _m(
        "stock_revenue_churn_rate",
        "存量收入流失率",
        "stock revenue churn rate",
        "ratio",
        "1 − revenue_retention",
        "1 − 收保率；" + _SNAP_ZH,
        "1 − stock revenue retention; " + _SNAP_EN,
    ),
    _m(
        "package_revenue_churn_rate",
        "套餐客户收入流失率",
        "package-customer revenue churn rate",
        "ratio",
        "(revenue in T − revenue in T−1) / revenue in T−1, of the lines billed in T−1",
        "上月出账的号码（不论套餐）本月收入减上月收入，除以上月收入；号码已离网时本月收入计0；负值表示收入流失",
        "(this month's revenue − last month's) / last month's, of the lines billed last month (their "
        "revenue this month whatever package they are on, zero when gone); negative when revenue is lost",
    ),
    _m(
        "scored_lines",
        "已评分用户数",
        "scored lines",
        "lines",
        "count(score rows of T)",
        "流失模型为该月写入评分（score表，as_of = 该月）的号码；该月未评分时无值",
        "lines the churn model scored for the month (score rows with as_of = T); no value when the month was not scored",
    ),
    *[
        _m(
            f"risk_{level}",
            f"{zh}风险用户数",
            f"{level.replace('_', ' ')} risk lines",
            "lines",
            f"count(score of T with risk_level = {level})",
            f"该月评分中风险等级为“{zh}”的号码（等级为基准流失率的倍数，见模型说明）；该月未评分时无值",
            f"scored lines of the month with risk level {level} (levels are multiples of the base churn "
            "rate, see the model documentation); no value when the month was not scored",
        )
        for level, zh in zip(RISK_LEVELS, ("低", "中", "高", "极高"), strict=True)
    ],
    _m(
        "campaign_members",
        "活动分组用户数",
        "campaign members",
        "lines",
        "count(contacts assigned in T)",
        "当月分组（assigned_date 在该月）的活动用户，处理组与对照组合计",
        "campaign members assigned in the month (assigned_date in T), treated and control",
    ),
    _m(
        "campaign_retention_rate",
        "活动保有率（处理组）",
        "campaign retention (treated)",
        "ratio",
        "1 − treated members with an off-net exit left in T..T+3 / treated members",
        f"当月分组的处理组用户中，分组当月至其后{CAMPAIGN_FOLLOWUP_MONTHS}个月内未离网（按离开月，销户或携出，网内重选视为保有）的比例（意向处理，不论是否接触成功）",
        f"share of the treated members assigned in the month with no off-net exit (dated by the month "
        f"left; re-selection counts as retained) from the assignment month to {CAMPAIGN_FOLLOWUP_MONTHS} "
        "months after (intention to treat: contacted or not)",
        lagged=True,
    ),
    _m(
        "campaign_control_retention_rate",
        "活动保有率（对照组）",
        "campaign retention (control)",
        "ratio",
        "1 − control members with an off-net exit left in T..T+3 / control members",
        "同上，对照组用户",
        "as campaign retention, for the randomised control members",
        lagged=True,
    ),
    _m(
        "campaign_uplift",
        "活动提升（对照差）",
        "campaign uplift vs control",
        "pp",
        "campaign_retention_rate − campaign_control_retention_rate",
        "处理组保有率减对照组保有率；两组均有用户时才有值",
        "treated retention minus control retention; a value only when both arms have members",
        lagged=True,
    ),
]

for _n in TPLUS:
    _ENTRIES += [
        _m(
            f"cohort_t{_n}",
            f"T+{_n}入网用户数",
            f"T+{_n} acquisition cohort",
            "lines",
            f"count(activation month = T−{_n})",
            f"{_n}个月前（T−{_n}月）开户的号码",
            f"lines activated {_n} months before the month (in month T−{_n})",
        ),
        _m(
            f"cancelled_t{_n}",
            f"T+{_n}拆机数",
            f"T+{_n} cancelled lines",
            "lines",
            f"count(activation month = T−{_n} and deregistered or ported out by the end of T)",
            f"T−{_n}月开户、至本月末已销户或携出的号码（入网质量口径：渠道卖出的号码已拆，网内重选的旧号也计）",
            f"lines activated in T−{_n} deregistered or ported out by the end of T (acquisition quality: "
            "the line the channel sold was cancelled, re-selected old numbers included)",
        ),
        _m(
            f"cancel_rate_t{_n}",
            f"T+{_n}拆机率",
            f"T+{_n} cancellation rate",
            "ratio",
            f"cancelled_t{_n} / cohort_t{_n}",
            f"T+{_n}拆机数 / T+{_n}入网用户数（入网质量）",
            f"T+{_n} cancelled lines / the T+{_n} acquisition cohort (acquisition quality)",
            ratio=(f"cancelled_t{_n}", f"cohort_t{_n}"),
        ),
    ]

#: Every metric by id, in catalogue order.
CATALOGUE: dict[str, Metric] = {m.id: m for m in _ENTRIES}


def catalogue() -> list[dict[str, object]]:
    """The catalogue as plain rows (what ``churnradar metrics --list`` prints)."""
    return [m.describe() for m in CATALOGUE.values()]
