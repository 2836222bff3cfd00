"""A company too large for this machine's memory is refused before its order lines are read:
one message with the lines, the memory needed and available and the most lines that fit."""
from __future__ import annotations

import pyarrow.parquet as pq
import pytest
from conftest import write_params

from salesmodel import cli, io
from salesmodel.errors import InputError
from salesmodel.io.orderlines import count_lines
from salesmodel.run import machine
from salesmodel.schema.params import load_params


@pytest.fixture
def params(tmp_path, small_company_dir):
    return write_params(tmp_path / "params.yaml", small_company_dir)


def test_order_lines_are_counted_without_reading_them(small_company_dir, tmp_path):
    sales = small_company_dir / "sales.parquet"
    exact = pq.ParquetFile(sales).metadata.num_rows
    assert count_lines(sales) == exact
    frame = io.read_table(sales, "sales")
    csv = tmp_path / "sales.csv"
    frame.to_csv(csv, index=False)
    assert abs(count_lines(csv) - len(frame)) <= 0.02 * len(frame)  # a CSV's lines estimated from its size
    parts = tmp_path / "parts"
    parts.mkdir()
    half = len(frame) // 2
    frame.iloc[:half].to_parquet(parts / "part-0.parquet")
    frame.iloc[half:].to_parquet(parts / "part-1.parquet")
    assert count_lines(parts) == len(frame)


def test_a_company_too_large_is_refused_with_what_fits(params):
    scenario = load_params(params)
    lines = sum(machine.order_lines(scenario).values())
    assert lines > 0
    machine.check_memory(scenario, available=64e9)  # fits: nothing said
    small = (machine.RUN_BASE_BYTES + machine.BYTES_PER_LINE * lines / 2) / machine.USABLE_SHARE
    with pytest.raises(InputError) as caught:
        machine.check_memory(scenario, available=small)
    text = str(caught.value)
    fits = int(lines / 2) // 100_000 * 100_000
    assert f"{lines:,} order lines" in text and f"about {fits:,} order lines" in text and "GB" in text


def test_run_refuses_before_reading_and_writes_nothing(params, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(machine, "available_memory", lambda: 1.0e9)  # a 1 GB machine
    read = []
    monkeypatch.setattr(io, "read_inputs", lambda *a, **k: read.append(1))
    out = tmp_path / "out"
    code = cli.main(["run", str(params), "--out", str(out), "--quiet", "--lang", "zh"])
    err = capsys.readouterr().err
    assert code == 2 and not read and not out.exists()
    assert "订单行" in err and "GB" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_a_history_validated_part_by_part_needs_less_a_line(params, monkeypatch):
    """A history large enough to be validated part by part is never held: it is judged at the smaller cost
    a line, so a company refused at the cost of lines held whole is planned."""
    scenario = load_params(params)
    counts = machine.order_lines(scenario)
    lines = sum(counts.values())
    room = (machine.RUN_BASE_BYTES + (machine.BYTES_PER_LINE + machine.BYTES_PER_STREAMED_LINE) / 2 * lines)
    available = room / machine.USABLE_SHARE
    with pytest.raises(InputError):
        machine.check_memory(scenario, available=available)  # held whole: it does not fit
    monkeypatch.setattr(machine, "STREAM_FROM_LINES", 1)
    assert len(counts) == 1  # only the history: part by part, it fits
    machine.check_memory(scenario, available=available)
