"""Enumerations of the canonical data model, each code with its en and zh-CN label.

Codes are stable ASCII identifiers stored in the data; labels are what people read.
"""

from __future__ import annotations

Labels = dict[str, tuple[str, str]]  # code -> (en, zh)

CUSTOMER_GROUP: Labels = {
    "key_account": ("key account", "大客户"),
    "business": ("business", "商业客户"),
    "mass": ("mass market", "公众客户"),
    "migrant": ("migrant", "流动客户"),
}

CUSTOMER_TYPE: Labels = {
    "individual": ("individual", "个人客户"),
    "group": ("group member", "集团成员"),
}

GENDER: Labels = {"F": ("female", "女"), "M": ("male", "男")}

PAYMENT_TYPE: Labels = {
    "prepaid": ("prepaid", "预付费"),
    "postpaid": ("postpaid", "后付费"),
}

BRAND: Labels = {
    "premium": ("premium brand", "高端品牌（全球通类）"),
    "youth": ("youth brand", "年轻品牌（动感地带类）"),
    "budget": ("budget brand", "大众品牌（神州行类）"),
}

AREA_TYPE: Labels = {
    "urban": ("urban district", "城区"),
    "county_town": ("county town", "县城"),
    "rural": ("rural", "农村"),
    "industrial": ("industrial park", "工业园区"),
}

CHANNEL_TYPE: Labels = {
    "own_store": ("own store", "自营厅"),
    "franchise": ("franchise store", "合作厅"),
    "social": ("social channel (commission)", "社会渠道（酬金）"),
    "online": ("online", "电子渠道"),
    "direct_sales": ("direct sales", "直销"),
}

#: Lifecycle events as recorded by the BSS (销户 is ``deregister``; 携号转网 is ``port_out``).
EVENT_TYPE: Labels = {
    "activate": ("activation", "开户"),
    "suspend_oneway": ("one-way suspension", "单停"),
    "suspend_twoway": ("two-way suspension", "双停"),
    "pre_deregister": ("pre-deregistration", "预销户"),
    "deregister": ("deregistration", "销户"),
    "port_out": ("ported out", "携号转网（携出）"),
    "reactivate": ("reactivation", "复机"),
    "package_change": ("package change", "套餐变更"),
}

#: The reason the BSS recorded on a lifecycle event (not the true churn reason).
EVENT_REASON: Labels = {
    "new_subscription": ("new subscription", "新入网"),
    "arrears": ("arrears", "欠费"),
    "payment": ("payment received", "缴费"),
    "user_request": ("customer request", "用户申请"),
    "port_out": ("number portability", "携号转网"),
    "fraud_block": ("blocked for illegal use", "违规停机"),
    "lost_sim": ("lost SIM reported", "挂失"),
    "upgrade": ("upgrade", "升档"),
    "downgrade": ("downgrade", "降档"),
}

#: The ten churn reason classes practitioners use (离网原因), plus ``unknown``.
REASON_CODE: Labels = {
    "arrears": ("arrears", "欠费"),
    "fraud": ("illegal activity / fraud", "非法活动"),
    "relocation": ("relocation", "迁移"),
    "unemployment": ("unemployment", "失业"),
    "travel": ("travel", "旅游"),
    "seasonal_migrant": ("seasonal migrant mobility", "阶段性流动"),
    "lost_sim": ("lost SIM", "号卡丢失"),
    "number_reselection": ("number re-selection", "号码重选"),
    "tariff_reselection": ("in-network tariff re-selection", "网内资费重选"),
    "competitor": ("switch to competitor", "转往竞争对手"),
    "unknown": ("unknown", "未知"),
}

INTENT: Labels = {
    "malicious": ("malicious", "恶意"),
    "involuntary": ("passive / involuntary", "被动"),
    "voluntary": ("voluntary", "主观"),
    "induced": ("induced by our promotions", "引导"),
}

#: Finer driver view used in explanations.
DRIVER: Labels = {
    "price": ("price", "价格"),
    "quality": ("quality", "质量"),
    "technology": ("technology", "技术"),
    "social": ("social", "社交"),
    "convenience": ("convenience / promotion", "便利与促销"),
    "life_event": ("life event", "生活变动"),
    "none": ("no driver", "无"),
}

#: Kinds of churn.
CHURN_KIND: Labels = {
    "offnet": ("off-net churn (deregistration)", "离网（销户）"),
    "port_out": ("off-net churn (ported out)", "携号转网"),
    "brand_downgrade": ("brand downgrade", "品牌降档"),
    "value_decline": ("value decline", "价值下降"),
    "silent": ("silent", "沉默"),
    "number_reselection": ("number re-selection (not a loss)", "号码重选（非流失）"),
    "tariff_reselection": ("tariff re-selection (not a loss)", "网内资费重选（非流失）"),
}

INTERACTION_KIND: Labels = {
    "complaint": ("complaint", "投诉"),
    "inquiry": ("inquiry", "咨询"),
    "retention_contact": ("retention contact", "维系接触"),
}

INTERACTION_CHANNEL: Labels = {
    "hotline": ("hotline", "客服热线"),
    "store": ("store", "营业厅"),
    "online": ("online / app", "网厅/APP"),
    "regulator": ("regulator escalation", "工信部申诉"),
}

