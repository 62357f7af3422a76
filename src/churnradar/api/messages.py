"""Dashboard texts in zh-CN and en; data-model codes come from :mod:`churnradar.schema.enums`.

``tr(key, lang)`` looks a key up here first and then in the shared catalogue
(:mod:`churnradar.i18n`), so report headings and reason names read the same everywhere.
"""

from __future__ import annotations

import re
from typing import Any

from churnradar.schema import enums as E

# key: (zh, en)
UI: dict[str, tuple[str, str]] = {
    "app.title": ("离网雷达", "churnradar"),
    "nav.overview": ("总览", "Overview"),
    "nav.regions": ("区域下钻", "Regions"),
    "nav.reasons": ("离网原因", "Reasons"),
    "nav.packages": ("套餐", "Packages"),
    "nav.risk": ("高危清单", "Risk list"),
    "nav.campaigns": ("维系活动", "Campaigns"),
    "nav.forecast": ("预测", "Forecast"),
    "nav.reports": ("报表", "Reports"),
    "nav.model": ("模型", "Model"),
    "nav.logout": ("退出", "Log out"),
    "nav.lang": ("English", "中文"),
    "login.title": ("登录", "Log in"),
    "login.username": ("用户名", "Username"),
    "login.password": ("密码", "Password"),
    "login.submit": ("登录", "Log in"),
    "login.failed": ("用户名或密码错误", "Wrong username or password"),
    "login.limited": ("登录失败次数过多，请稍后再试", "Too many failed logins; try again later"),
    "kpi.subscribers": ("用户数", "Subscribers"),
    "kpi.active": ("上月活跃", "Active last month"),
    "kpi.churned": ("上月销户", "Deregistered last month"),
    "kpi.ported_out": ("上月携出", "Ported out last month"),
    "kpi.churn_rate": ("上月离网率", "Churn rate last month"),
    "kpi.revenue": ("上月收入（元）", "Revenue last month (yuan)"),
    "kpi.high_risk": ("高危用户", "High-risk subscribers"),
    "kpi.mean_risk": ("平均风险", "Mean risk"),
    "kpi.definition": ("口径", "Definition"),
    "kpi.high_risk.definition": (
        "最新一批评分中风险等级为“高”或“极高”的号码数（仅您的区域）；无风险等级时为最长期限离网概率 ≥ 50% 的号码",
        "lines whose risk level is high or very high in the newest score batch (your regions only); "
        "where the batch has no risk level, lines with a churn probability of 50% or more at the longest horizon",
    ),
    "kpi.mean_risk.definition": (
        "最新一批评分中已评分号码在最长期限的离网概率平均值（仅您的区域）",
        "mean churn probability at the longest horizon over the lines of the newest score batch (your regions only)",
    ),
    "role.admin": ("管理员", "administrator"),
    "role.analyst": ("分析员", "analyst"),
    "role.regional_manager": ("区域经理", "regional manager"),
    "role.agent": ("维系专员", "retention agent"),
    "arm.control": ("对照组", "control"),
    "col.p_horizon": ("离网概率（{n}个月内）", "Churn probability (within {n} months)"),
    "chart.trend": ("月度离网趋势", "Monthly churn trend"),
    "chart.deregistered": ("销户", "Deregistered"),
    "chart.ported_out": ("携号转网", "Ported out"),
    "chart.churn_rate": ("离网率", "Churn rate"),
    "model.none": (
        "尚未训练模型：清单显示用户但没有离网概率。运行 churnradar train 与 churnradar score。",
        "No model trained yet: the list shows subscribers without churn probabilities. "
        "Run churnradar train and churnradar score.",
    ),
    "model.as_of": ("评分月份", "Scored as of"),
    "col.subscriber": ("用户", "Subscriber"),
    "col.county": ("区县", "County"),
    "col.grid": ("网格", "Grid"),
    "col.package": ("套餐", "Package"),
    "col.p": ("离网概率", "Churn probability"),
    "col.health": ("健康度", "Health"),
    "col.reasons": ("主要原因", "Top reasons"),
    "col.value": ("价值", "Value"),
    "col.segment": ("细分", "Segment"),
    "col.action": ("建议动作", "Recommended action"),
    "col.subscribers": ("用户数", "Subscribers"),
    "col.churned": ("离网数", "Churned"),
    "col.churn_rate": ("离网率", "Churn rate"),
    "col.churned_12m": ("近12月离网", "Churned (12 months)"),
    "col.churn_rate_12m": ("近12月离网率", "Churn rate (12 months)"),
    "col.mean_risk": ("平均风险", "Mean risk"),
    "col.high_risk": ("高危数", "High risk"),
    "col.arpu": ("ARPU（元）", "ARPU (yuan)"),
    "col.reason": ("原因", "Reason"),
    "col.kind": ("类型", "Kind"),
    "col.n": ("人数", "Count"),
    "col.month": ("月份", "Month"),
    "col.mou": ("通话分钟", "Minutes"),
    "col.data_mb": ("流量（MB）", "Data (MB)"),
    "col.revenue": ("收入（元）", "Revenue (yuan)"),
    "col.arrears": ("欠费（元）", "Arrears (yuan)"),
    "col.balance": ("余额（元）", "Balance (yuan)"),
    "col.campaign": ("活动", "Campaign"),
    "col.status": ("状态", "Status"),
    "col.start": ("开始", "Start"),
    "col.end": ("结束", "End"),
    "col.contacts": ("接触名单", "Contacts"),
    "col.control": ("对照组", "Control"),
    "col.arm": ("分组", "Arm"),
    "col.contacted": ("已接触", "Contacted"),
    "col.accepted": ("接受", "Accepted"),
    "col.retention_rate": ("保有率", "Retention rate"),
    "col.uplift": ("相对对照提升", "Uplift vs control"),
    "col.offer": ("方案", "Offer"),
    "col.outcome": ("结果", "Outcome"),
    "col.source": ("来源", "Source"),
    "col.event": ("事件", "Event"),
    "col.time": ("时间", "Time"),
    "filter.region": ("区域", "Region"),
    "filter.segment": ("细分", "Segment"),
    "filter.package": ("套餐", "Package"),
    "filter.risk": ("风险等级", "Risk level"),
    "filter.value": ("价值层级", "Value tier"),
    "filter.all": ("全部", "All"),
    "filter.apply": ("筛选", "Filter"),
    "risk.very_high": ("极高", "very high"),
    "risk.high": ("高", "high"),
    "risk.medium": ("中", "medium"),
    "risk.low": ("低", "low"),
    "col.risk_level": ("风险等级", "Risk level"),
    "risk.export": ("导出CSV", "Export CSV"),
    "page.prev": ("上一页", "Previous"),
    "page.next": ("下一页", "Next"),
    "page.total": ("共 {n} 条", "{n} rows"),
    "page.of": ("第 {page} / {pages} 页", "Page {page} of {pages}"),
    "page.go": ("跳转", "Go"),
    "page.number": ("页码", "Page number"),
    "sub.profile": ("基本信息", "Profile"),
    "sub.score": ("评分", "Score"),
    "sub.history": ("近期使用与账单", "Usage and billing history"),
    "sub.events": ("状态事件", "Lifecycle events"),
    "sub.contacts": ("维系接触", "Retention contacts"),
    "sub.no_score": ("暂无评分", "Not scored"),
    "sub.label": ("标签", "Label"),
    "camp.evaluation": ("效果评估（对比对照组）", "Evaluation against control"),
    "camp.offers": ("方案", "Offers"),
    "camp.record": ("记录结果", "Record outcome"),
    "camp.accept": ("接受", "Accepted"),
    "camp.decline": ("拒绝", "Declined"),
    "camp.recorded": ("已记录", "Recorded"),
    "camp.history": ("历史活动（只读）", "Ingested history (read-only)"),
    "camp.operational": ("执行中的活动", "Operational"),
    "camp.none": ("您的区域内暂无活动", "No campaigns in your regions"),
    "forecast.none": ("暂无预测。", "No forecast available."),
    "reports.none": ("暂无可下载的报表。", "No reports available."),
    "reports.download": ("下载", "Download"),
    "model.registry": ("模型注册表", "Model registry"),
    "model.metrics": ("回测指标", "Backtest metrics"),
    "error.title": ("出错了", "Something went wrong"),
    "error.401": ("请先登录", "Please log in"),
    "error.403": ("您的角色无权查看此页", "Your role may not see this page"),
    "error.404": ("页面不存在，或不在您的区域内", "Not found, or not in your regions"),
    "error.409": ("与已记录的内容冲突", "Conflicts with what is already recorded"),
    "error.422": ("请求中有无效的值", "The request has a value that is not valid"),
    "error.429": ("请求过于频繁，请稍后再试", "Too many requests; try again later"),
    "error.500": ("服务器出错，请稍后再试", "Server error; try again later"),
    "error.not_in_scope": ("您的区域内没有{what} {id}", "No {what} {id} in your regions"),
    "error.no_permission": ("{role}角色无权使用“{permission}”", "The {role} role may not use {permission}"),
    "what.subscriber": ("用户", "subscriber"),
    "what.campaign": ("活动", "campaign"),
    "what.county": ("区县", "county"),
    "what.region": ("区域", "region"),
    "what.report": ("报表", "report"),
    "what.contact": ("接触记录", "contact"),
    "perm.read": ("查看", "read"),
    "perm.reports": ("报表", "reports"),
    "perm.model": ("模型", "model"),
    "perm.export": ("导出", "export"),
    "perm.campaigns": ("维系活动", "campaigns"),
    "perm.outcomes": ("记录结果", "outcomes"),
    "perm.score": ("评分", "score"),
    "perm.audit": ("审计日志", "audit"),
    "perm.users": ("用户管理", "users"),
    "forecast.all": ("全部区域", "all regions"),
    "forecast.short_history": (
        "离网历史只有 {n} 个完整月份；回测至少需要 {need} 个月（{season} 个月的季节周期 + {windows} 个 {h} 个月的窗口）。",
        "The churn history has {n} complete months; the backtest needs at least {need} "
        "({season}-month season + {windows} windows of {h}).",
    ),
    "forecast.no_churn": (
        "没有可预测的离网：数据中没有{missing}；预测统计销户与携出的离网。",
        "No churn to forecast: the store has no {missing}; forecasts count off-net churn "
        "(deregistration and port-out).",
    ),
    "forecast.end_events": ("销户或携出事件", "deregistration or port-out events"),
    "forecast.failed": ("无法为您的区域计算预测。", "The forecast cannot be computed for your regions."),
    "error.back": ("返回总览", "Back to the overview"),
    "drill.all": ("全部区县", "All counties"),
    # the model registry (model page): columns and the codes they hold
    "col.model_id": ("模型编号", "Model ID"),
    "col.as_of": ("训练截至", "Trained through"),
    "col.created": ("创建时间", "Created"),
    "col.data_hash": ("数据指纹", "Data fingerprint"),
    "col.feature_set": ("特征集", "Feature set"),
    "col.feature_set_version": ("特征集版本", "Feature set version"),
    "col.label_definition": ("离网口径", "Churn definition"),
    "col.label_definition_version": ("离网口径版本", "Churn definition version"),
    "col.base_rate": ("基础离网率", "Base churn rate"),
    "col.calibration_events": ("校准集离网数", "Calibration churners"),
    "col.calibration_rows": ("校准集样本数", "Calibration rows"),
    "col.events_available": ("可用离网数", "Churners available"),
    "col.panel_events": ("面板离网数", "Panel churners"),
    "col.panel_rows": ("面板样本数", "Panel rows"),
    "col.rows_available": ("可用样本数", "Rows available"),
    "col.rows_used": ("使用样本数", "Rows used"),
    "col.sample_rate": ("抽样比例", "Sample rate"),
    "col.sample_seed": ("抽样种子", "Sample seed"),
    "col.train_rows": ("训练样本数", "Training rows"),
    "val.kind.churn_hazard": ("离网风险模型（离散时间风险）", "churn hazard model (discrete time)"),
    "val.feature_set.core": ("核心特征", "core features"),
    "val.label_definition.offnet": ("离网（销户与携出）", "off-net churn (deregistration and port-out)"),
    "yes": ("是", "yes"),
    "no": ("否", "no"),
}

# backtest metrics per step of the hazard model: 第n月 AUC / 校准误差
for _n in range(1, 25):
    UI[f"col.hazard_auc_step{_n}"] = (f"第{_n}月 AUC", f"AUC, month {_n}")
    UI[f"col.hazard_ece_step{_n}"] = (f"第{_n}月校准误差（ECE）", f"Calibration error (ECE), month {_n}")


def tr(key: str, lang: str = "zh", **values: Any) -> str:
    """The text of ``key`` in ``lang`` (``zh`` or ``en``), falling back to the shared catalogue."""
    pair = UI.get(key)
    if pair is not None:
        text = pair[0] if lang == "zh" else pair[1]
    else:
        try:
            from churnradar.i18n import t

            text = t(key, lang)
        except Exception:
            text = key
    return text.format(**values) if values else text


ENUMS = {
    "reason": E.REASON_CODE,
    "kind": E.CHURN_KIND,
    "event": E.EVENT_TYPE,
    "status": E.CAMPAIGN_STATUS,
    "offer": E.OFFER_KIND,
    "channel": E.CONTACT_CHANNEL,
    "brand": E.BRAND,
    "driver": E.DRIVER,
}


def code_label(kind: str, code: Any, lang: str = "zh") -> str:
    """Label of a data-model code (reason, churn kind, event...) in ``lang``; the code when unknown."""
    if code is None:
        return ""
    pair = ENUMS.get(kind, {}).get(str(code))
    if pair is None:
        return str(code)
    return pair[1] if lang == "zh" else pair[0]


