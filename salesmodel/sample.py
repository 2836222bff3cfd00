"""The demo company: a deterministic distributor in mainland China.

A distributor sells product lines A, B and C through the online, offline and
partner channels. Five regions hold the 31 provinces (real names, capitals,
2020-census populations and land borders, embedded in ``salesmodel/data``);
about 60 reps serve about 3,000 customers placed near real cities. The daily
history has what a planner expects to see: growth that differs by region,
product and channel; monthly seasonality per product; the Spring Festival on
its real lunar dates (stocking up before it, a deep dip during it, a slow
restart after it); a month-end push within each dekad (旬); fewer offline
orders at weekends and on public holidays (make-up working days count as
working days); 618 and Double 11 for online; new, churned and declining
customers; noise. Orders are sparse: a customer orders a few times a month.

Regions (documented choice): NE = Liaoning, Jilin, Heilongjiang;
N = Beijing, Tianjin, Hebei, Shanxi, Inner Mongolia and the north-west
(Shaanxi, Gansu, Qinghai, Ningxia, Xinjiang); E = Shanghai, Jiangsu, Zhejiang,
Anhui, Fujian, Jiangxi, Shandong; S = Guangdong, Guangxi, Hainan;
C = Henan, Hubei, Hunan and the south-west (Chongqing, Sichuan, Guizhou,
Yunnan, Xizang). Every region is one connected block on the border graph.

Adjacency: land borders only, plus one ``sea`` link Guangdong–Hainan (the
Qiongzhou Strait ferry) so that the island province is not cut off; the
``kind`` column says which.

Same seed, same arguments: identical tables.

Examples
--------
>>> from salesmodel.sample import make_company
>>> company = make_company(seed=1, n_customers=200, n_reps=10)
>>> sorted(company)
['adjacency', 'customers', 'org', 'provinces', 'reps', 'sales']
>>> len(company["provinces"])
31
"""

from __future__ import annotations

import os
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from salesmodel.domain.constraints import param_error
from salesmodel.errors import ParamsError

__all__ = [
    "CHANNELS",
    "FILE_NAMES",
    "OPTIONAL_FILE_NAMES",
    "PRODUCTS",
    "REGIONS",
    "make_company",
    "reference_tables",
    "write_company",
]

PRODUCTS = ("A", "B", "C")
CHANNELS = ("online", "offline", "partner")
TIERS = ("VIP", "first", "second", "other")
CUSTOMER_TYPES = ("wholesaler", "retailer", "supermarket", "online_store")

# region_id -> (name_en, name_zh)
REGIONS = {
    "NE": ("North-East", "东北", "Noreste"),
    "N": ("North", "华北", "Norte"),
    "E": ("East", "华东", "Este"),
    "S": ("South", "华南", "Sur"),
    "C": ("Central", "华中", "Centro"),
}
COMPANY = ("CO", "Demo Trading Co.", "示范商贸有限公司", "Comercial Demo S.A.")

# Where write_company puts each table (the same names as params.DataParams defaults).
FILE_NAMES = {
    "sales": "sales.parquet",
    "customers": "customers.csv",
    "reps": "reps.csv",
    "org": "org.csv",
    "provinces": "provinces.csv",
    "adjacency": "province_adjacency.csv",
}
# Written only when asked for (make_company's actuals_to, stock_on).
OPTIONAL_FILE_NAMES = {"actuals": "actuals.parquet", "stock": "stock.csv"}

_SF_NAME = "Chinese New Year (Spring Festival)"
_MID_AUTUMN_NAME = "Mid-Autumn Festival"

# --- the company's economics -------------------------------------------------
# List price per unit (yuan) in the first year, and its rise each 1 January.
_LIST_PRICE = np.array([45.0, 128.0, 388.0])
_PRICE_RISE = np.array([0.0, 0.03, 0.05])
# Annual growth of demand: by region (order frequency), product and channel (order size).
_REGION_GROWTH = {"NE": -0.04, "N": 0.02, "E": 0.04, "S": 0.05, "C": 0.07}
_PRODUCT_GROWTH = np.array([-0.02, 0.03, 0.10])
_CHANNEL_GROWTH = np.array([0.12, -0.03, 0.04])
# Monthly seasonality per product (Jan..Dec, mean 1): A everyday drinks peak in
# summer, B staples before the year end, C gift boxes before Mid-Autumn and the New Year.
_PRODUCT_SEASON = np.array(
    [
        [1.00, 0.80, 0.90, 0.95, 1.05, 1.15, 1.20, 1.20, 1.05, 0.95, 0.85, 0.90],
        [1.10, 0.78, 0.95, 0.95, 0.95, 1.00, 0.90, 0.95, 1.10, 1.02, 1.05, 1.25],
        [1.45, 0.62, 0.70, 0.80, 0.85, 0.85, 0.80, 1.00, 1.40, 1.08, 1.00, 1.45],
    ]
)
_PRODUCT_SEASON = _PRODUCT_SEASON / _PRODUCT_SEASON.mean(axis=1, keepdims=True)

# Per customer type: share of customers, yearly purchases at the start (yuan),
# orders per month, price discount, product value mix.
_TYPE_SHARE = np.array([0.16, 0.44, 0.26, 0.14])
_TYPE_SCALE = np.array([900_000.0, 55_000.0, 220_000.0, 350_000.0])
_TYPE_ORDERS = np.array([12.0, 5.0, 8.0, 14.0])
_TYPE_DISCOUNT = np.array([0.18, 0.0, 0.10, 0.12])
_TYPE_MIX = np.array(
    [
        [0.45, 0.40, 0.15],
        [0.55, 0.35, 0.10],
        [0.40, 0.40, 0.20],
        [0.25, 0.35, 0.40],
    ]
)
_PARTNER_DISCOUNT = 0.06
_PROMO_DISCOUNT = 0.08  # online, during 618 and Double 11

