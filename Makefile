# Two commands set everything up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
DEMO_DATA := data/demo

.PHONY: demo test install sample clean-venv

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,distributed]'
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	@touch $(STAMP)

install: $(STAMP)

$(DEMO_DATA)/sales.parquet: | $(STAMP)
	$(VENV)/bin/salesmodel sample $(DEMO_DATA)

sample: $(DEMO_DATA)/sales.parquet

demo: $(STAMP) $(DEMO_DATA)/sales.parquet
	$(VENV)/bin/salesmodel run params/default.yaml

test: $(STAMP)
	$(PY) -m pytest -n 2 --dist loadfile -q

clean-venv:
	rm -rf $(VENV)
