"""The fictional prefecture-level operator's world: geography, packages, channels, competitors,
promotions, competitor pushes and network quality.

云川市 (Yunchuan) is a made-up prefecture-level city with seven counties: two urban districts, two
county towns, a rural county and two migrant-heavy industrial zones. Everything here is a dimension
or a calendar the month loop reads; nothing here depends on subscribers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from churnradar.simulate.calendar import days_in_month, month_first_day
from churnradar.simulate.config import SimConfig

CITY = "云川市"

#: (county_id, zh, en, kind, population weight, grids, migrant-heavy)
COUNTIES: tuple[tuple[str, str, str, str, float, int, bool], ...] = (
    ("YC01", "青岚区", "Qinglan District", "urban", 0.20, 5, False),
    ("YC02", "明湖区", "Minghu District", "urban", 0.18, 4, False),
    ("YC03", "河阳县", "Heyang County", "county_town", 0.13, 4, False),
    ("YC04", "松岭县", "Songling County", "county_town", 0.11, 4, False),
    ("YC05", "云岭县", "Yunling County", "rural", 0.08, 3, False),
    ("YC06", "南湾开发区", "Nanwan Development Zone", "industrial", 0.17, 4, True),
    ("YC07", "北港工业园区", "Beigang Industrial Park", "industrial", 0.13, 3, True),
)

#: Grids with poor coverage (网络黑点): (county index, grid number within county).
BLACKSPOTS: tuple[tuple[int, int], ...] = ((1, 3), (3, 2), (4, 1), (5, 2), (6, 1))

#: (competitor_id, zh, en)
COMPETITORS: tuple[tuple[str, str, str], ...] = (
    ("HX", "恒信电信", "Hengxin Telecom"),
    ("LY", "联宇通信", "Lianyu Mobile"),
    ("XW", "星网广电移动", "Xingwang Broadcast Mobile"),
)

BRANDS = ("premium", "youth", "budget")
PAYMENTS = ("prepaid", "postpaid")

#: (package_id, zh, en, brand, payment, fee, data_gb, voice_min, is_5g, is_promotion)
PACKAGES: tuple[tuple[str, str, str, str, str, float, float, int, bool, bool], ...] = (
    ("PK01", "全球通5G尊享套餐", "Premium 5G Elite", "premium", "postpaid", 238.0, 60.0, 1000, True, False),
    ("PK02", "全球通5G畅享套餐", "Premium 5G Plus", "premium", "postpaid", 128.0, 30.0, 500, True, False),
    (
        "PK03",
        "全球通商旅套餐",
        "Premium Business Traveller",
        "premium",
        "postpaid",
        88.0,
        20.0,
        300,
        False,
        False,
    ),
    ("PK04", "集团商务5G套餐", "Corporate 5G", "premium", "postpaid", 98.0, 30.0, 500, True, False),
    ("PK05", "动感地带5G潮玩卡", "Youth 5G Play", "youth", "prepaid", 39.0, 30.0, 100, True, False),
    ("PK06", "动感地带校园卡", "Youth Campus", "youth", "prepaid", 29.0, 20.0, 50, False, False),
    ("PK07", "动感地带5G芒果卡", "Youth 5G Media", "youth", "postpaid", 59.0, 40.0, 200, True, False),
    ("PK08", "神州行5G畅享套餐", "Budget 5G Plus", "budget", "prepaid", 58.0, 20.0, 200, True, False),
    ("PK09", "神州行5G家庭套餐", "Budget 5G Family", "budget", "postpaid", 69.0, 25.0, 300, True, False),
    ("PK10", "神州行畅听卡", "Budget Talk", "budget", "prepaid", 28.0, 5.0, 300, False, False),
    ("PK11", "神州行基础卡", "Budget Basic", "budget", "prepaid", 18.0, 3.0, 100, False, False),
    ("PK12", "神州行保号套餐", "Budget Number Keeper", "budget", "prepaid", 8.0, 0.5, 0, False, False),
    ("PK13", "5元特惠卡", "5-Yuan Special Card", "budget", "prepaid", 5.0, 10.0, 30, False, True),
    ("PK14", "神州行5G新惠卡", "Budget 5G Lite", "budget", "prepaid", 38.0, 15.0, 100, True, False),
    ("PK15", "神州行5G商务套餐", "Budget 5G Business", "budget", "postpaid", 49.0, 15.0, 300, True, False),
)
PROMO_PACKAGE = 12  # index of PK13

CHANNEL_TYPES = ("own_store", "franchise", "social", "online", "direct_sales")


@dataclass
class Channel:
    channel_id: str
    zh: str
    en: str
    type: str
    county: int  # -1: whole city


def _channels() -> list[Channel]:
    out: list[Channel] = []
    for ci, (_, zh, en, *_rest) in enumerate(COUNTIES):
        out.append(Channel(f"CH{len(out) + 1:02d}", f"{zh}自营厅", f"{en} own store", "own_store", ci))
    for ci in (0, 1, 2, 3, 5):
        zh, en = COUNTIES[ci][1], COUNTIES[ci][2]
        out.append(Channel(f"CH{len(out) + 1:02d}", f"{zh}合作厅", f"{en} franchise store", "franchise", ci))
    for ci in (0, 2, 5, 6):
        zh, en = COUNTIES[ci][1], COUNTIES[ci][2]
        out.append(Channel(f"CH{len(out) + 1:02d}", f"{zh}社会代理点", f"{en} social agent", "social", ci))
    out.append(Channel(f"CH{len(out) + 1:02d}", "网上营业厅及APP", "Online store and app", "online", -1))
    out.append(
        Channel(f"CH{len(out) + 1:02d}", "集团客户经理", "Corporate account managers", "direct_sales", -1)
    )
    return out


CHANNELS: tuple[Channel, ...] = tuple(_channels())


@dataclass
class World:
    """Dimensions and calendars of one simulated operator (arrays indexed by grid/county/package)."""

    grid_ids: list[str]
    grid_names: list[str]
    grid_county: np.ndarray  # county index per grid
    grid_area: list[str]
    blackspot: np.ndarray  # bool per grid
    badness: np.ndarray  # float (months, grids): network badness 0..1 per simulated month
    first_mi: int  # first simulated month (burn-in included)
    start_mi: int  # first written month
    last_mi: int
    promo_launch_mi: int
    sf_months: set[int]
    pushes: tuple[tuple[int, int, int, int], ...]  # (county, competitor, first_mi, last_mi)
    launches: tuple[tuple[int, int, int, int], ...]  # the same, starting at once (injected drift)
    pkg_fee: np.ndarray
    pkg_brand: np.ndarray  # index into BRANDS
    pkg_postpaid: np.ndarray
    pkg_5g: np.ndarray
    pkg_promo: np.ndarray
    channel_type: np.ndarray  # index into CHANNEL_TYPES
    channel_county: np.ndarray
    county_weight: np.ndarray
    county_migrant_heavy: np.ndarray

    @property
    def n_grids(self) -> int:
        return len(self.grid_ids)

    def bad(self, mi: int) -> np.ndarray:
        """Network badness per grid in month ``mi``."""
        return self.badness[mi - self.first_mi]

    def push_boost(self, mi: int, ramp: int = 2) -> np.ndarray:
        """Per county: competitor push intensity in ``mi`` (0..1; ramps up ``ramp`` months before)."""
        out = np.zeros(len(COUNTIES))
        for county, _comp, first, last in self.pushes:
            if first <= mi <= last:
                out[county] = max(out[county], 1.0)
            elif first - ramp <= mi < first:
                out[county] = max(out[county], (mi - (first - ramp) + 1) / (ramp + 1))
        return out

    def pushing(self, mi: int) -> dict[int, int]:
        """County → competitor index of the pushes running in ``mi``."""
        return {county: comp for county, comp, first, last in self.pushes if first <= mi <= last}

    def launching(self, mi: int) -> dict[int, int]:
        """County → competitor index of the launches running in ``mi``."""
        return {county: comp for county, comp, first, last in self.launches if first <= mi <= last}

    def launch_on(self, mi: int) -> np.ndarray:
        """Per county: 1.0 where a launch runs in ``mi``, else 0.0."""
        out = np.zeros(len(COUNTIES))
        for county in self.launching(mi):
            out[county] = 1.0
        return out


def build_world(cfg: SimConfig, rng: np.random.Generator, start_mi: int, months: int) -> World:
    first_mi = start_mi - cfg.burn_in_months
    last_mi = start_mi + months - 1
    grid_ids, grid_names, grid_county, grid_area, blackspot = [], [], [], [], []
    for ci, (cid, zh, _en, kind, _w, ngrid, _mig) in enumerate(COUNTIES):
        for g in range(ngrid):
            grid_ids.append(f"{cid}G{g + 1:02d}")
            grid_names.append(f"{zh}第{g + 1}网格")
            grid_county.append(ci)
            if kind == "county_town" and g >= 2:
                area = "rural"
            elif kind == "industrial" and g == ngrid - 1:
                area = "county_town"
            else:
                area = kind
            grid_area.append(area)
            blackspot.append((ci, g) in BLACKSPOTS)
    n_months = last_mi - first_mi + 1
    ng = len(grid_ids)
    bs = np.array(blackspot)
    base = np.where(bs, rng.uniform(0.6, 0.9, ng), rng.uniform(0.0, 0.15, ng))
    badness = np.clip(base[None, :] + rng.normal(0, 0.04, (n_months, ng)), 0, 1)
    # One black spot is repaired (a new site) at blackspot_fix_offset.
    fixed = int(np.flatnonzero(bs)[0])
    fix_mi = start_mi + cfg.blackspot_fix_offset
    if fix_mi <= last_mi:
        badness[fix_mi - first_mi :, fixed] = np.clip(0.12 + rng.normal(0, 0.03, last_mi - fix_mi + 1), 0, 1)
    pushes = tuple((c, k, start_mi + a, start_mi + b) for c, k, a, b in cfg.competitor_pushes)
    launches = tuple((c, k, start_mi + a, start_mi + b) for c, k, a, b in cfg.competitor_launches)
    from churnradar.simulate.calendar import spring_festival_months

    return World(
        grid_ids=grid_ids,
        grid_names=grid_names,
        grid_county=np.array(grid_county),
        grid_area=grid_area,
        blackspot=bs,
        badness=badness,
        first_mi=first_mi,
        start_mi=start_mi,
        last_mi=last_mi,
        promo_launch_mi=start_mi + min(cfg.promo_launch_offset, months - 1),
        sf_months=spring_festival_months(first_mi, last_mi),
        pushes=pushes,
        launches=launches,
        pkg_fee=np.array([p[5] if not p[9] else cfg.promo_fee for p in PACKAGES]),
        pkg_brand=np.array([BRANDS.index(p[3]) for p in PACKAGES]),
        pkg_postpaid=np.array([p[4] == "postpaid" for p in PACKAGES]),
        pkg_5g=np.array([p[8] for p in PACKAGES]),
        pkg_promo=np.array([p[9] for p in PACKAGES]),
        channel_type=np.array([CHANNEL_TYPES.index(c.type) for c in CHANNELS]),
        channel_county=np.array([c.county for c in CHANNELS]),
        county_weight=np.array([c[4] for c in COUNTIES]) / sum(c[4] for c in COUNTIES),
        county_migrant_heavy=np.array([c[6] for c in COUNTIES]),
    )


# ---- dimension tables (columns in schema order; raw values) -------------------------------------


def region_rows(world: World) -> dict[str, list]:
    return {
        "grid_id": world.grid_ids,
        "grid_name": world.grid_names,
        "county_id": [COUNTIES[c][0] for c in world.grid_county],
        "county_name": [COUNTIES[c][1] for c in world.grid_county],
        "county_name_en": [COUNTIES[c][2] for c in world.grid_county],
        "city": [CITY] * world.n_grids,
        "area_type": world.grid_area,
    }


def package_rows(world: World) -> dict[str, list]:
    return {
        "package_id": [p[0] for p in PACKAGES],
        "package_name": [p[1] for p in PACKAGES],
        "package_name_en": [p[2] for p in PACKAGES],
        "brand": [p[3] for p in PACKAGES],
        "payment_type": [p[4] for p in PACKAGES],
        "monthly_fee": [float(x) for x in world.pkg_fee],
        "data_gb": [p[6] for p in PACKAGES],
        "voice_min": [p[7] for p in PACKAGES],
        "is_5g": [p[8] for p in PACKAGES],
        "is_promotion": [p[9] for p in PACKAGES],
    }


def channel_rows() -> dict[str, list]:
    return {
        "channel_id": [c.channel_id for c in CHANNELS],
        "channel_name": [c.zh for c in CHANNELS],
        "channel_name_en": [c.en for c in CHANNELS],
        "channel_type": [c.type for c in CHANNELS],
        "county_id": [COUNTIES[c.county][0] if c.county >= 0 else None for c in CHANNELS],
    }


def competitor_rows() -> dict[str, list]:
    return {
        "competitor_id": [c[0] for c in COMPETITORS],
        "competitor_name": [c[1] for c in COMPETITORS],
        "competitor_name_en": [c[2] for c in COMPETITORS],
    }


def promotion_rows(world: World, cfg: SimConfig) -> dict[str, list]:
    """Acquisition promotions and channel-commission changes (month indices; the writer formats)."""
    s, e, launch = world.start_mi, world.last_mi, world.promo_launch_mi
    promo_id = PACKAGES[PROMO_PACKAGE][0]
    rows = [
        (
            "PR001",
            "commission_change",
            None,
            "social",
            None,
            world.first_mi,
            launch - 1 if launch > s else s,
            cfg.commission_before,
            "社会渠道新入网酬金（标准）",
            "Social-channel commission per new line (standard)",
        ),
        (
            "PR002",
            "acquisition_promotion",
            promo_id,
            "social",
            None,
            launch,
            e,
            None,
            f"{cfg.promo_fee:g}元/月特惠卡：首月免费，赠10GB流量",
            f"{cfg.promo_fee:g} yuan/month special card: first month free; 10 GB data included",
        ),
        (
            "PR003",
            "commission_change",
            promo_id,
            "social",
            None,
            launch,
            e,
            cfg.commission_after,
            "社会渠道特惠卡酬金上调",
            "Raised social-channel commission for the special card",
        ),
        (
            "PR004",
            "acquisition_promotion",
            "PK05",
            "own_store",
            None,
            s,
            min(s + 2, e),
            None,
            "动感地带5G潮玩卡开学季：预存50送50",
            "Youth 5G Play back-to-school: prepay 50 get 50",
        ),
        (
            "PR005",
            "acquisition_promotion",
            "PK09",
            None,
            "YC03",
            min(s + 4, e),
            min(s + 6, e),
            None,
            "神州行5G家庭套餐：加入家庭V网副卡免费",
            "Budget 5G Family: free extra family V-net lines",
        ),
        (
            "PR006",
            "commission_change",
            None,
            "franchise",
            None,
            min(s + 5, e),
            e,
            45.0,
            "合作厅新入网酬金调整",
            "Franchise-store commission per new line revised",
        ),
    ]
    cols = [
        "promotion_id",
        "kind",
        "package_id",
        "channel_type",
        "county_id",
        "start_month",
        "end_month",
        "commission_yuan",
        "terms",
        "terms_en",
    ]
    return {c: [r[i] for r in rows] for i, c in enumerate(cols)}


def network_quality_arrays(world: World, mi: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Drop rate, throughput and coverage per grid, driven by the month's network badness."""
    b = world.bad(mi)
    n = world.n_grids
    return {
        "drop_rate": np.round(np.clip(0.003 + 0.035 * b + rng.normal(0, 0.001, n), 0.0005, 1), 4),
        "throughput_mbps": np.round(np.clip(140 * (1 - 0.8 * b) * rng.lognormal(0, 0.08, n), 1, 10_000), 2),
        "coverage_score": np.round(np.clip(96 - 45 * b + rng.normal(0, 1.5, n), 0, 100), 2),
    }


def month_days(mi: int) -> int:
    return int(days_in_month(mi))


def first_day(mi: int) -> int:
    return int(month_first_day(mi))