_SURNAMES = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
_GIVEN = list(
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超霞平刚桂英华玉萍红梅鑫斌宇浩凯健俊帆帅旭宁晨欣悦婷雪琳颖佳慧倩蕾鹏飞波辉峰建国志文博瑞天翔"
)
# Words of shop and company names (invented, common in real ones).
_SHOP_TEXT = (
    "鑫源 华泰 永盛 福瑞 金达 恒通 佳和 宏图 天润 万家 顺发 利民 嘉禾 兴隆 隆昌 鼎盛 瑞祥 长盛 盛源 和美 "
    "康乐 美佳 新世纪 百顺 富华 万隆 鸿运 祥和 吉祥 优品 诚信 惠民 四季 阳光 东方 金穗 丰源 广源 德信 明珠 "
    "春晖 红星 银河 绿源 益民 泰和 安康 天和 聚宝 众联 万福 宏达 昌盛 荣华 信达 同心 和顺 家乐 乐安 好运 "
    "喜来 富民 汇通"
)
_SHOP_WORDS = tuple(_SHOP_TEXT.split())
_TYPE_SUFFIX = (
    ("商贸有限公司", "贸易有限公司", "食品批发部", "商行", "供应链有限公司"),
    ("便利店", "烟酒店", "副食店", "百货店", "食品店"),
    ("超市", "购物广场", "生活超市", "量贩店"),
    ("旗舰店", "专营店", "网店", "电商"),
)


def reference_tables() -> dict[str, pd.DataFrame]:
    """The embedded reference data: provinces, adjacency and cities.

    ``provinces``: the 31 mainland provinces (ISO 3166-2:CN codes without
    ``CN-``), pinyin names as in ISO 3166-2, region, capital with coordinates,
    2020-census population and approximate 2023 GDP per head (yuan).
    ``adjacency``: one row per bordering pair (``province_a < province_b``),
    ``kind`` land or sea. ``cities``: the capital and major prefecture-level
    cities of each province with coordinates and 2020-census population.
    """
    data = resources.files("salesmodel") / "data"
    tables = {}
    for key, name in (
        ("provinces", "provinces.csv"),
        ("adjacency", "province_adjacency.csv"),
        ("cities", "cities.csv"),
    ):
        with data.joinpath(name).open("r", encoding="utf-8") as fh:
            tables[key] = pd.read_csv(fh, keep_default_na=False, dtype={"population": "int64"})
    return tables


MAX_REPS = 20_000
# Measured (sample of 3,000 and 12,000 customers): about 557 order lines per customer over 1,400 days of
# history, and a peak of about 250 MB plus 120 bytes per order line while they are generated and sorted.
LINES_PER_CUSTOMER_DAY = 557 / 1400
PEAK_BYTES_BASE = 250e6
PEAK_BYTES_PER_LINE = 120.0


def estimated_peak_bytes(n_customers: int, start: Any, end: Any, *, with_actuals: bool = False) -> float:
    """The memory :func:`write_company` needs at its peak for this company, from the measured rate.

    >>> round(estimated_peak_bytes(3000, "2023-01-01", "2026-10-31") / 1e6)
    451
    """
    days = (pd.Timestamp(end) - pd.Timestamp(start)).days + 1
    lines = n_customers * days * LINES_PER_CUSTOMER_DAY
    if with_actuals:  # the plan year's sales are drawn over the whole span again, beside the history
        lines += n_customers * (days + 365) * LINES_PER_CUSTOMER_DAY
    return PEAK_BYTES_BASE + PEAK_BYTES_PER_LINE * lines


def _check_args(
    seed: Any, n_customers: Any, n_reps: Any, start: Any, end: Any
) -> tuple[pd.Timestamp, pd.Timestamp]:
    def is_int(v: Any) -> bool:
        return isinstance(v, (int, np.integer)) and not isinstance(v, bool)

    if not is_int(seed) or seed < 0:
        raise param_error("seed", "make_company", "an int >= 0", seed)
    if not is_int(n_reps) or not 5 <= n_reps <= MAX_REPS:
        raise param_error("n_reps", "make_company", f"an int in [5, {MAX_REPS}] (at least one rep per region)", n_reps)
    if not is_int(n_customers) or not n_reps <= n_customers <= 1_000_000:
        raise param_error("n_customers", "make_company", f"an int in [n_reps, 1000000] = [{n_reps}, 1000000]", n_customers)
    stamps = []
    for name, value in (("start", start), ("end", end)):
        try:
            stamp = pd.Timestamp(value)
        except (ValueError, TypeError):
            raise param_error(name, "make_company", "a date such as '2023-01-01'", value) from None
        if stamp is pd.NaT or stamp != stamp.normalize():
            raise param_error(name, "make_company", "a date such as '2023-01-01' (a day, no time)", value)
        stamps.append(stamp)
    start_ts, end_ts = stamps
    if (end_ts - start_ts).days < 90:
        raise param_error("end", "make_company", f"at least 90 days after start ({start_ts.date()})", end)
    return start_ts, end_ts


# --- calendar multipliers -----------------------------------------------------


def _festival_days(years: range) -> tuple[np.ndarray, np.ndarray, set[date], set[date]]:
    """Spring Festival and Mid-Autumn days, public holidays and make-up working days (China)."""
    import holidays

    cn = holidays.China(years=years, language="en_US")
    spring, autumn = {}, {}
    for day, name in cn.items():
        if name == _SF_NAME:
            spring[day.year] = min(day, spring.get(day.year, day))
        elif name == _MID_AUTUMN_NAME:
            autumn[day.year] = min(day, autumn.get(day.year, day))
    missing = [y for y in years if y not in spring]
    if missing:
        raise ParamsError(
            f"The holidays package has no Spring Festival date for {missing}; use an earlier end date."
        )
    return (
        np.array(sorted(spring.values()), dtype="datetime64[D]"),
        np.array(sorted(autumn.values()), dtype="datetime64[D]"),
        set(cn.keys()),
        set(cn.weekend_workdays),
    )


def _offset_to_nearest(days: np.ndarray, events: np.ndarray) -> np.ndarray:
    """Days from each day to the nearest event day (negative = before it)."""
    diff = (days[:, None] - events[None, :]).astype(np.int64)
    pick = np.abs(diff).argmin(axis=1)
    return diff[np.arange(len(days)), pick]


def _spring_festival(offset: np.ndarray, online: bool) -> np.ndarray:
    """Order multiplier around the Spring Festival (offset 0 = lunar new year's day)."""
    if online:
        bands = [(-21, -8, 1.20), (-7, -1, 0.80), (0, 6, 0.35), (7, 13, 0.70), (14, 20, 0.90)]
    else:
        # Shops stock up for the holiday, close for it, and restart slowly until Lantern Festival.
        bands = [
            (-30, -22, 1.15),
            (-21, -8, 1.50),
            (-7, -3, 1.25),
            (-2, -1, 0.45),
            (0, 6, 0.06),
            (7, 9, 0.35),
            (10, 16, 0.65),
            (17, 24, 0.85),
        ]
    mult = np.ones(len(offset))
    for lo, hi, value in bands:
        mult[(offset >= lo) & (offset <= hi)] = value
    return mult


def _calendar_multipliers(days: np.ndarray) -> np.ndarray:
    """Order-rate multiplier per channel and day, shape (3, n_days), mean 1 per channel."""
    ts = pd.DatetimeIndex(days)
    years = range(int(ts.year.min()) - 1, int(ts.year.max()) + 2)
    spring, autumn, holiday_set, workday_set = _festival_days(years)
    sf_offset = _offset_to_nearest(days, spring)
    ma_offset = _offset_to_nearest(days, autumn)

    weekday = ts.weekday.to_numpy()
    dom = ts.day.to_numpy()
    month = ts.month.to_numpy()
    month_len = ts.days_in_month.to_numpy()
    as_date = ts.date
    is_holiday = np.fromiter((d in holiday_set for d in as_date), bool, len(days))
    is_makeup = np.fromiter((d in workday_set for d in as_date), bool, len(days))
    in_sf_window = (sf_offset >= -2) & (sf_offset <= 9)

    # Offline and partner trade is B2B: working days matter; online peaks at weekends.
    b2b_week = np.array([1.12, 1.05, 1.02, 1.00, 1.08, 0.42, 0.22])[weekday]
    b2b_week = np.where(is_makeup, 0.95, b2b_week)
    b2b_week = np.where(is_holiday & ~in_sf_window, 0.25, b2b_week)
    online_week = np.array([0.92, 0.90, 0.92, 0.95, 1.05, 1.20, 1.28])[weekday]
    online_week = np.where(is_holiday & ~in_sf_window, 1.10, online_week)

    # Push at the end of each dekad (旬), strongest at month end; the first days are quiet.
    dekad_end = np.where(dom <= 10, 10, np.where(dom <= 20, 20, month_len))
    to_end = dekad_end - dom
    third = dom > 20
    push = np.ones(len(days))
    push[(to_end == 0) & ~third] = 1.30
    push[(to_end == 1) & ~third] = 1.15
    for k, value in enumerate((1.90, 1.55, 1.30, 1.12)):
        push[(to_end == k) & third] = value
    push[dom <= 3] = 0.80
    online_push = 1 + (push - 1) * 0.4

    # Online promotions: 618 and Double 11 (with pre-sale), Double 12; a lull after each.
    promo = np.ones(len(days))
    june, octo, nov, dec = month == 6, month == 10, month == 11, month == 12
    promo[june & (dom <= 15)] = 1.35
    promo[june & (dom >= 16) & (dom <= 18)] = 2.60
    promo[june & (dom >= 19) & (dom <= 25)] = 0.75
    promo[octo & (dom >= 20)] = 1.50
    promo[nov & (dom <= 10)] = 1.70
    promo[nov & (dom == 11)] = 4.00
    promo[nov & (dom >= 12) & (dom <= 18)] = 0.75
    promo[dec & (dom >= 10) & (dom <= 12)] = 1.60

    # Gift stocking before Mid-Autumn (offline and partners), partners' quarter-end rebate push.
    mid_autumn = np.where((ma_offset >= -20) & (ma_offset <= -4), 1.25, 1.0)
    quarter_end = np.where((month % 3 == 0) & third, 1.25, 1.0)

    online = online_week * online_push * promo * _spring_festival(sf_offset, online=True)
    offline = b2b_week * push * mid_autumn * _spring_festival(sf_offset, online=False)
    partner = offline * quarter_end
    mult = np.vstack([online, offline, partner])
    return mult / mult.mean(axis=1, keepdims=True)


def _promo_days(days: np.ndarray) -> np.ndarray:
    """Days with the online promotion discount (618 and Double 11 sale periods)."""
    ts = pd.DatetimeIndex(days)
    month, dom = ts.month.to_numpy(), ts.day.to_numpy()
    return ((month == 6) & (dom <= 18)) | ((month == 11) & (dom <= 11))


# --- the organisation ---------------------------------------------------------


def _allocate_reps(provinces: pd.DataFrame, market: np.ndarray, n_reps: int) -> np.ndarray:
    """Reps per province in proportion to market size (D'Hondt, deterministic).

    With at least 31 reps every province gets one; with fewer, the largest
    market of each region gets one first and the rest go by market.
    """
    n = len(provinces)
    alloc = np.zeros(n, dtype=np.int64)
    if n_reps >= n:
        alloc[:] = 1
    else:
        for region in REGIONS:
            members = np.flatnonzero(provinces["region_id"].to_numpy() == region)
            alloc[members[np.argmax(market[members])]] = 1
    for _ in range(n_reps - int(alloc.sum())):
        alloc[np.argmax(market / (alloc + 1))] += 1  # argmax takes the first on ties
    return alloc


