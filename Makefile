# Two commands set everything up on a fresh machine: `make demo` and `make test`.
# Needs Python 3.11 and pip; downloads nothing beyond the package registries.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
DEMO_DATA := data/demo
PARAMS ?= params/default.yaml

.PHONY: help demo test system-packages lint lab install sample validate wheel clean-venv

help:
	@echo "make demo      install (if needed), write the demo company (if missing), run $(PARAMS)"
	@echo "make test      ruff, then the whole test suite (pytest -n 2)"
	@echo "make validate  check $(PARAMS) and its inputs without running anything"
	@echo "make sample    write the demo company's data to $(DEMO_DATA)"
	@echo "make lab       JupyterLab on the notebooks (127.0.0.1), the latest run of $(PARAMS) loaded"
	@echo "make wheel     the installable wheel in dist/ (notebooks and default params inside), built offline"

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,distributed,lab]'
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	@touch $(STAMP)

install: $(STAMP)

$(DEMO_DATA)/actuals.parquet: | $(STAMP)
	$(VENV)/bin/salesmodel sample $(DEMO_DATA) --actuals-to 2027-03-31

sample: $(DEMO_DATA)/actuals.parquet

# The CLI prints the run folder and its leadership HTML.
demo: $(STAMP) $(DEMO_DATA)/actuals.parquet
	$(VENV)/bin/salesmodel run $(PARAMS) || [ $$? -eq 3 ]  # 3: completed, with unmet requirements it names

# Optional third command: explore scenarios in a browser (after `make demo`).
lab: $(STAMP) $(DEMO_DATA)/actuals.parquet
	$(VENV)/bin/salesmodel lab $(PARAMS)

# The wheel carries the notebooks and params/default.yaml (share/salesmodel/); `salesmodel notebooks DIR`
# copies them out of an installed package. setuptools >= 77 comes with the dev extra.
wheel: $(STAMP)
	$(PY) -m pip wheel --quiet --no-deps --no-build-isolation --no-index -w dist .

validate: $(STAMP) $(DEMO_DATA)/actuals.parquet
	$(VENV)/bin/salesmodel validate $(PARAMS)

# ruff (pyflakes, bugbear, simplify, complexity ceiling) and the layers' contracts (import-linter;
# pyproject.toml), then the suite.
lint: $(STAMP)
	$(VENV)/bin/ruff check salesmodel tests benchmarks tools
	$(VENV)/bin/lint-imports

# The system packages the tests need (PostgreSQL, Chromium, LibreOffice, a CJK font): installed when
# missing if run as root, else one message naming them (tools/system_packages.sh).
system-packages:
	@tools/system_packages.sh

test: system-packages lint
	$(PY) -m pytest -n 2 --dist loadfile -q

clean-venv:
	rm -rf $(VENV)
