"""Dashboard texts in zh-CN and en; data-model codes come from :mod:`churnradar.schema.enums`.

``tr(key, lang)`` looks a key up here first and then in the shared catalogue
(:mod:`churnradar.i18n`), so report headings and reason names read the same everywhere.
"""

from __future__ import annotations

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
    "kpi.churned": ("上月离网", "Churned last month"),
    "kpi.churn_rate": ("上月离网率", "Churn rate last month"),
    "kpi.revenue": ("上月收入（元）", "Revenue last month (yuan)"),
    "kpi.high_risk": ("高危用户", "High-risk subscribers"),
    "kpi.mean_risk": ("平均风险", "Mean risk"),
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
    "error.back": ("返回总览", "Back to the overview"),
    "drill.all": ("全部区县", "All counties"),
    "yes": ("是", "yes"),
    "no": ("否", "no"),
}


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