def _largest_remainder(weights: np.ndarray, total: int, minimum: np.ndarray) -> np.ndarray:
    """Integers >= minimum, adding up to total, in proportion to weights (ties to the first)."""
    free = total - int(minimum.sum())
    quota = weights / weights.sum() * free
    base = np.floor(quota).astype(np.int64)
    rest = free - int(base.sum())
    order = np.argsort(-(quota - base), kind="stable")
    base[order[:rest]] += 1
    return minimum + base


def _unique_names(rng: np.random.Generator, make, n: int) -> list[str]:
    """n distinct names from make(rng); retries, then numbers the rare leftovers."""
    seen: set[str] = set()
    names = []
    for i in range(n):
        for _ in range(8):
            name = make(rng, i)
            if name not in seen:
                break
        else:
            base, k = name, 2
            while f"{base}{k}号" in seen:
                k += 1
            name = f"{base}{k}号"
        seen.add(name)
        names.append(name)
    return names


def _person_name(rng: np.random.Generator, _i: int) -> str:
    # Indexing the lists by drawn integers is much faster than rng.choice on a list.
    given = "".join(_GIVEN[k] for k in rng.integers(len(_GIVEN), size=int(rng.integers(1, 3))))
    return _SURNAMES[int(rng.integers(len(_SURNAMES)))] + given


def _haversine_km(lat1, lon1, lat2, lon2) -> np.ndarray:
    lat1, lon1, lat2, lon2 = (
        np.radians(np.asarray(v, dtype=float)) for v in (lat1, lon1, lat2, lon2)
    )
    a = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    )
    return 6371.0 * 2 * np.arcsin(np.sqrt(a))


def _build_org(provinces: pd.DataFrame) -> pd.DataFrame:
    rows = [
        {
            "unit_id": COMPANY[0],
            "parent_id": np.nan,
            "level": "company",
            "name_en": COMPANY[1],
            "name_zh": COMPANY[2],
            "name_es": COMPANY[3],
        }
    ]
    for region, (en, zh, es) in REGIONS.items():
        rows.append(
            {
                "unit_id": region,
                "parent_id": COMPANY[0],
                "level": "region",
                "name_en": en,
                "name_zh": zh,
                "name_es": es,
            }
        )
    for p in provinces.itertuples():
        rows.append(
            {
                "unit_id": p.province_id,
                "parent_id": p.region_id,
                "level": "province",
                "name_en": p.name_en,
                "name_zh": p.name_zh,
                "name_es": p.name_es,
            }
        )
    return pd.DataFrame(rows, columns=["unit_id", "parent_id", "level", "name_en", "name_zh", "name_es"])


# --- the generator ------------------------------------------------------------


def make_company(
    *,
    seed: int = 42,
    n_customers: int = 3000,
    n_reps: int = 60,
    start: str | date = "2023-01-01",
    end: str | date = "2026-10-31",
    actuals_to: str | date | None = None,
) -> dict[str, pd.DataFrame]:
    """Generate the demo company's tables, deterministically from ``seed``.

    Parameters
    ----------
    seed : int, default=42
        Seed of the one random generator used.
    n_customers : int, default=3000
        Customers (at least ``n_reps``).
    n_reps : int, default=60
        Sales reps, including a few who left during the history (their
        customers were handed to colleagues). With fewer than 31 reps some
        provinces have no rep and no customers.
    start, end : str or date, default="2023-01-01", "2026-10-31"
        First and last day of the sales history (at least 90 days apart).
    actuals_to : str or date, optional
        Also write the plan year's sales (the year after ``end``) from 1 January to this day
        (key ``actuals``, the sales table's columns): the same customers going on as in the
        history, drawn from their own random stream, so the history is the same with or without.
        Also a stock count at the end of that day (key ``stock``: date, customer_id, product,
        units) at one store in eight, between one and eight days of its recent sales.

    Returns
    -------
    dict of str to DataFrame
        ``sales`` (one row per order line: date, customer_id, product,
        channel, amount, units; unique on the first four), ``customers``,
        ``reps``, ``org``, ``provinces`` and ``adjacency``, with the columns of
        the data contract (plus ``gdp_per_capita`` in provinces, ``kind`` in
        adjacency and the rep's base city in reps).

    Examples
    --------
    >>> company = make_company(seed=3, n_customers=150, n_reps=8, start="2025-01-01", end="2025-12-31")
    >>> sales = company["sales"]
    >>> bool(sales["customer_id"].isin(company["customers"]["customer_id"]).all())
    True
    >>> sorted(sales["product"].unique())
    ['A', 'B', 'C']
    """
    start_ts, end_ts = _check_args(seed, n_customers, n_reps, start, end)
    actuals_ts = _check_actuals_to(actuals_to, end_ts)
    rng = np.random.default_rng(seed)
    ref = reference_tables()
    provinces, cities = ref["provinces"], ref["cities"]
    adjacency = ref["adjacency"].sort_values(["province_a", "province_b"], ignore_index=True)

    gdp = provinces["gdp_per_capita"].to_numpy(float)
    # Market size: people times spending power (GDP per head, damped).
    market = provinces["population"].to_numpy(float) * (gdp / np.median(gdp)) ** 0.8

    reps = _make_reps(rng, provinces, cities, market, n_reps, end_ts)
    customers, drivers = _make_customers(
        rng, provinces, cities, market, reps, n_customers, start_ts, end_ts
    )
    sales = _make_sales(rng, customers, drivers, start_ts, end_ts)
    extra = {}
    if actuals_ts is not None:
        extra["actuals"] = _plan_year_sales(seed, customers, drivers, start_ts, end_ts, actuals_ts)
        extra["stock"] = _stock_snapshot(seed, extra["actuals"], actuals_ts)
    customers = _finish_customers(customers, drivers, sales, start_ts, end_ts)
    reps = reps.drop(columns=["_active"])
    return {
        **extra,
        "sales": sales,
        "customers": customers,
        "reps": reps,
        "org": _build_org(provinces),
        "provinces": provinces.reset_index(drop=True),
        "adjacency": adjacency,
    }


