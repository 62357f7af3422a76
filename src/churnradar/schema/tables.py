"""The canonical tables of churnradar.

Grain is monthly. ``month`` columns hold the first day of the month. Identifiers of people and
handsets are stored only as keyed HMAC-SHA256 digests (``*_hash`` columns).
"""

from __future__ import annotations

from churnradar.schema import enums as E
from churnradar.schema.model import Column as C
from churnradar.schema.model import Table

MONEY_MAX = 1_000_000.0

REGION = Table(
    "region",
    "Geography: prefecture → county → grid (one row per grid).",
    "地理维度：地市 → 区县 → 网格（每网格一行）。",
    (
        C("grid_id", "string", "Grid identifier", "网格编码"),
        C("grid_name", "string", "Grid name", "网格名称"),
        C("county_id", "string", "County identifier", "区县编码"),
        C("county_name", "string", "County name (zh)", "区县名称"),
        C("county_name_en", "string", "County name (en)", "区县英文名"),
        C("city", "string", "Prefecture-level city", "地市"),
        C("area_type", "string", "Kind of area the grid covers", "网格区域类型", enum=E.codes(E.AREA_TYPE)),
    ),
    key=("grid_id",),
    group="dimension",
)

PACKAGE = Table(
    "package",
    "Tariff packages with their brand and monthly fee.",
    "资费套餐及其品牌与月费。",
    (
        C("package_id", "string", "Package identifier", "套餐编码"),
        C("package_name", "string", "Package name (zh)", "套餐名称"),
        C("package_name_en", "string", "Package name (en)", "套餐英文名"),
        C("brand", "string", "Brand the package belongs to", "所属品牌", enum=E.codes(E.BRAND)),
        C("payment_type", "string", "Prepaid or postpaid", "付费类型", enum=E.codes(E.PAYMENT_TYPE)),
        C("monthly_fee", "float", "Monthly fee (yuan)", "月功能费（元）", min=0, max=10_000),
        C("data_gb", "float", "Included data (GB per month)", "套内流量（GB/月）", min=0, max=10_000),
        C("voice_min", "int", "Included voice minutes per month", "套内语音（分钟/月）", min=0, max=100_000),
        C("is_5g", "bool", "5G package", "是否5G套餐"),
        C("is_promotion", "bool", "Acquisition-promotion package", "是否入网促销套餐"),
    ),
    key=("package_id",),
    group="dimension",
)

CHANNEL = Table(
    "channel",
    "Acquisition and service channels.",
    "入网及服务渠道。",
    (
        C("channel_id", "string", "Channel identifier", "渠道编码"),
        C("channel_name", "string", "Channel name (zh)", "渠道名称"),
        C("channel_name_en", "string", "Channel name (en)", "渠道英文名"),
        C("channel_type", "string", "Kind of channel", "渠道类型", enum=E.codes(E.CHANNEL_TYPE)),
        C(
            "county_id",
            "string",
            "County the channel sits in (empty: all)",
            "所属区县（空为全市）",
            nullable=True,
        ),
    ),
    key=("channel_id",),
    group="dimension",
)

COMPETITOR = Table(
    "competitor",
    "Competing operators.",
    "竞争对手运营商。",
    (
        C("competitor_id", "string", "Competitor identifier", "竞争对手编码"),
        C("competitor_name", "string", "Name (zh)", "名称"),
        C("competitor_name_en", "string", "Name (en)", "英文名"),
    ),
    key=("competitor_id",),
    group="dimension",
)

CUSTOMER = Table(
    "customer",
    "Customers (the person or organisation holding the certificate).",
    "客户（持证件的个人或单位）。",
    (
        C("customer_id", "string", "Customer identifier", "客户编码"),
        C(
            "certificate_hash",
            "string",
            "Pseudonymised certificate (ID card) number",
            "证件号（脱敏）",
            pii="certificate",
            raw_name="certificate_no",
            nullable=True,
        ),
        C(
            "customer_group",
            "string",
            "Customer group",
            "客户群",
            enum=E.codes(E.CUSTOMER_GROUP),
            nullable=True,
        ),
        C(
            "customer_type",
            "string",
            "Individual or group member",
            "个人或集团成员",
            enum=E.codes(E.CUSTOMER_TYPE),
            nullable=True,
        ),
        C("is_local", "bool", "Certificate issued locally", "是否本地证件", nullable=True),
        C(
            "has_contact_info",
            "bool",
            "Customer left usable contact information",
            "是否有联系方式",
            nullable=True,
        ),
        C("birth_year", "int", "Year of birth", "出生年份", nullable=True, min=1900, max=2030),
        C("gender", "string", "Gender", "性别", nullable=True, enum=E.codes(E.GENDER)),
    ),
    key=("customer_id",),
)

SUBSCRIPTION = Table(
    "subscription",
    "Subscriptions (one per number): who, what, where, since when.",
    "用户（每号码一行）：归属客户、品牌套餐、入网时间与渠道、所在网格。",
    (
        C("subscriber_id", "string", "Subscriber (user) identifier", "用户编码"),
        C(
            "customer_id",
            "string",
            "Owning customer",
            "归属客户",
            references="customer.customer_id",
            nullable=True,
        ),
        C(
            "msisdn_hash",
            "string",
            "Pseudonymised phone number",
            "手机号（脱敏）",
            pii="msisdn",
            raw_name="msisdn",
            nullable=True,
        ),
        C("brand", "string", "Brand at activation", "入网品牌", enum=E.codes(E.BRAND), nullable=True),
        C(
            "package_id",
            "string",
            "Package at activation",
            "入网套餐",
            references="package.package_id",
            nullable=True,
        ),
        C(
            "payment_type",
            "string",
            "Prepaid or postpaid",
            "付费类型",
            enum=E.codes(E.PAYMENT_TYPE),
            nullable=True,
        ),
        C("activation_date", "date", "Date the number was activated", "入网日期"),
        C(
            "channel_id",
            "string",
            "Acquisition channel",
            "发展渠道",
            references="channel.channel_id",
            nullable=True,
        ),
        C("contract_end", "date", "End of the service contract (合约)", "合约到期日", nullable=True),
        C("subsidy_end", "date", "End of the handset subsidy commitment", "终端补贴到期日", nullable=True),
        C("family_group_id", "string", "Family plan group (家庭V网)", "家庭V网编码", nullable=True),
        C("grid_id", "string", "Home grid", "归属网格", references="region.grid_id", nullable=True),
    ),
    key=("subscriber_id",),
)

STATUS_EVENT = Table(
    "status_event",
    "Lifecycle events as recorded by the BSS, with the recorded reason.",
    "BSS记录的用户状态变更事件及记录原因。",
    (
        C("subscriber_id", "string", "Subscriber", "用户编码", references="subscription.subscriber_id"),
        C("event_time", "timestamp", "When the event took effect", "生效时间"),
        C("event_type", "string", "Lifecycle event", "事件类型", enum=E.codes(E.EVENT_TYPE)),
        C(
            "reason",
            "string",
            "Reason recorded on the event",
            "记录原因",
            nullable=True,
            enum=E.codes(E.EVENT_REASON),
        ),
        C(
            "destination_operator",
            "string",
            "Operator ported to (port-out only)",
            "携入运营商",
            nullable=True,
            references="competitor.competitor_id",
        ),
        C(
            "package_id",
            "string",
            "New package (package changes only)",
            "变更后套餐",
            nullable=True,
            references="package.package_id",
        ),
    ),
    key=("subscriber_id", "event_time", "event_type"),
)

USAGE_MONTHLY = Table(
    "usage_monthly",
    "Monthly usage per subscriber.",
    "用户月度使用量。",
    (
        C("subscriber_id", "string", "Subscriber", "用户编码", references="subscription.subscriber_id"),
        C("month", "month", "Month", "月份"),
        C("voice_out_min", "float", "Outgoing voice minutes", "主叫分钟", min=0, max=50_000, nullable=True),
        C("voice_in_min", "float", "Incoming voice minutes", "被叫分钟", min=0, max=50_000, nullable=True),
        C(
            "onnet_min",
            "float",
            "Minutes with our own subscribers",
            "网内通话分钟",
            min=0,
            max=100_000,
            nullable=True,
        ),
        C(
            "offnet_min",
            "float",
            "Minutes with fixed lines and other networks than competitors' mobiles",
            "网外（非竞争对手移动）通话分钟",
            min=0,
            max=100_000,
            nullable=True,
        ),
        C(
            "competitor_min",
            "float",
            "Minutes with competitors' mobile numbers",
            "与竞争对手号码通话分钟",
            min=0,
            max=100_000,
            nullable=True,
        ),
        C("sms_count", "int", "SMS sent", "短信条数", min=0, max=100_000, nullable=True),
        C("data_mb", "float", "Mobile data (MB)", "流量（MB）", min=0, max=10_000_000, nullable=True),
        C(
            "active_days",
            "int",
            "Days with any billable activity (optional: where absent, a month with any use counts as active)",
            "活跃天数（可缺：缺失时有任何使用即视为活跃）",
            nullable=True,
            min=0,
            max=31,
        ),
        C(
            "distinct_contacts",
            "int",
            "Distinct numbers called or calling",
            "交往圈人数",
            min=0,
            max=100_000,
            nullable=True,
        ),
        C(
            "imei_hash",
            "string",
            "Pseudonymised handset IMEI seen this month",
            "终端IMEI（脱敏）",
            nullable=True,
            pii="imei",
            raw_name="imei",
        ),
        C(
            "second_sim_operator",
            "string",
            "Operator of a second SIM in the same handset ('own' or a competitor)",
            "同机第二卡运营商（own为本网）",
            nullable=True,
        ),
    ),
    key=("subscriber_id", "month"),
)

BILLING_MONTHLY = Table(
    "billing_monthly",
    "Monthly bill, balance and recharges per subscriber.",
    "用户月度账单、余额与充值。",
    (
        C("subscriber_id", "string", "Subscriber", "用户编码", references="subscription.subscriber_id"),
        C("month", "month", "Month", "月份"),
        C(
            "package_id",
            "string",
            "Package billed this month",
            "本月计费套餐",
            references="package.package_id",
            nullable=True,
        ),
        C(
            "revenue",
            "float",
            "Billed revenue (yuan; negative for refunds and adjustments)",
            "出账收入（元；退费、调账为负）",
            min=-MONEY_MAX,
            max=MONEY_MAX,
            nullable=True,
        ),
        C(
            "arrears",
            "float",
            "Unpaid amount at month end (yuan)",
            "月末欠费（元）",
            min=0,
            max=MONEY_MAX,
            nullable=True,
        ),
        C(
            "balance",
            "float",
            "Prepaid balance at month end (yuan)",
            "月末余额（元）",
            min=0,
            max=MONEY_MAX,
            nullable=True,
        ),
        C("recharge_count", "int", "Number of recharges", "充值次数", min=0, max=1_000, nullable=True),
        C(
            "recharge_amount",
            "float",
            "Amount recharged (yuan)",
            "充值金额（元）",
            min=0,
            max=MONEY_MAX,
            nullable=True,
        ),
        C(
            "overage",
            "float",
            "Charges beyond the package (yuan)",
            "套外费用（元）",
            min=0,
            max=MONEY_MAX,
            nullable=True,
        ),
    ),
    key=("subscriber_id", "month"),
)

RECHARGE = Table(
    "recharge",
    "Recharges of prepaid lines and bill payments, one row per line and day (optional).",
    "预付费充值与缴费记录，每用户每日一行（可缺）。",
    (
        C("subscriber_id", "string", "Subscriber", "用户编码", references="subscription.subscriber_id"),
        C("recharge_date", "date", "Day of the recharge", "充值日期"),
        C("amount", "float", "Amount recharged that day (yuan)", "当日充值金额（元）", min=0, max=MONEY_MAX),
        C(
            "channel",
            "string",
            "Where the (last) recharge of the day was made",
            "充值渠道",
            nullable=True,
            enum=E.codes(E.RECHARGE_CHANNEL),
        ),
    ),
    key=("subscriber_id", "recharge_date"),
)

INTERACTION = Table(
    "interaction",
    "Complaints, inquiries and retention contacts.",
    "投诉、咨询与维系接触记录。",
    (
        C("interaction_id", "string", "Interaction identifier", "工单编码"),
        C("subscriber_id", "string", "Subscriber", "用户编码", references="subscription.subscriber_id"),
        C("interaction_time", "timestamp", "When it happened", "发生时间"),
        C("kind", "string", "Kind of interaction", "类型", enum=E.codes(E.INTERACTION_KIND)),
        C("channel", "string", "Channel used", "渠道", enum=E.codes(E.INTERACTION_CHANNEL)),
        C("topic", "string", "Topic", "主题", enum=E.codes(E.INTERACTION_TOPIC)),
        C("resolved", "bool", "Resolved to the customer's satisfaction", "是否解决"),
    ),
    key=("interaction_id",),
)