#: English messages of the library a page shows (errors, why a forecast is unavailable): pattern →
#: catalogue key, its groups filling the key's placeholders
_MESSAGES: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"^no (?P<what>subscriber|campaign|county|region|report|contact) '(?P<id>[^']*)'"),
        "error.not_in_scope",
    ),
    (re.compile(r"^role (?P<role>\w+) may not use (?P<permission>\w+)"), "error.no_permission"),
    (
        re.compile(
            r"^the churn history has (?P<n>\d+) complete months; the backtest needs at least (?P<need>\d+) "
            r"\((?P<season>\d+)-month season \+ (?P<windows>\d+) windows of (?P<h>\d+)\)"
        ),
        "forecast.short_history",
    ),
    (re.compile(r"^no churn to forecast: the store has no (?P<missing>.+?); "), "forecast.no_churn"),
)


def localise(detail: str, lang: str = "zh") -> str | None:
    """``detail`` (an English message of the library) in ``lang``: the message itself in English, its
    catalogue text in zh-CN when it is one the dashboard knows, else None (the page then says what
    kind of failure it was)."""
    if lang != "zh":
        return detail
    for pattern, key in _MESSAGES:
        m = pattern.match(detail)
        if m is None:
            continue
        values = m.groupdict()
        if "what" in values:
            values["what"] = tr(f"what.{values['what']}", lang)
        if "role" in values:
            values["role"] = tr(f"role.{values['role']}", lang)
        if "permission" in values:
            values["permission"] = tr(f"perm.{values['permission']}", lang)
        if "missing" in values:
            values["missing"] = tr("forecast.end_events", lang)
        return tr(key, lang, **values)
    return None
