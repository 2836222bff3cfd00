"""Reading and validating the company's input tables; writing result tables.

Every input table kind (``sales``, ``customers``, ``reps``, ``org``,
``provinces``, ``adjacency``, and the calendar's ``holiday_overrides``) has one
declared :class:`TableSchema`. :func:`validate_table` checks a frame against
its schema lazily: it collects *every* failure of the table, then raises one
:class:`~salesmodel.errors.InputError` whose message names the file, and for
each failure the column, the check, a few example rows and what was expected
versus found. The failures are also attached as a DataFrame
(``InputError.failures``) for programmatic use.

Rows in messages are data rows counted from 1 at the first row below the
header, as a planner sees them in a spreadsheet opened from the file (the
spreadsheet row number is one more, because of the header).

Sources: CSV, Parquet and Excel (``.xlsx``) files chosen by suffix, and SQL
tables through an SQLAlchemy URL (``sqlite:///plan.db``,
``postgresql://user@host/db``).
"""
from __future__ import annotations

from salesmodel.io.readers import input_sources, read_holiday_overrides, read_inputs, read_table
from salesmodel.io.schemas import KINDS, OPTIONAL_KINDS, PROVINCE_IDS, SCHEMAS, Column, Order, Reference, TableSchema
from salesmodel.io.validation import check_references, validate_table
from salesmodel.io.writers import csv_safe, file_sha256, safe_name, table_rows, write_table

__all__ = [
    "KINDS",
    "OPTIONAL_KINDS",
    "PROVINCE_IDS",
    "SCHEMAS",
    "Column",
    "Order",
    "Reference",
    "TableSchema",
    "check_references",
    "csv_safe",
    "file_sha256",
    "input_sources",
    "read_holiday_overrides",
    "read_inputs",
    "read_table",
    "safe_name",
    "table_rows",
    "validate_table",
    "write_table",
]