CALL_EDGE = Table(
    "call_edge",
    "Monthly call graph: our subscriber with one (pseudonymised) party and that party's operator.",
    "月度通话关系：本网用户与对端号码（脱敏）及对端运营商。",
    (
        C("month", "month", "Month", "月份"),
        C("subscriber_id", "string", "Our subscriber", "本网用户", references="subscription.subscriber_id"),
        C(
            "peer_hash",
            "string",
            "Pseudonymised number of the other party",
            "对端号码（脱敏）",
            pii="msisdn",
            raw_name="peer_msisdn",
        ),
        C(
            "peer_operator",
            "string",
            "Operator of the other party ('own' or a competitor id)",
            "对端运营商（own为本网）",
        ),
        C("calls", "int", "Calls in either direction", "通话次数", min=0, max=100_000),
        C("minutes", "float", "Minutes in either direction", "通话分钟", min=0, max=100_000),
    ),
    key=("month", "subscriber_id", "peer_hash"),
)

NETWORK_QUALITY = Table(
    "network_quality",
    "Monthly network quality per grid.",
    "网格月度网络质量。",
    (
        C("month", "month", "Month", "月份"),
        C("grid_id", "string", "Grid", "网格", references="region.grid_id"),
        C("drop_rate", "float", "Call drop rate", "掉话率", min=0, max=1),
        C(
            "throughput_mbps",
            "float",
            "Mean downlink throughput (Mbit/s)",
            "平均下行速率（Mbps）",
            min=0,
            max=10_000,
        ),
        C("coverage_score", "float", "Coverage score (0–100)", "覆盖评分（0–100）", min=0, max=100),
    ),
    key=("month", "grid_id"),
)

PROMOTION = Table(
    "promotion",
    "Acquisition promotions and channel-commission changes, by month.",
    "入网促销活动与渠道酬金调整（按月）。",
    (
        C("promotion_id", "string", "Promotion identifier", "活动编码"),
        C("kind", "string", "Promotion or commission change", "类型", enum=E.codes(E.PROMOTION_KIND)),
        C(
            "package_id",
            "string",
            "Package promoted",
            "促销套餐",
            nullable=True,
            references="package.package_id",
        ),
        C(
            "channel_type",
            "string",
            "Channel type it applies to (empty: all)",
            "适用渠道类型（空为全部）",
            nullable=True,
            enum=E.codes(E.CHANNEL_TYPE),
        ),
        C("county_id", "string", "County it applies to (empty: all)", "适用区县（空为全市）", nullable=True),
        C("start_month", "month", "First month", "开始月份"),
        C("end_month", "month", "Last month", "结束月份"),
        C(
            "commission_yuan",
            "float",
            "Channel commission per new line (yuan)",
            "单户酬金（元）",
            nullable=True,
            min=0,
            max=10_000,
        ),
        C("terms", "string", "Terms (zh)", "活动内容"),
        C("terms_en", "string", "Terms (en)", "活动内容（英文）"),
    ),
    key=("promotion_id",),
)

CAMPAIGN = Table(
    "campaign",
    "Retention campaigns.",
    "维系挽留活动。",
    (
        C("campaign_id", "string", "Campaign identifier", "活动编码"),
        C("name", "string", "Campaign name", "活动名称"),
        C("start_date", "date", "Start date", "开始日期"),
        C("end_date", "date", "End date", "结束日期"),
        C("control_share", "float", "Share held out as randomised control", "随机对照组比例", min=0, max=1),
        C("status", "string", "Status", "状态", enum=E.codes(E.CAMPAIGN_STATUS)),
    ),
    key=("campaign_id",),
    group="retention",
)

OFFER = Table(
    "offer",
    "Offers (treatment arms) of a campaign, with their cost.",
    "活动的挽留方案（处理组）及成本。",
    (
        C("offer_id", "string", "Offer identifier", "方案编码"),
        C("campaign_id", "string", "Campaign", "活动编码", references="campaign.campaign_id"),
        C("kind", "string", "Kind of offer", "方案类型", enum=E.codes(E.OFFER_KIND)),
        C("channel", "string", "Contact channel", "接触渠道", enum=E.codes(E.CONTACT_CHANNEL)),
        C("cost", "float", "Cost per accepted offer (yuan)", "单户成本（元）", min=0, max=MONEY_MAX),
        C("description", "string", "Description", "说明"),
    ),
    key=("offer_id",),
    group="retention",
)