def _check_actuals_to(actuals_to: Any, end_ts: pd.Timestamp) -> pd.Timestamp | None:
    if actuals_to is None:
        return None
    try:
        stamp = pd.Timestamp(actuals_to)
    except (ValueError, TypeError):
        stamp = pd.NaT
    first = pd.Timestamp(year=end_ts.year + 1, month=1, day=1)
    if stamp is pd.NaT or stamp != stamp.normalize() or not first <= stamp <= first + pd.DateOffset(years=1, days=-1):
        raise param_error(
            "actuals_to",
            "make_company",
            f"a day of the plan year {first.year} (the year after the history's end {end_ts.date()})",
            actuals_to,
        )
    return stamp


def _plan_year_sales(seed: int, customers: pd.DataFrame, drivers: dict, start_ts: pd.Timestamp,
                     end_ts: pd.Timestamp, actuals_ts: pd.Timestamp) -> pd.DataFrame:
    """The plan year's sales to ``actuals_ts``: the history's customers carry on (the churned stay gone),
    drawn from the whole span with a random stream of their own, and cut to the plan year."""
    span = int((actuals_ts - start_ts).days) + 1
    carry = dict(drivers)
    gone = drivers["churn"]
    carry["churn_day"] = np.where(gone, drivers["churn_day"], span + 1)
    carry["decline_from"] = np.where(drivers["decline_from"] >= int((end_ts - start_ts).days) + 1, span + 1,
                                     drivers["decline_from"])
    sales = _make_sales(np.random.default_rng([seed, 2027]), customers, carry, start_ts, actuals_ts)
    first = pd.Timestamp(year=end_ts.year + 1, month=1, day=1)
    return sales.loc[sales["date"] >= first].reset_index(drop=True)


def _stock_snapshot(seed: int, actuals: pd.DataFrame, day: pd.Timestamp) -> pd.DataFrame:
    """Units on hand at the end of ``day`` at every eighth store with recent sales: 1 to 8 days of them."""
    recent = actuals[actuals["date"] > day - pd.Timedelta(days=30)]
    per_day = recent.groupby(["customer_id", "product"], sort=True)["units"].sum() / 30.0
    stores = sorted(per_day.index.get_level_values(0).unique())[::8]
    per_day = per_day[per_day.index.get_level_values(0).isin(stores)]
    days = np.random.default_rng([seed, 2028]).uniform(1.0, 8.0, len(per_day))
    units = np.maximum(0, np.round(per_day.to_numpy() * days)).astype(np.int64)
    out = per_day.reset_index()[["customer_id", "product"]]
    out.insert(0, "date", day)
    out["units"] = units
    return out


