"""What this machine can hold, judged before a run reads its inputs: a company whose order lines
would not fit in memory is refused in seconds, with the size that would.

The estimate is measured, not guessed: a run holds about ``RUN_BASE_BYTES`` (the interpreter,
the libraries, two notebook kernels) plus ``BYTES_PER_LINE`` for each order line of the history
and the actuals (the lines held with their text as categories, their sums by month, the steps'
work, the territory step's region processes and, once the lines are let go, the workbook, which
grow with the accounts); both fitted to the demo company (1.8 M lines, 1.5 GB) and thirty times it
(53.6 M lines, 5.8 GB) in `benchmarks/scale.py` (ten times it, 17.9 M lines, took 2.8 GB: on the
line; it now takes 2.3 GB). A history of ``STREAM_FROM_LINES`` lines or more is validated part by part
and never held: ``BYTES_PER_STREAMED_LINE`` a line of it, fitted to a hundred times the demo (178 M
lines with the actuals, 10.7 GB).
"""
from __future__ import annotations

from pathlib import Path

from salesmodel.errors import InputError
from salesmodel.io.orderlines import count_lines
from salesmodel.io.readers import STREAM_FROM_LINES
from salesmodel.schema.params import Scenario
from salesmodel.schema.vocabulary import word

RUN_BASE_BYTES = 1.35e9
BYTES_PER_LINE = 83
# a history validated part by part and never held (io.readers.STREAM_FROM_LINES lines or more): what grows
# is its sums and the steps' tables; fitted to 100x the demo (178 M lines, 10.7 GB)
BYTES_PER_STREAMED_LINE = 53
USABLE_SHARE = 0.85  # of the memory available now: the rest stays for the system and other work


def available_memory() -> float | None:
    """Bytes of memory this machine can give a new process now (Linux: MemAvailable), else None."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def order_lines(scenario: Scenario) -> dict[str, int]:
    """The order lines of the history and the actuals a scenario reads, by file name (files whose size
    cannot be told without reading them, e.g. a database table, are left out)."""
    data = scenario.data
    if data.sql_url:
        return {}
    counts = {}
    for key in ("sales", "actuals"):
        name = getattr(data, key, None)
        if name:
            path = Path(data.dir) / name
            lines = count_lines(path) if path.exists() else None
            if lines is not None:
                counts[path.name] = lines
    return counts


def check_memory(scenario: Scenario, language: str = "en", available: float | None = None) -> None:
    """Refuse, before the order lines are read, a company the machine cannot plan in memory: the lines,
    the memory needed and available, and the most lines that fit."""
    counts = order_lines(scenario)
    available = available_memory() if available is None else available
    if not counts or available is None:
        return
    lines = sum(counts.values())
    sales = Path(scenario.data.sales).name
    need = RUN_BASE_BYTES + sum(n * (BYTES_PER_STREAMED_LINE if name == sales and n >= STREAM_FROM_LINES
                                     else BYTES_PER_LINE) for name, n in counts.items())
    usable = USABLE_SHARE * available
    if need <= usable:
        return
    streamed = int((usable - RUN_BASE_BYTES) / BYTES_PER_STREAMED_LINE)
    most = streamed if streamed >= STREAM_FROM_LINES else int((usable - RUN_BASE_BYTES) / BYTES_PER_LINE)
    fits = max(most, 0) // 100_000 * 100_000
    raise InputError(word("run_no_memory", language).format(
        lines=lines, files=", ".join(f"{name} {n:,}" for name, n in counts.items()), need=need / 1e9,
        available=available / 1e9, fits=fits, share=fits / lines))


def give_back_memory() -> None:
    """Return the memory a finished step freed to the system: Arrow's pool keeps freed blocks for reuse,
    and glibc's heap keeps freed small blocks in the process; the notebooks running beside the next
    steps can use it instead."""
    import ctypes
    import ctypes.util

    import pyarrow as pa

    pa.default_memory_pool().release_unused()
    libc = ctypes.util.find_library("c")
    if libc:
        try:
            trim = ctypes.CDLL(libc).malloc_trim
        except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to trim
            return
        trim(0)