CONTACT = Table(
    "contact",
    "Campaign assignment: each subscriber's arm (an offer or control) and whether contacted.",
    "活动分组：每个用户所在组（方案或对照）及是否接触。",
    (
        C("contact_id", "string", "Contact identifier", "接触编码"),
        C("campaign_id", "string", "Campaign", "活动编码", references="campaign.campaign_id"),
        C("subscriber_id", "string", "Subscriber", "用户编码", references="subscription.subscriber_id"),
        C(
            "offer_id",
            "string",
            "Offer assigned (empty for control)",
            "分配方案（对照组为空）",
            nullable=True,
            references="offer.offer_id",
        ),
        C("is_control", "bool", "In the randomised control group", "是否对照组"),
        C("assigned_date", "date", "Date of assignment", "分组日期"),
        C("contacted", "bool", "Contact was made", "是否接触成功"),
        C("contact_time", "timestamp", "When contacted", "接触时间", nullable=True),
    ),
    key=("contact_id",),
    group="retention",
)

OUTCOME = Table(
    "outcome",
    "Outcomes of contacts, recorded once per idempotency key and verified by call-back.",
    "接触结果（按幂等键只记录一次），并经回访核实。",
    (
        C("outcome_id", "string", "Idempotency key of the outcome", "结果编码（幂等键）"),
        C("contact_id", "string", "Contact", "接触编码", references="contact.contact_id"),
        C("recorded_time", "timestamp", "When recorded", "记录时间"),
        C("accepted", "bool", "Offer accepted", "是否接受方案"),
        C(
            "retained",
            "bool",
            "Still with us at the end of the follow-up window",
            "观察期末是否在网",
            nullable=True,
        ),
        C("verified", "bool", "Verified by call-back", "是否回访核实"),
    ),
    key=("outcome_id",),
    group="retention",
)

SURVEY_RESPONSE = Table(
    "survey_response",
    "Customer survey answers: NPS, factor ratings and importance, alternatives.",
    "客户调研：NPS、各因素评分与重要性、可选替代。",
    (
        C("response_id", "string", "Response identifier", "问卷编码"),
        C("subscriber_id", "string", "Subscriber", "用户编码", references="subscription.subscriber_id"),
        C("response_date", "date", "Date answered", "答卷日期"),
        C("nps", "int", "Likelihood to recommend (0–10)", "推荐意愿（0–10）", min=0, max=10),
        C("rating_data", "int", "Rating of data quality (1–10)", "上网质量评分", min=1, max=10),
        C("rating_call", "int", "Rating of call quality (1–10)", "通话质量评分", min=1, max=10),
        C("rating_price", "int", "Rating of price level (1–10)", "价格水平评分", min=1, max=10),
        C("rating_plan", "int", "Rating of plan choice (1–10)", "套餐选择评分", min=1, max=10),
        C("rating_service", "int", "Rating of customer service (1–10)", "客户服务评分", min=1, max=10),
        C("importance_data", "int", "Importance of data quality (1–10)", "上网质量重要性", min=1, max=10),
        C("importance_call", "int", "Importance of call quality (1–10)", "通话质量重要性", min=1, max=10),
        C("importance_price", "int", "Importance of price (1–10)", "价格重要性", min=1, max=10),
        C("importance_plan", "int", "Importance of plan choice (1–10)", "套餐选择重要性", min=1, max=10),
        C("importance_service", "int", "Importance of service (1–10)", "服务重要性", min=1, max=10),
        C("has_alternative", "bool", "Considers a competitor a usable alternative", "是否有可替代运营商"),
        C(
            "alternative_operator",
            "string",
            "Competitor named as alternative",
            "可替代运营商",
            nullable=True,
            references="competitor.competitor_id",
        ),
    ),
    key=("response_id",),
)

CONSENT = Table(
    "consent",
    "Marketing consent per subscriber and contact channel.",
    "用户各接触渠道的营销许可。",
    (
        C("subscriber_id", "string", "Subscriber", "用户编码", references="subscription.subscriber_id"),
        C("channel", "string", "Contact channel", "接触渠道", enum=E.codes(E.CONTACT_CHANNEL)),
        C("allowed", "bool", "May we contact on this channel", "是否允许接触"),
        C("updated_at", "timestamp", "When last updated", "更新时间"),
    ),
    key=("subscriber_id", "channel"),
    group="retention",
)