def _make_reps(rng, provinces, cities, market, n_reps, end_ts) -> pd.DataFrame:
    alloc = _allocate_reps(provinces, market, n_reps)
    rows = []
    for p, k in zip(provinces.itertuples(), alloc):
        # Bases: the capital first, then the biggest cities; big provinces put
        # several reps in one city.
        own = cities[cities["province_id"] == p.province_id].sort_values(
            ["is_capital", "population"], ascending=False
        )
        n_bases = min(len(own), k - k // 3)
        for i in range(k):
            c = own.iloc[i % n_bases]
            rows.append(
                {
                    "province_id": p.province_id,
                    "region_id": p.region_id,
                    "base_city_zh": c.city_zh,
                    "base_city_en": c.city_en,
                    "base_lat": float(c.lat),
                    "base_lon": float(c.lon),
                }
            )
    reps = pd.DataFrame(rows)
    n = len(reps)
    reps.insert(0, "rep_id", [f"R{i + 1:03d}" for i in range(n)])
    reps.insert(1, "rep_name", _unique_names(rng, _person_name, n))

    end_day = np.datetime64(end_ts.date(), "D")
    tenure_days = np.where(
        rng.random(n) < 0.15, rng.integers(30, 365, n), rng.integers(365, 365 * 12, n)
    )
    hire = end_day - tenure_days
    # A few reps left during the last ten months; their customers went to colleagues.
    leave = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    counts = reps["province_id"].map(reps["province_id"].value_counts()).to_numpy()
    can_leave = np.flatnonzero((counts >= 2) & (tenure_days > 400))
    n_leave = min(len(can_leave), round(0.05 * n))
    leavers = (
        np.sort(rng.choice(can_leave, size=n_leave, replace=False))
        if n_leave
        else np.array([], int)
    )
    has_leaver: set[str] = set()
    for i in leavers:  # at most one leaver per province, so every staffed province keeps a rep
        if reps.at[i, "province_id"] in has_leaver:
            continue
        has_leaver.add(reps.at[i, "province_id"])
        leave[i] = end_day - int(rng.integers(20, 300))
    reps["role"] = "account_manager"
    reps["hire_date"] = pd.to_datetime(hire).astype("datetime64[ns]")
    reps["leave_date"] = pd.to_datetime(leave).astype("datetime64[ns]")
    reps["_active"] = reps["leave_date"].isna()
    # The longest-serving active rep of a province with three or more reps manages it.
    for _, group in reps[reps["_active"]].groupby("province_id", sort=False):
        if len(reps[reps["province_id"] == group["province_id"].iloc[0]]) >= 3:
            reps.loc[group["hire_date"].idxmin(), "role"] = "province_manager"
    return reps[
        [
            "rep_id",
            "rep_name",
            "province_id",
            "region_id",
            "role",
            "hire_date",
            "leave_date",
            "base_city_zh",
            "base_city_en",
            "base_lat",
            "base_lon",
            "_active",
        ]
    ]


def _make_customers(rng, provinces, cities, market, reps, n_customers, start_ts, end_ts):
    active = reps[reps["_active"]]
    staffed = provinces["province_id"].isin(active["province_id"]).to_numpy()
    min_per_province = np.where(
        staffed, provinces["province_id"].map(active["province_id"].value_counts()).fillna(0), 0
    )
    per_province = _largest_remainder(
        np.where(staffed, market, 0.0), n_customers, min_per_province.astype(np.int64)
    )

    prov_idx = np.repeat(np.arange(len(provinces)), per_province)
    n = len(prov_idx)
    pid = provinces["province_id"].to_numpy()[prov_idx]
    region = provinces["region_id"].to_numpy()[prov_idx]
    gdp = provinces["gdp_per_capita"].to_numpy(float)[prov_idx]

    # City: in proportion to population (damped), the capital counts extra.
    city_idx = np.empty(n, dtype=np.int64)
    for p, rows in pd.Series(np.arange(n)).groupby(prov_idx):
        own = np.flatnonzero(cities["province_id"].to_numpy() == provinces["province_id"].iloc[p])
        w = cities["population"].to_numpy(float)[own] ** 0.8 * np.where(
            cities["is_capital"].to_numpy()[own] == 1, 1.6, 1.0
        )
        city_idx[rows.to_numpy()] = rng.choice(own, size=len(rows), p=w / w.sum())
    city = cities.iloc[city_idx]
    city_pop = city["population"].to_numpy(float)
    spread = 0.03 + 0.025 * np.sqrt(city_pop / 1e6)  # degrees: bigger cities sprawl further
    lat = city["lat"].to_numpy() + np.clip(rng.normal(0, 1, n), -2.5, 2.5) * spread
    lon = city["lon"].to_numpy() + np.clip(rng.normal(0, 1, n), -2.5, 2.5) * spread / np.cos(
        np.radians(city["lat"].to_numpy())
    )

    # Type: online stores and supermarkets are more common in big cities.
    big = (city_pop > 8e6).astype(float)
    type_w = _TYPE_SHARE[None, :] * np.column_stack(
        [np.ones(n), 1 - 0.2 * big, 1 + 0.3 * big, 1 + 0.3 * big]
    )
    type_w /= type_w.sum(axis=1, keepdims=True)
    ctype = (rng.random(n)[:, None] > np.cumsum(type_w, axis=1)).sum(axis=1)

    # Nearest active rep of the province (several reps in one city share it at random).
    rep_id = np.empty(n, dtype=object)
    for p, rows in pd.Series(np.arange(n)).groupby(prov_idx):
        rows = rows.to_numpy()
        mine = active[active["province_id"] == provinces["province_id"].iloc[p]]
        dist = _haversine_km(
            lat[rows, None],
            lon[rows, None],
            mine["base_lat"].to_numpy()[None, :],
            mine["base_lon"].to_numpy()[None, :],
        )
        dist = (
            dist + rng.random(dist.shape) * 1e-3 + (dist < 60) * rng.random(dist.shape) * 60
        )  # same city: random
        pick = dist.argmin(axis=1)
        # Every active rep has at least one customer: an empty book gets the nearest
        # customer of a fuller one.
        for j in range(len(mine)):
            if (pick == j).any():
                continue
            counts = np.bincount(pick, minlength=len(mine))
            donors = np.flatnonzero(counts[pick] > 1)
            pick[donors[np.argmin(dist[donors, j])]] = j
        rep_id[rows] = mine["rep_id"].to_numpy()[pick]

    # Dynamics: who was there before the history, who is new, who churns or declines.
    days = int((end_ts - start_ts).days) + 1
    new = rng.random(n) < 0.22
    start_day = np.where(new, rng.integers(30, max(31, days - 30), n), 0)
    since = rng.integers(60, 365 * 12, n)  # existing customers' years with the company
    churn = (rng.random(n) < 0.15) & (start_day + 150 < days - 30)
    churn_day = np.where(
        churn,
        [int(rng.integers(s + 150, days - 30)) if c else days for s, c in zip(start_day, churn)],
        days,
    )
    decline = (~churn) & (rng.random(n) < 0.12)
    decline_from = np.where(decline, rng.integers(0, max(1, days // 2), n), days)
    decline_rate = np.where(decline, rng.uniform(-0.60, -0.25, n), 0.0)

    rep_skill = pd.Series(np.exp(rng.normal(0, 0.12, len(reps))), index=reps["rep_id"])
    scale = (
        _TYPE_SCALE[ctype]
        * np.exp(rng.normal(-0.245, 0.7, n))
        * (city_pop / 3e6) ** 0.25
        * (gdp / 80_000) ** 0.6
        * rep_skill.reindex(rep_id).to_numpy()
    )
    orders_per_month = _TYPE_ORDERS[ctype] * np.exp(rng.normal(-0.045, 0.3, n))
    wallet_share = rng.beta(2.0, 4.0, n) * 0.8 + 0.05
    potential = np.round(scale / wallet_share * np.exp(rng.normal(0, 0.15, n)), -2)

    mix = np.vstack([rng.dirichlet(_TYPE_MIX[t] * 20) for t in ctype])
    channel_w = _channel_weights(rng, ctype)
    growth = np.array([_REGION_GROWTH[r] for r in region]) + rng.normal(0, 0.05, n)

    customers = pd.DataFrame(
        {
            "customer_id": [f"C{i + 1:05d}" for i in range(n)],
            "customer_name": _customer_names(rng, city["city_zh"].to_numpy(), ctype),
            "rep_id": rep_id.astype(str),
            "province_id": pid,
            "city_zh": city["city_zh"].to_numpy(),
            "city_en": city["city_en"].to_numpy(),
            "lat": np.round(lat, 4),
            "lon": np.round(lon, 4),
            "customer_type": np.array(CUSTOMER_TYPES, dtype=object)[ctype],
            "potential": potential,
        }
    )
    drivers = {
        "ctype": ctype,
        "start_day": start_day,
        "since": since,
        "new": new,
        "churn": churn,
        "churn_day": churn_day,
        "decline_from": decline_from,
        "decline_rate": decline_rate,
        "scale": scale,
        "orders_per_month": orders_per_month,
        "mix": mix,
        "channel_w": channel_w,
        "growth": growth,
    }
    return customers, drivers


def _channel_weights(rng, ctype) -> np.ndarray:
    """Share of a customer's orders by channel: one main channel, sometimes a second."""
    n = len(ctype)
    w = np.zeros((n, 3))
    u, share = rng.random(n), rng.uniform(0.15, 0.55, n)
    on, off, par = 0, 1, 2
    # Per type: chance that partners (not the offline sales force) are the main
    # channel, the second channel, and the chance of having that second channel.
    plans = {0: (0.5, None, 0.6), 1: (0.3, on, 0.25), 2: (0.0, par, 0.6), 3: (0.0, par, 0.3)}
    for t, (p_partner_main, second, p_second) in plans.items():
        rows = ctype == t
        main = np.where(rng.random(n) < p_partner_main, par, on if t == 3 else off)
        other = np.full(n, second if second is not None else -1)
        other = np.where(other < 0, np.where(main == par, off, par), other)
        two = rows & (u < p_second) & (other != main)
        w[rows, main[rows]] = 1.0
        w[two, main[two]] = 1 - share[two]
        w[two, other[two]] = share[two]
    return w


def _customer_names(rng, city_zh, ctype) -> list[str]:
    def make(r, i):
        suffixes = _TYPE_SUFFIX[ctype[i]]
        word = _SHOP_WORDS[int(r.integers(len(_SHOP_WORDS)))]
        suffix = suffixes[int(r.integers(len(suffixes)))]
        return f"{word}{suffix}" if ctype[i] == 3 else f"{city_zh[i]}{word}{suffix}"

    return _unique_names(rng, make, len(ctype))


# Customers simulated at a time: bounds memory; fixed, so results do not depend on the machine.
_BLOCK = 512


def _make_sales(rng, customers, drivers, start_ts, end_ts) -> pd.DataFrame:
    """Daily order lines: one row per date x customer x product x channel."""
    n = len(customers)
    days = np.arange(np.datetime64(start_ts.date(), "D"), np.datetime64(end_ts.date(), "D") + 1)
    ts = pd.DatetimeIndex(days)
    month0 = ts.month.to_numpy() - 1
    year_idx = (ts.year - ts.year.min()).to_numpy()
    cal = {
        "n_days": len(days),
        "month0": month0,
        "year_idx": year_idx,
        "month_idx": year_idx * 12 + month0,
        "t_years": (np.arange(len(days)) / 365.25).astype(np.float32),
        "chan_mult": _calendar_multipliers(days).astype(np.float32),  # (3, D)
        "season_all": (np.array([0.4, 0.4, 0.2]) @ _PRODUCT_SEASON).astype(np.float32)[
            month0
        ],  # (D,)
        "promo": _promo_days(days),
    }
    blocks = [
        _sales_block(rng, drivers, np.arange(lo, min(lo + _BLOCK, n)), cal)
        for lo in range(0, n, _BLOCK)
    ]
    key, units, cents = (np.concatenate(parts) for parts in zip(*blocks))
    del blocks
    order = np.argsort(key, kind="stable")
    key = key[order]
    # Decode the key (date, customer, product, channel) into small integer columns.
    chan = (key % 3).astype(np.int8)
    key //= 3
    prod = (key % 3).astype(np.int8)
    key //= 3
    cust = (key % n).astype(np.int32)
    day = (key // n).astype(np.int32)
    del key
    sales = pd.DataFrame(
        {
            "date": (np.datetime64(start_ts.date(), "D") + day).astype("datetime64[ns]"),
            "customer_id": customers["customer_id"].to_numpy(dtype=object)[cust],
            "product": np.array(PRODUCTS, dtype=object)[prod],
            "channel": np.array(CHANNELS, dtype=object)[chan],
            "amount": cents[order] / 100.0,
            "units": units[order],
        }
    )
    return sales


def _sales_block(rng, drivers, rows, cal) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Order lines of the customers ``rows``: (key, units, cents), one entry per key."""
    d = {k: v[rows] for k, v in drivers.items()}
    n_days, chan_mult, t_years = cal["n_days"], cal["chan_mult"], cal["t_years"]

    # Order rate per customer and day (rows x days, float32 to keep memory small).
    day = np.arange(n_days)[None, :]
    rate = (d["orders_per_month"] * 12 / 365.25).astype(np.float32)[:, None] * cal["season_all"][
        None, :
    ]
    rate *= np.exp(np.outer(d["growth"].astype(np.float32), t_years))
    rate *= d["channel_w"].astype(np.float32) @ chan_mult
    since_decline = np.clip(day - d["decline_from"][:, None], 0, None).astype(
        np.float32
    ) / np.float32(365.25)
    rate *= np.exp(d["decline_rate"].astype(np.float32)[:, None] * since_decline)
    # New customers ramp up over two months; churning ones fade over five months before leaving.
    ramp_up = np.clip(0.4 + 0.6 * (day - d["start_day"][:, None]) / 60.0, 0, 1).astype(np.float32)
    ramp_up[~d["new"]] = 1.0
    fade = np.clip(0.35 + 0.65 * (d["churn_day"][:, None] - day) / 150.0, 0.35, 1).astype(
        np.float32
    )
    fade[~d["churn"]] = 1.0
    active = (day >= d["start_day"][:, None]) & (day < d["churn_day"][:, None])
    rate *= np.where(active, ramp_up * fade, np.float32(0))
    n_months = int(cal["month_idx"].max()) + 1
    month_noise = np.exp(rng.normal(-0.016, 0.18, (len(rows), n_months))).astype(np.float32)
    rate *= month_noise[:, cal["month_idx"]]

    counts = rng.poisson(rate)
    # New customers place their first order on their first day.
    new = np.flatnonzero(d["new"])
    counts[new, d["start_day"][new]] = np.maximum(counts[new, d["start_day"][new]], 1)
    flat = np.flatnonzero(counts)
    flat = np.repeat(flat, counts.ravel()[flat])
    cust, dayi = np.divmod(flat, n_days)

    # Channel of each order: the customer's channels, weighted by the day's channel rates.
    p_chan = d["channel_w"][cust] * chan_mult.T[dayi]
    p_chan /= p_chan.sum(axis=1, keepdims=True)
    chan = (rng.random(len(cust))[:, None] > np.cumsum(p_chan, axis=1)[:, :2]).sum(axis=1)

    # Products in each order: the customer's usual lines, at least one.
    mix = d["mix"]
    include_p = np.clip(0.25 + 1.1 * mix, 0.1, 0.95)
    lines = rng.random((len(cust), 3)) < include_p[cust]
    none = np.flatnonzero(~lines.any(axis=1))
    fallback = (rng.random(len(none))[:, None] > np.cumsum(mix[cust[none]], axis=1)[:, :2]).sum(
        axis=1
    )
    lines[none, fallback] = True
    order_i, prod = np.nonzero(lines)
    cust, dayi, chan = cust[order_i], dayi[order_i], chan[order_i]

    # Order size: the customer's yearly value of the product spread over its orders,
    # with product seasonality and growth by product and channel.
    month0 = cal["month0"][dayi]
    line_value = (
        d["scale"][cust]
        * mix[cust, prod]
        / (d["orders_per_month"][cust] * 12 * include_p[cust, prod])
    )
    line_value *= _PRODUCT_SEASON[prod, month0] / cal["season_all"][dayi]
    line_value *= np.exp((_PRODUCT_GROWTH[prod] + _CHANNEL_GROWTH[chan]) * t_years[dayi])
    price = _LIST_PRICE[prod] * (1 + _PRICE_RISE[prod]) ** cal["year_idx"][dayi]
    price *= (1 - _TYPE_DISCOUNT[d["ctype"][cust]]) * np.where(
        chan == 2, 1 - _PARTNER_DISCOUNT, 1.0
    )
    price *= np.where((chan == 0) & cal["promo"][dayi], 1 - _PROMO_DISCOUNT, 1.0)
    price_cents = np.round(price * 100).astype(np.int64)
    units = np.maximum(
        1, np.round(line_value / price * rng.lognormal(-0.06, 0.35, len(cust)))
    ).astype(np.int64)

    # Two orders of a customer on one day for the same product and channel are one line.
    n_total = len(drivers["ctype"])
    key = ((dayi.astype(np.int64) * n_total + rows[cust]) * 3 + prod) * 3 + chan
    uniq, inverse = np.unique(key, return_inverse=True)
    units_sum = np.bincount(inverse, weights=units, minlength=len(uniq)).astype(np.int64)
    cents_sum = np.bincount(inverse, weights=units * price_cents, minlength=len(uniq)).astype(
        np.int64
    )
    return uniq, units_sum, cents_sum


def _finish_customers(customers, drivers, sales, start_ts, end_ts) -> pd.DataFrame:
    """Tiers by the last twelve months' sales; first order and churn dates."""
    d = drivers
    start_day = np.datetime64(start_ts.date(), "D")
    ids = customers["customer_id"]
    cutoff = end_ts - pd.Timedelta(days=364)
    last_year = sales.loc[sales["date"] >= cutoff].groupby("customer_id")["amount"].sum()
    value = last_year.reindex(ids).fillna(0.0).to_numpy()
    # Rank by value (ties by id), then VIP top 5%, first next 15%, second next 30%.
    order = np.lexsort((np.arange(len(ids)), -value))
    rank = np.empty(len(ids), dtype=np.int64)
    rank[order] = np.arange(len(ids))
    share = rank / len(ids)
    tier = np.select(
        [share < 0.05, share < 0.20, share < 0.50], ["VIP", "first", "second"], "other"
    )
    tier = np.where(value > 0, tier, "other")

    first_seen = sales.groupby("customer_id")["date"].min().reindex(ids)
    first_order = np.where(
        d["new"], first_seen.to_numpy(dtype="datetime64[D]"), start_day - d["since"]
    )
    churn = np.where(d["churn"], start_day + d["churn_day"], np.datetime64("NaT"))

    out = customers.copy()
    out.insert(8, "tier", tier.astype(object))
    out["first_order_date"] = pd.to_datetime(first_order).astype("datetime64[ns]")
    out["churn_date"] = pd.to_datetime(churn).astype("datetime64[ns]")
    return out


# --- writing ------------------------------------------------------------------


def write_company(out_dir: str | os.PathLike, **kwargs: Any) -> dict[str, Path]:
    """Generate the demo company and write it to ``out_dir``.

    Sales go to Parquet, the small tables to UTF-8 CSV with ISO dates (empty
    for no date). Everything is generated first and each file is written under
    a temporary name and renamed, so a failure leaves no partial file.

    Parameters
    ----------
    out_dir : path
        Folder to write into (created if missing; files of the same names are replaced).
    **kwargs
        The keyword arguments of :func:`make_company`.

    Returns
    -------
    dict of str to Path
        Where each table was written, by key (sales, customers, ...).

    Examples
    --------
    >>> import tempfile
    >>> paths = write_company(tempfile.mkdtemp(), seed=1, n_customers=100, n_reps=6,
    ...                       start="2025-01-01", end="2025-06-30")
    >>> paths["sales"].name
    'sales.parquet'
    """
    company = make_company(**kwargs)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    temps: list[Path] = []
    try:
        names = {**FILE_NAMES, **{k: v for k, v in OPTIONAL_FILE_NAMES.items() if k in company}}
        for key, name in names.items():
            final = out / name
            tmp = out / f".{name}.{os.getpid()}.tmp"
            temps.append(tmp)
            if name.endswith(".parquet"):
                company[key].to_parquet(tmp, index=False, engine="pyarrow", compression="zstd")
            else:
                company[key].to_csv(
                    tmp, index=False, encoding="utf-8", date_format="%Y-%m-%d", lineterminator="\n"
                )
            written[key] = final
        for key, tmp in zip(names, temps):
            os.replace(tmp, written[key])
    finally:
        for tmp in temps:
            tmp.unlink(missing_ok=True)
    return written
