"""Installed like a library: the built wheel, in a fresh venv, runs a plan from a folder outside the checkout.

The wheel is built offline from a copy of the sources (nothing is written into the checkout).
The fresh venv gets the project's dependencies without downloading: a ``.pth`` file names the
site-packages of the interpreter running the tests. Lines of a ``.pth`` file only extend
``sys.path``; the ``.pth`` files inside those folders are not processed, so the checkout's
editable-install finder is never activated, and the wheel's own ``salesmodel`` comes first.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from importlib import metadata
from pathlib import Path

import pytest
import yaml

from salesmodel.cli import main

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "README.md", "salesmodel", "notebooks", "params")
SMALL = ["--customers", "240", "--reps", "12", "--seed", "7"]  # tests/conftest.py SMALL_COMPANY


def _backend_missing() -> str | None:
    """Why the wheel cannot be built offline here, or None (the dev extra brings setuptools>=77)."""
    try:
        major = int(metadata.version("setuptools").split(".")[0])
    except (metadata.PackageNotFoundError, ValueError):
        major = 0
    if major < 77:
        return "building the wheel offline needs setuptools>=77 in this environment (the dev extra; `make install`)"
    return None


def _run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 180) -> subprocess.CompletedProcess:
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    assert done.returncode == 0, f"{cmd} exited {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict:
    """A fresh venv with the built wheel installed (--no-deps) and the environment to use it."""
    why = _backend_missing()
    if why:
        pytest.skip(why)
    base = tmp_path_factory.mktemp("install")
    src = base / "src"
    src.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build")
    for name in SOURCES:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=ignore)
        else:
            shutil.copy2(path, src / name)
    _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
          "-w", str(base / "dist"), str(src)], cwd=base)
    (wheel,) = (base / "dist").glob("salesmodel-*.whl")

    venv = base / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=base)
    python = venv / ("Scripts" if os.name == "nt" else "bin") / "python"
    site_dir = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                         cwd=base).stdout.strip())
    deps = dict.fromkeys(sysconfig.get_paths()[k] for k in ("purelib", "platlib"))
    (site_dir / "_salesmodel_test_deps.pth").write_text("\n".join(deps) + "\n", encoding="utf-8")
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps", "--no-index",
          str(wheel)], cwd=base)

    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "SALESMODEL_NOTEBOOKS", "SALESMODEL_WORKSPACE", "JUPYTER_PATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{python.parent}{os.pathsep}{env.get('PATH', '')}"
    # Jupyter files of this venv only: its own kernel spec (below), no user-wide one.
    env["JUPYTER_DATA_DIR"] = str(base / "jupyter-data")
    # nbconvert's HTML templates are data files of the nbconvert package: in a real install they land in
    # the venv's share/jupyter; here they are borrowed from the environment that provides the dependencies.
    templates = Path(sysconfig.get_path("data")) / "share" / "jupyter" / "nbconvert"
    if templates.is_dir():
        jupyter_path = base / "jupyter-path"
        jupyter_path.mkdir()
        (jupyter_path / "nbconvert").symlink_to(templates, target_is_directory=True)
        env["JUPYTER_PATH"] = str(jupyter_path)
    _run([str(python), "-m", "ipykernel", "install", "--sys-prefix", "--name", "python3"], cwd=base, env=env)
    return {"venv": venv, "python": python, "salesmodel": python.parent / "salesmodel", "env": env, "base": base}


def test_the_wheel_carries_the_notebooks_and_the_default_params(installed):
    share = installed["venv"] / "share" / "salesmodel"
    shipped = {p.name for p in (share / "notebooks").glob("*.ipynb")}
    assert shipped == {p.name for p in (REPO / "notebooks").glob("*.ipynb")}
    assert (share / "params" / "default.yaml").read_text(encoding="utf-8") == \
        (REPO / "params" / "default.yaml").read_text(encoding="utf-8")


def test_installed_package_plans_from_a_folder_outside_the_checkout(installed):
    """notebooks → sample → run, as a planner does after `pip install salesmodel`."""
    exe, env = str(installed["salesmodel"]), installed["env"]
    planner = installed["base"] / "planner"
    planner.mkdir()
    where = _run([str(installed["python"]), "-c", "import salesmodel; print(salesmodel.__file__)"], cwd=planner, env=env)
    imported = Path(where.stdout.strip()).resolve()
    assert imported.is_relative_to(installed["venv"].resolve()), imported
    assert not imported.is_relative_to(REPO)
    kernel = json.loads((installed["venv"] / "share" / "jupyter" / "kernels" / "python3" / "kernel.json").read_text())
    assert Path(kernel["argv"][0]).is_relative_to(installed["venv"])  # the kernel runs the venv's python

    _run([exe, "notebooks", "."], cwd=planner, env=env)
    params = planner / "params" / "default.yaml"
    assert (planner / "notebooks" / "explore.ipynb").is_file()
    _run([exe, "sample", "data/demo", *SMALL], cwd=planner, env=env)
    raw = yaml.safe_load(params.read_text(encoding="utf-8"))
    assert raw["data"]["dir"] == "../data/demo"  # the copied params find the sampled data as they are
    # test-sized: loose balance so the small company's territories can meet it, two notebooks
    raw.update(territory={"balance_on": {"potential": 0.5, "workload": 0.5}, "max_disruption": None, "method": "heuristic"},
               notebooks=["02_targets.ipynb", "10_leadership_summary.ipynb"])
    params.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")

    done = _run([exe, "run", "params/default.yaml", "--quiet"], cwd=planner, env=env, timeout=240)
    (run_dir,) = (planner / "outputs" / "runs").iterdir()
    assert str(run_dir) in done.stdout
    for name in ("targets_region", "capacity_plan", "key_figures"):
        assert (run_dir / "tables" / f"{name}.parquet").is_file(), name
    for page in ("02_targets", "10_leadership_summary"):
        html = (run_dir / "html" / f"{page}.html").read_text(encoding="utf-8")
        assert "<img" in html and "Traceback" not in html, page
    assert (run_dir / "plan.xlsx").is_file()
    _run([exe, "verify", str(run_dir)], cwd=planner, env=env)


def test_notebooks_command_copies_and_never_overwrites(tmp_path, capsys):
    target = tmp_path / "planner"
    assert main(["notebooks", str(target)]) == 0
    out = capsys.readouterr().out
    copied = sorted(p.name for p in (target / "notebooks").glob("*.ipynb"))
    assert copied == sorted(p.name for p in (REPO / "notebooks").glob("*.ipynb"))
    params = (target / "params" / "default.yaml").read_text(encoding="utf-8")
    assert params.startswith("# Copied by `salesmodel notebooks`")  # says how to point it at data
    assert yaml.safe_load(params)["data"]["dir"] == "../data/demo"
    assert "salesmodel sample data/demo" in out and "salesmodel lab" in out

    # an edited notebook is never replaced: exit 2, one message naming it, nothing written
    edited = target / "notebooks" / "02_targets.ipynb"
    edited.write_text("{}", encoding="utf-8")
    (target / "params" / "default.yaml").unlink()
    assert main(["notebooks", str(target)]) == 2
    err = capsys.readouterr().err
    assert "02_targets.ipynb" in err and "nothing was copied" in err and "Traceback" not in err
    assert edited.read_text(encoding="utf-8") == "{}"
    assert not (target / "params" / "default.yaml").exists()

    a_file = tmp_path / "file.txt"
    a_file.write_text("x", encoding="utf-8")
    assert main(["notebooks", str(a_file)]) == 2
    assert "not a folder" in capsys.readouterr().err
