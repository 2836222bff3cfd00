"""The demo company's world: its products, channels, tiers, customer types and regions, the growth
and seasons its sales follow, the names its people and shops take, and the files it is written to
(see :mod:`salesmodel.sample`).
"""
from __future__ import annotations

from importlib import resources
from typing import Any

import numpy as np
import pandas as pd

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
# history. The lines are drawn into compact keys (20 bytes a line) and written a month at a time: measured
# peaks of 1.1 GB for 16.8 M lines (30,000 customers) and 2.4 GB for 50.4 M (90,000; 4 minutes), so about
# 250 MB plus 44 bytes per order line; 50 is counted.
LINES_PER_CUSTOMER_DAY = 557 / 1400


PEAK_BYTES_BASE = 250e6


PEAK_BYTES_PER_LINE = 50.0


# The plan year's actuals, drawn after the history is written: keys over the whole span (20 bytes a line),
# then only the plan year's lines built as a frame (about 120 bytes a line).
ACTUALS_BYTES_PER_DRAWN_LINE = 20.0
ACTUALS_BYTES_PER_LINE = 120.0


def estimated_peak_bytes(n_customers: int, start: Any, end: Any, *, with_actuals: bool = False) -> float:
    """The memory :func:`write_company` needs at its peak for this company, from the measured rate.

    >>> round(estimated_peak_bytes(3000, "2023-01-01", "2026-10-31") / 1e6)
    334
    """
    days = (pd.Timestamp(end) - pd.Timestamp(start)).days + 1
    per_day = n_customers * LINES_PER_CUSTOMER_DAY
    need = PEAK_BYTES_BASE + PEAK_BYTES_PER_LINE * per_day * days
    if with_actuals:  # drawn over the whole span again once the history is written: the larger peak counts
        need = max(need, PEAK_BYTES_BASE + per_day * ((days + 365) * ACTUALS_BYTES_PER_DRAWN_LINE
                                                      + 365 * ACTUALS_BYTES_PER_LINE))
    return need