#: Canonical tables in load order (parents before children).
TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        REGION,
        PACKAGE,
        CHANNEL,
        COMPETITOR,
        CUSTOMER,
        SUBSCRIPTION,
        STATUS_EVENT,
        USAGE_MONTHLY,
        BILLING_MONTHLY,
        RECHARGE,
        INTERACTION,
        CALL_EDGE,
        NETWORK_QUALITY,
        PROMOTION,
        CAMPAIGN,
        OFFER,
        CONTACT,
        OUTCOME,
        SURVEY_RESPONSE,
        CONSENT,
    )
}

#: The simulator's own documentation of the ground truth it writes beside the data (``_truth/``),
#: never ingested; only the simulator and the evaluations read it.
CHURN_TRUTH = Table(
    "churn_truth",
    "Simulator ground truth: the true kind, reason and driver of every churn the simulator caused.",
    "模拟器真值：每次模拟流失的真实类型、原因与驱动因素（不入库）。",
    (
        C("subscriber_id", "string", "Subscriber", "用户编码"),
        C("kind", "string", "True churn kind", "真实流失类型", enum=E.codes(E.CHURN_KIND)),
        C("reason_code", "string", "True reason class", "真实离网原因", enum=E.codes(E.REASON_CODE)),
        C("intent", "string", "True intent class", "真实意图类别", enum=E.codes(E.INTENT)),
        C("driver", "string", "True driver", "真实驱动因素", enum=E.codes(E.DRIVER)),
        C("mechanism", "string", "Simulator rule that caused it", "模拟机制"),
        C("left_month", "month", "Month the customer actually left or changed", "实际离开/变化月份"),
        C(
            "recorded_month",
            "month",
            "Month the BSS recorded it (deregistration, port-out, change)",
            "BSS记录月份",
            nullable=True,
        ),
        C(
            "new_subscriber_id",
            "string",
            "New subscription of the same person (re-selection only)",
            "重选后的新用户编码",
            nullable=True,
        ),
    ),
    key=("subscriber_id", "kind"),
    group="truth",
)

RETENTION_TRUTH = Table(
    "retention_truth",
    "Simulator ground truth: each line's true response to each offer kind, for the members of every "
    "campaign and, in the month after the data, for every open line (the targeting truth).",
    "模拟器真值：每个用户对每类挽留方案的真实反应（活动成员，及数据末月后的全部在网用户；不入库）。",
    (
        C("subscriber_id", "string", "Subscriber", "用户编码"),
        C(
            "month",
            "month",
            "Month the truth refers to (campaign month, or the month after the data)",
            "所指月份",
        ),
        C(
            "campaign_id",
            "string",
            "Campaign (empty: targeting truth)",
            "活动编码（空为目标选择真值）",
            nullable=True,
        ),
        C("offer_kind", "string", "Kind of offer", "方案类型", enum=E.codes(E.OFFER_KIND)),
        C(
            "effect",
            "float",
            "True relative reduction of the churn hazard if reached (negative: the offer backfires)",
            "触达后流失风险的真实相对降幅（负值为反效果）",
            min=-1,
            max=1,
        ),
        C(
            "p_churn",
            "float",
            "True probability of off-net churn in the follow-up window without an offer",
            "无挽留时观察期内真实离网概率",
            min=0,
            max=1,
        ),
        C(
            "uplift",
            "float",
            "True reduction of that probability if reached (absolute; negative: backfires)",
            "触达后离网概率的真实降低量（绝对值；负值为反效果）",
            min=-1,
            max=1,
        ),
        C(
            "reach",
            "float",
            "Chance of being reached if assigned this offer (consent on its channel × reach)",
            "分配该方案时被触达的概率（渠道许可 × 触达率）",
            min=0,
            max=1,
        ),
    ),
    key=("subscriber_id", "month", "offer_kind"),
    group="truth",
)

TRUTH_TABLES: dict[str, Table] = {CHURN_TRUTH.name: CHURN_TRUTH, RETENTION_TRUTH.name: RETENTION_TRUTH}


def get_table(name: str) -> Table:
    """The canonical table called ``name``; raises :class:`UnknownTableError` naming the valid ones."""
    from churnradar.errors import UnknownTableError

    try:
        return TABLES[name]
    except KeyError:
        raise UnknownTableError(f"unknown table {name!r}; expected one of {', '.join(TABLES)}") from None
