"""The input tables' schemas: one TableSchema per kind, with its columns, keys and checks."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from salesmodel.errors import short_list

ColumnKind = Literal["str", "float", "int", "date"]


# The 31 mainland provinces: ISO 3166-2:CN codes without the "CN-" prefix.
PROVINCE_IDS = (
    "BJ", "TJ", "HE", "SX", "NM", "LN", "JL", "HL", "SH", "JS", "ZJ", "AH", "FJ", "JX", "SD", "HA",
    "HB", "HN", "GD", "GX", "HI", "CQ", "SC", "GZ", "YN", "XZ", "SN", "GS", "QH", "NX", "XJ",
)

# The input kinds read_inputs returns, in reading order.
KINDS = ("sales", "customers", "reps", "org", "provinces", "adjacency")
# Optional input kinds: read when the params name a file for them (data.<kind>).
OPTIONAL_KINDS = ("locks", "commitments", "actuals", "stock", "territory_locks")

# Plausible ceilings: a value above one is a unit or export mistake, never a sale. They also
# make overflow impossible: a billion rows at the ceiling sum far below float64's limit
# (and units far below int64's).
AMOUNT_CEILING = 1e12  # yuan on one order line
POTENTIAL_CEILING = 1e13  # yuan of one customer's annual potential
UNITS_CEILING = 1_000_000_000  # units on one order line
POPULATION_CEILING = 10_000_000_000
# Ids (customer_id, rep_id, ...): printable text without control characters, at most this long;
# other text columns (names, cities) at most TEXT_MAX_LENGTH and without control characters.
ID_MAX_LENGTH = 64
TEXT_MAX_LENGTH = 200
_EXAMPLES = 5  # example rows / values shown per failure
_KEEP_ROWS = 1000  # rows kept per failure in InputError.failures
_FILE_SUFFIXES = (".csv", ".parquet", ".pq", ".xlsx", ".xlsm")


# ---------------------------------------------------------------------------
# Schemas, as data
# ---------------------------------------------------------------------------


def _num(x: float) -> str:
    if float(x).is_integer():
        return f"{int(x):,}" if abs(x) >= 1e6 else str(int(x))
    return repr(float(x))


def _few(shown: list[Any], total: int) -> str:
    """``short_list`` of the first few of ``total`` things, saying how many more."""
    text = short_list(shown, _EXAMPLES)
    return text + (f" (and {total - len(shown)} more)" if total > len(shown) else "")


@dataclass(frozen=True)
class Column:
    """One declared column of an input table.

    Parameters
    ----------
    name : str
        Column name (lower_snake_case).
    kind : {"str", "float", "int", "date"}
        Text (ids stay text even when they look like numbers), a real number,
        a whole number, or a calendar day.
    required : bool, default=True
        The column must be present. An optional column that is absent is
        added, all empty.
    nullable : bool, default=False
        Empty cells are allowed.
    allowed : tuple of str, optional
        The only values allowed.
    min, max : float, optional
        Bounds (inclusive) of numbers.
    in_history : bool, default=False
        Dates must lie in the declared history range (``data.history_start``
        to ``data.history_end``).
    description : str
        Plain words for messages.
    """

    name: str
    kind: ColumnKind
    required: bool = True
    nullable: bool = False
    allowed: tuple[str, ...] | None = None
    min: float | None = None
    max: float | None = None
    in_history: bool = False
    description: str = ""

    def expected(self) -> str:
        """What a value of this column looks like, in plain words."""
        what = {
            "str": "text",
            "float": "a number",
            "int": "a whole number",
            "date": "a date like 2024-01-31 (YYYY-MM-DD)",
        }[self.kind]
        if self.allowed is not None:
            what = "one of " + ", ".join(self.allowed)
        if self.min is not None and self.max is not None:
            what += f" between {_num(self.min)} and {_num(self.max)}"
        elif self.min is not None:
            what += f" >= {_num(self.min)}"
        elif self.max is not None:
            what += f" <= {_num(self.max)}"
        return what


@dataclass(frozen=True)
class Reference:
    """Values of ``column`` must appear in ``table.target`` (rows of ``table``
    restricted to ``where = (column, value)`` when given)."""

    column: str
    table: str
    target: str
    where: tuple[str, str] | None = None


@dataclass(frozen=True)
class Order:
    """Where both are present, ``first <= second`` (``first < second`` when strict)."""

    first: str
    second: str
    strict: bool = False


@dataclass(frozen=True)
class TableSchema:
    """The declared shape of one kind of input table."""

    kind: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    references: tuple[Reference, ...] = ()
    orders: tuple[Order, ...] = ()
    # Extra whole-table checks: (frame, context) -> failures.
    checks: tuple[Callable[[pd.DataFrame, _Context], list[_Failure]], ...] = field(default=())

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]


def _org_levels(df: pd.DataFrame, ctx: _Context) -> list[_Failure]:
    """One company at the root; regions under the company; provinces under regions."""
    out: list[_Failure] = []
    need = {"unit_id", "parent_id", "level"}
    if not need <= set(df.columns) or not {"unit_id", "level"} <= ctx.valid_columns:
        return out
    level = df["level"]
    parent = df["parent_id"]
    company = level.eq("company").to_numpy()
    if company.sum() != 1:
        rows = np.flatnonzero(company)
        out.append(ctx.fail(
            "level", "one_company", rows,
            expected="exactly one row with level 'company' (the root of the organisation)",
            found=f"{len(rows)} company rows",
            problem=f"{len(rows)} rows have level 'company'" + (" " + ctx.at(rows) if len(rows) else ""),
        ))
    root_with_parent = company & parent.notna().to_numpy()
    if root_with_parent.any():
        rows = np.flatnonzero(root_with_parent)
        out.append(ctx.fail(
            "parent_id", "company_parent", rows,
            expected="an empty parent_id for the company",
            found=short_list(parent.iloc[rows].unique(), _EXAMPLES),
            problem=f"the company row has a parent {ctx.at(rows)}",
        ))
    orphan = ~company & parent.isna().to_numpy()
    if orphan.any():
        rows = np.flatnonzero(orphan)
        out.append(ctx.fail(
            "parent_id", "required", rows,
            expected="a parent_id for every region and province",
            found="empty",
            problem=f"{len(rows)} units other than the company have no parent {ctx.at(rows)}",
        ))
    # Parent's level must be the level just above.
    above = {"region": "company", "province": "region"}
    parent_level = parent.map(pd.Series(level.to_numpy(), index=df["unit_id"].to_numpy()).groupby(level=0).first())
    wanted = level.map(above)
    wrong = (parent_level.notna() & wanted.notna() & (parent_level != wanted)).to_numpy()
    if wrong.any():
        rows = np.flatnonzero(wrong)
        pairs = [f"{lv} under {pl}" for lv, pl in zip(level.iloc[rows], parent_level.iloc[rows])]
        out.append(ctx.fail(
            "parent_id", "parent_level", rows,
            expected="a region's parent to be the company and a province's parent to be a region",
            found=short_list(dict.fromkeys(pairs), _EXAMPLES),
            problem=(f"{len(rows)} unit{'s hang' if len(rows) > 1 else ' hangs'} under the wrong level {ctx.at(rows)}"),
        ))
    return out


_PRODUCTS = ("A", "B", "C")
_CHANNELS = ("online", "offline", "partner")
_TIERS = ("VIP", "first", "second", "other")
_CUSTOMER_TYPES = ("wholesaler", "retailer", "supermarket", "online_store")
_LEVELS = ("company", "region", "province")
_REGION = ("level", "region")

def _order_lines(*, in_history: bool) -> tuple[Column, ...]:
    """The columns of sales order lines (the history, and the plan year's actuals)."""
    return (
        Column("date", "date", in_history=in_history, description="order day"),
        Column("customer_id", "str"),
        Column("product", "str", allowed=_PRODUCTS),
        Column("channel", "str", allowed=_CHANNELS),
        Column("amount", "float", min=0, max=AMOUNT_CEILING, description="sales in yuan"),
        Column("units", "int", min=0, max=UNITS_CEILING),
    )


SCHEMAS: dict[str, TableSchema] = {
    "sales": TableSchema(
        "sales",
        "the sales history (one row per order line)",
        _order_lines(in_history=True),
        references=(Reference("customer_id", "customers", "customer_id"),),
    ),
    "customers": TableSchema(
        "customers",
        "the customers",
        (
            Column("customer_id", "str"),
            Column("customer_name", "str"),
            Column("rep_id", "str"),
            Column("province_id", "str"),
            Column("city_zh", "str"),
            Column("city_en", "str"),
            Column("lat", "float", min=-90, max=90),
            Column("lon", "float", min=-180, max=180),
            Column("tier", "str", allowed=_TIERS),
            Column("customer_type", "str", allowed=_CUSTOMER_TYPES),
            Column("potential", "float", min=0, max=POTENTIAL_CEILING, description="annual market potential in yuan"),
            Column("first_order_date", "date"),
            Column("churn_date", "date", required=False, nullable=True, description="empty if active"),
        ),
        key=("customer_id",),
        references=(
            Reference("rep_id", "reps", "rep_id"),
            Reference("province_id", "provinces", "province_id"),
        ),
        orders=(Order("first_order_date", "churn_date"),),
    ),
    "reps": TableSchema(
        "reps",
        "the sales reps",
        (
            Column("rep_id", "str"),
            Column("rep_name", "str"),
            Column("province_id", "str"),
            Column("region_id", "str"),
            Column("role", "str"),
            Column("hire_date", "date"),
            Column("leave_date", "date", required=False, nullable=True, description="empty if active"),
        ),
        key=("rep_id",),
        references=(
            Reference("province_id", "provinces", "province_id"),
            Reference("region_id", "org", "unit_id", where=_REGION),
        ),
        orders=(Order("hire_date", "leave_date"),),
    ),
    "org": TableSchema(
        "org",
        "the organisation (company, regions, provinces)",
        (
            Column("unit_id", "str"),
            Column("parent_id", "str", nullable=True, description="empty for the company"),
            Column("level", "str", allowed=_LEVELS),
            Column("name_en", "str"),
            Column("name_zh", "str"),
            Column("name_es", "str", required=False, nullable=True,
                   description="Spanish name (optional: without it, Spanish pages show the English name and say so)"),
        ),
        key=("unit_id",),
        references=(Reference("parent_id", "org", "unit_id"),),
        checks=(_org_levels,),
    ),
    "provinces": TableSchema(
        "provinces",
        "the provinces (geography)",
        (
            Column("province_id", "str", allowed=PROVINCE_IDS),
            Column("name_zh", "str"),
            Column("name_en", "str"),
            Column("region_id", "str"),
            Column("capital_zh", "str"),
            Column("capital_en", "str"),
            Column("lat", "float", min=-90, max=90),
            Column("lon", "float", min=-180, max=180),
            Column("population", "int", min=0, max=POPULATION_CEILING),
            Column("name_es", "str", required=False, nullable=True,
                   description="Spanish name (optional: without it, Spanish pages show the English name and say so)"),
        ),
        key=("province_id",),
        references=(Reference("region_id", "org", "unit_id", where=_REGION),),
    ),
    "adjacency": TableSchema(
        "adjacency",
        "the province adjacency (one row per bordering pair)",
        (
            Column("province_a", "str"),
            Column("province_b", "str"),
        ),
        key=("province_a", "province_b"),
        references=(
            Reference("province_a", "provinces", "province_id"),
            Reference("province_b", "provinces", "province_id"),
        ),
        orders=(Order("province_a", "province_b", strict=True),),
    ),
    "locks": TableSchema(
        "locks",
        "the locked targets (one row per unit whose target the company fixes)",
        (
            Column("level", "str", allowed=("region", "province", "rep", "customer"), description="organisation level"),
            Column("unit_id", "str", description="the region, province, rep or customer id"),
            Column("target", "float", min=0, max=POTENTIAL_CEILING, description="the fixed target in yuan"),
            Column("reason", "str", required=False, nullable=True, description="why it is fixed"),
        ),
        key=("level", "unit_id"),
    ),
    "commitments": TableSchema(
        "commitments",
        "the reps' own commitments for the plan year (bottom-up)",
        (
            Column("rep_id", "str"),
            Column("amount", "float", min=0, max=POTENTIAL_CEILING, description="what the rep commits to sell in yuan"),
            Column("note", "str", required=False, nullable=True),
        ),
        key=("rep_id",),
        references=(Reference("rep_id", "reps", "rep_id"),),
    ),
    "actuals": TableSchema(
        "actuals",
        "the plan year's sales to date (one row per order line, as the sales history)",
        _order_lines(in_history=False),  # dates in the plan year, not the history's range
        references=(Reference("customer_id", "customers", "customer_id"),),
    ),
    "stock": TableSchema(
        "stock",
        "the stock on hand at customers' stores (one row per date, customer and product)",
        (
            Column("date", "date", description="day of the count (end of day)"),
            Column("customer_id", "str"),
            Column("product", "str", allowed=_PRODUCTS),
            Column("units", "int", min=0, max=UNITS_CEILING, description="units on hand"),
        ),
        key=("date", "customer_id", "product"),
        references=(Reference("customer_id", "customers", "customer_id"),),
    ),
    "territory_locks": TableSchema(
        "territory_locks",
        "key accounts that stay with a named rep (one row per customer)",
        (
            Column("customer_id", "str"),
            Column("rep_id", "str"),
        ),
        key=("customer_id",),
        references=(Reference("customer_id", "customers", "customer_id"), Reference("rep_id", "reps", "rep_id")),
    ),
    "holiday_overrides": TableSchema(
        "holiday_overrides",
        "the company's holiday overrides",
        (
            Column("date", "date"),
            Column("kind", "str", allowed=("holiday", "workday")),
            Column("name", "str", required=False, nullable=True),
        ),
        key=("date",),
    ),
}


# ---------------------------------------------------------------------------
# Failures and messages
# ---------------------------------------------------------------------------


@dataclass
class _Failure:
    file: str
    column: str
    check: str
    rows: np.ndarray  # 0-based positions
    expected: str
    found: str
    text: str


@dataclass
class _Context:
    """What a check needs to word its failure: the source's name and the key."""

    file: str
    frame: pd.DataFrame | Mapping[str, pd.Series]
    key: tuple[str, ...]
    valid_columns: set[str] = field(default_factory=set)

    def at(self, rows: np.ndarray) -> str:
        """'at rows 3, 7 (customer_id 'C3', 'C7')' for 0-based positions."""
        if len(rows) == 0:
            return ""
        shown = _few([int(r) + 1 for r in rows[:_EXAMPLES]], len(rows))
        word = "row" if len(rows) == 1 else "rows"
        text = f"at {word} {shown}"
        if self.key and set(self.key) <= self.valid_columns:
            cols = [self.frame[k].iloc[rows[:_EXAMPLES]].tolist() for k in self.key]
            if len(self.key) == 1:
                vals = [v for v in cols[0] if isinstance(v, str)]
            else:
                vals = ["/".join(map(str, t)) for t in zip(*cols)]
            if vals:
                text += f" ({'/'.join(self.key)} {short_list(vals, _EXAMPLES)})"
        return text

    def fail(self, column: str, check: str, rows: Iterable[int], *, expected: str, found: str,
             problem: str) -> _Failure:
        rows = np.asarray(rows, dtype=np.int64)
        where = f"column '{column}': " if column else ""
        text = f"{where}{problem}; expected {expected}"
        if found:
            text += f", found {found}"
        return _Failure(self.file, column, check, rows, expected, found, text)
