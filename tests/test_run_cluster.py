"""`salesmodel run --scheduler ADDRESS`: the plan on a Dask cluster gives the tables of a local run, byte
for byte; a scheduler that does not answer, a worker lost mid-run and inputs larger than the free disk
each end in one message, with nothing written."""
from __future__ import annotations

import difflib
import json
import os
import socket
from collections import namedtuple
from pathlib import Path

import pytest

distributed = pytest.importorskip("distributed")
dask = pytest.importorskip("dask")
pytest.importorskip("fugue_dask")

from conftest import write_params

from salesmodel import cli
from salesmodel.domain.forecast import fitting
from salesmodel.errors import ClusterLostError
from salesmodel.pipeline import cluster
from salesmodel.run import runner, scheduler

# regions designed on their own (accounts kept in their province), so the territory step has parts to map
TERRITORY = {"method": "reps", "balance_on": {"potential": 0.25, "workload": 0.30}, "max_disruption": 0.15,
             "max_distance_km": 900, "keep_whole": "province"}
NOTEBOOK = ["00_data_overview.ipynb"]


@pytest.fixture(scope="module")
def local_cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as c:
        yield c


@pytest.fixture
def params(tmp_path, small_company_dir):
    return write_params(tmp_path / "params.yaml", small_company_dir, territory=TERRITORY)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _leftovers(out: Path) -> list[str]:
    """Everything a refused or failed run left in its out folder (nothing, when it was clean)."""
    if not out.exists():
        return []
    return sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())


def test_the_plan_on_a_cluster_writes_the_tables_of_a_local_run_byte_for_byte(tmp_path, params, local_cluster,
                                                                                monkeypatch):
    """The whole plan through the runner, here and with --scheduler on a LocalCluster of two worker processes:
    every table's CSV is the same file; the forecast went through statsforecast's Dask backend and the
    territory regions through the cluster (a company far below PARALLEL_FROM); the manifest names the scheduler."""
    calls = {"dask_forecasts": 0, "region_maps": 0, "regions": 0}
    real_on_dask, real_map = fitting._on_dask, cluster.cluster_map

    def on_dask(*args, **kwargs):
        calls["dask_forecasts"] += 1
        return real_on_dask(*args, **kwargs)

    def cluster_map(client, bar=None):
        run = real_map(client, bar)

        def counting(function, tasks):
            tasks = list(tasks)
            calls["region_maps"] += 1
            calls["regions"] += len(tasks)
            return run(function, tasks)

        return counting

    here = runner.run_scenario(params, tmp_path / "here", notebooks=NOTEBOOK, progress=False)
    assert calls == {"dask_forecasts": 0, "region_maps": 0, "regions": 0}
    monkeypatch.setattr(fitting, "_on_dask", on_dask)
    monkeypatch.setattr(cluster, "cluster_map", cluster_map)
    # every graph counts as large: Dask's warning about sending it is about transport, not a note of the plan
    with dask.config.set({"distributed.admin.large-graph-warning-threshold": "1B"}):
        there = runner.run_scenario(params, tmp_path / "there", notebooks=NOTEBOOK, progress=False,
                                    scheduler=local_cluster.scheduler_address)
    assert calls["dask_forecasts"] > 0 and calls["region_maps"] > 0 and calls["regions"] > 1
    csvs = sorted(p.name for p in (here.run_dir / "tables").glob("*.csv"))
    assert len(csvs) > 40 and csvs == sorted(p.name for p in (there.run_dir / "tables").glob("*.csv"))
    different = [n for n in csvs if (here.run_dir / "tables" / n).read_bytes() != (there.run_dir / "tables" / n).read_bytes()]
    assert different == [], {n: [line for line in difflib.unified_diff(
        (here.run_dir / "tables" / n).read_text(encoding="utf-8").splitlines(),
        (there.run_dir / "tables" / n).read_text(encoding="utf-8").splitlines(), lineterm="", n=0)][:12] for n in different}
    record = json.loads(there.manifest.read_text(encoding="utf-8"))["resources"]
    assert record["cluster"]["scheduler"] == local_cluster.scheduler_address
    assert record["cluster"]["workers"] == 2 and record["cluster"]["peak_memory_mb_largest_worker"] > 0
    assert json.loads(here.manifest.read_text(encoding="utf-8"))["resources"]["cluster"] is None
    assert cluster.current().client is None  # the run's cluster ends with the run


def test_the_cluster_map_keeps_the_tasks_order_and_counts_each_region(local_cluster):
    with (distributed.Client(local_cluster) as client, cluster.running(progress=True),
          cluster.progress_bar("regions", "region") as bar):
        out = cluster.cluster_map(client, bar)(abs, [-3, 1, -2, 5])
        assert bar.bar.n == 4 and bar.bar.total == 4
        assert cluster.counted(map, bar)(abs, [-1, -7]) == [1, 7]
        assert bar.bar.n == 6
    assert out == [3, 1, 2, 5]
    with cluster.progress_bar("regions", "region") as bar:  # quiet outside a run that shows progress
        assert bar is None


@pytest.mark.parametrize("lang,words", [("en", "No Dask scheduler answered"), ("zh", "没有 Dask 调度器响应")])
def test_a_scheduler_that_does_not_answer_is_one_message_before_any_work(tmp_path, params, monkeypatch, capsys,
                                                                         lang, words):
    monkeypatch.setattr(scheduler, "CONNECT_TIMEOUT_S", 2.0)
    address = f"tcp://127.0.0.1:{_free_port()}"
    out = tmp_path / "out"
    code = cli.main(["run", str(params), "--out", str(out), "--scheduler", address, "--lang", lang, "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    assert words in err and address in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def _dies(task):
    """A region's design whose worker dies (module level: the worker imports it)."""
    os._exit(1)


def test_a_worker_lost_mid_run_fails_the_run_naming_the_step_and_keeps_nothing(tmp_path, params, monkeypatch, capsys):
    """Every worker that takes a territory region dies; the scheduler gives up on the region (KilledWorker,
    after no retry here) and the run stops (exit 1) with one message naming the step; no run folder, no
    staging folder, no failed record is left."""
    import dask

    real_map = cluster.cluster_map
    monkeypatch.setattr(cluster, "cluster_map",
                        lambda client, bar=None: (lambda function, tasks: real_map(client, bar)(_dies, tasks)))
    out = tmp_path / "out"
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}), \
            distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as lc:
        code = cli.main(["run", str(params), "--out", str(out), "--scheduler", lc.scheduler_address, "--quiet"])
        err = capsys.readouterr().err
    assert code == 1
    assert "'territory'" in err and "KilledWorker" in err and lc.scheduler_address in err and "nothing was kept" in err
    assert "Traceback" not in err
    assert _leftovers(out) == []  # no run folder, no staging folder, no failed record
    assert cluster.current().client is None


def test_a_cluster_error_in_a_step_maps_to_one_message_naming_the_step(tmp_path, params, local_cluster, monkeypatch):
    """A map that loses the connection to the scheduler (CommClosedError) mid-step."""
    from distributed.comm import CommClosedError

    def closed(client, bar=None):
        def run(function, tasks):
            raise CommClosedError("in <TCP (closed)>: Stream is closed")
        return run

    monkeypatch.setattr(cluster, "cluster_map", closed)
    out = tmp_path / "out"
    with (distributed.Client(local_cluster, set_as_default=False) as client,
          pytest.raises(ClusterLostError, match="'territory'.*CommClosedError")):
        runner.run_scenario(params, out, notebooks=NOTEBOOK, progress=False, scheduler=client)
    assert _leftovers(out) == []


def test_inputs_larger_than_the_free_disk_are_refused_before_copying(tmp_path, params, monkeypatch, capsys):
    Usage = namedtuple("Usage", "total used free")
    monkeypatch.setattr(runner.shutil, "disk_usage", lambda path: Usage(10**9, 10**9 - 1000, 1000))
    out = tmp_path / "out"
    code = cli.main(["run", str(params), "--out", str(out), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    assert "MB" in err and "0.0 MB free" in err and str(out) in err and "--out" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not out.exists()