INTERACTION_TOPIC: Labels = {
    "billing": ("billing", "计费"),
    "network": ("network quality", "网络质量"),
    "price": ("price / tariff", "资费"),
    "service": ("service", "服务"),
    "handset": ("handset", "终端"),
    "package": ("package", "套餐"),
    "other": ("other", "其他"),
}

PROMOTION_KIND: Labels = {
    "acquisition_promotion": ("acquisition promotion", "入网促销"),
    "commission_change": ("channel commission change", "渠道酬金调整"),
}

CONTACT_CHANNEL: Labels = {
    "sms": ("SMS", "短信"),
    "outbound_call": ("outbound call", "外呼"),
    "app_push": ("app push", "APP推送"),
    "account_manager": ("account manager", "客户经理"),
    "store": ("store", "营业厅"),
}

OFFER_KIND: Labels = {
    "tariff_discount": ("tariff discount", "资费折扣"),
    "prepay_bonus": ("prepay and get bonus", "预存话费送话费"),
    "data_bonus": ("data bonus", "流量赠送"),
    "family_vnet": ("family V-net", "家庭V网"),
    "loyalty_credit": ("loyalty credit", "在网积分"),
    "handset_subsidy": ("handset subsidy", "终端补贴"),
    "competitive_package": ("competitive package", "竞争型套餐"),
}

#: Where a prepaid line was recharged (or a postpaid bill paid).
RECHARGE_CHANNEL: Labels = {
    "online": ("online or app", "网上及APP充值"),
    "card": ("recharge card", "充值卡"),
    "store": ("store counter", "营业厅"),
    "agent": ("agent outlet", "代理网点"),
    "bank": ("bank debit", "银行代扣"),
}

CAMPAIGN_STATUS: Labels = {
    "draft": ("draft", "草稿"),
    "running": ("running", "执行中"),
    "closed": ("closed", "已结束"),
}

OPERATOR_OWN = "own"

#: Lifecycle events that end a line (off-net churn: 销户 and 携号转网), and those that suspend it;
#: every module that counts or dates exits reads these, never its own list.
END_EVENTS: tuple[str, ...] = ("deregister", "port_out")
SUSPEND_EVENTS: tuple[str, ...] = ("suspend_oneway", "suspend_twoway", "pre_deregister")
#: ``END_EVENTS`` as an SQL list, for the modules that still write SQL text
END_EVENTS_SQL = "(" + ", ".join(f"'{e}'" for e in END_EVENTS) + ")"
#: Churn kinds (``CHURN_KIND``) that are off-net churn (离网): 销户 (``offnet``) and 携出 (``port_out``);
#: and the in-network re-selections, whose old number ends but whose customer stays (never a loss).
OFFNET_KINDS: tuple[str, ...] = ("offnet", "port_out")
RESELECTION_KINDS: tuple[str, ...] = ("number_reselection", "tariff_reselection")

#: The code an operator's data may use where its own code has no canonical counterpart (a mapping
#: file maps foreign codes to it); appended last so the other codes keep their positions.
UNKNOWN = "unknown"
#: Code lists of the operator's data: each accepts ``unknown``.
DATA_ENUMS: tuple[Labels, ...] = (
    CUSTOMER_GROUP,
    CUSTOMER_TYPE,
    GENDER,
    PAYMENT_TYPE,
    BRAND,
    AREA_TYPE,
    CHANNEL_TYPE,
    EVENT_TYPE,
    EVENT_REASON,
    INTERACTION_KIND,
    INTERACTION_CHANNEL,
    INTERACTION_TOPIC,
    PROMOTION_KIND,
    RECHARGE_CHANNEL,
)
for _labels in DATA_ENUMS:
    _labels.setdefault(UNKNOWN, ("unknown", "未知"))


def codes(labels: Labels) -> tuple[str, ...]:
    """The codes of an enumeration, in their declared order."""
    return tuple(labels)


def label(labels: Labels, code: str, lang: str = "zh") -> str:
    """The label of ``code`` in ``lang`` (``"zh"`` or ``"en"``)."""
    en, zh = labels[code]
    return zh if lang.startswith("zh") else en


ALL_ENUMS: dict[str, Labels] = {
    "customer_group": CUSTOMER_GROUP,
    "customer_type": CUSTOMER_TYPE,
    "gender": GENDER,
    "payment_type": PAYMENT_TYPE,
    "brand": BRAND,
    "area_type": AREA_TYPE,
    "channel_type": CHANNEL_TYPE,
    "event_type": EVENT_TYPE,
    "event_reason": EVENT_REASON,
    "reason_code": REASON_CODE,
    "intent": INTENT,
    "driver": DRIVER,
    "churn_kind": CHURN_KIND,
    "interaction_kind": INTERACTION_KIND,
    "interaction_channel": INTERACTION_CHANNEL,
    "interaction_topic": INTERACTION_TOPIC,
    "promotion_kind": PROMOTION_KIND,
    "recharge_channel": RECHARGE_CHANNEL,
    "contact_channel": CONTACT_CHANNEL,
    "offer_kind": OFFER_KIND,
    "campaign_status": CAMPAIGN_STATUS,
}
