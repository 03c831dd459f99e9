# Two commands on a fresh machine: `make demo` and `make test`.
# Both build .venv (core + every plugin, editable, with test extras) when missing or
# when a pyproject.toml changed, then run.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.jointfit-installed
PLUGINS := $(wildcard plugins/*/pyproject.toml)
PYTEST_ARGS ?=

.PHONY: all venv demo test test-fast benchmarks clean

all: test

$(STAMP): pyproject.toml $(PLUGINS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]" $(foreach p,$(PLUGINS),-e $(dir $(p)))
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	MPLBACKEND=Agg $(PY) -m jointfit.examples.point_source_fluxes demo-output

test: $(STAMP)
	MPLBACKEND=Agg $(PY) -m pytest -n 2 --dist loadfile $(PYTEST_ARGS)

test-fast: $(STAMP)
	MPLBACKEND=Agg $(PY) -m pytest -n 2 --dist loadfile -m "not slow" $(PYTEST_ARGS)

benchmarks: $(STAMP)
	$(PY) benchmarks/import_time.py

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache
