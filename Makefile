# Two commands on a fresh machine: `make demo` and `make test`.
# Both build .venv (core + every plugin, editable, with test extras) with the default python3
# and every direct dependency at its lower bound (constraints/lowest.txt) when missing or
# when a pyproject.toml or the constraints changed, then run.
# `make test-latest` / `make demo-latest` do the same in .venv-latest with the newest Python
# that pyenv has (python3 without pyenv) and the newest releases (`make clean` to refresh).
# CI (.ci/run) runs both suites.
# Where mpicc is on PATH (an MPI installed: Open MPI's libopenmpi-dev), both venvs get the mpi
# extra too (mpi4py, for UltraNest under mpiexec and tests/test_mpi.py); the stamps' names say
# whether they have it, so installing MPI later rebuilds them.

comma  := ,
MPI_EXTRA := $(if $(shell command -v mpicc 2>/dev/null),mpi)
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.jointfit-installed$(if $(MPI_EXTRA),-$(MPI_EXTRA))
CONSTRAINTS := constraints/lowest.txt
PLUGINS := $(wildcard plugins/*/pyproject.toml)
EDITABLES = -e ".[test$(if $(MPI_EXTRA),$(comma)$(MPI_EXTRA))]" $(foreach p,$(PLUGINS),-e $(dir $(p)))
PYTEST_ARGS ?=

# The newest CPython 3.x that pyenv has and requires-python (>=3.11) admits, else python3.
PYENV_NEWEST = $(shell pyenv versions --bare 2>/dev/null | grep -E '^3\.(1[1-9]|[2-9][0-9])\.[0-9]+$$' | sort -V | tail -n 1)
PYTHON_LATEST ?= $(if $(PYENV_NEWEST),$(shell pyenv root)/versions/$(PYENV_NEWEST)/bin/python3,python3)
VENV_LATEST  := .venv-latest
PY_LATEST    := $(VENV_LATEST)/bin/python
STAMP_LATEST := $(VENV_LATEST)/.jointfit-installed$(if $(MPI_EXTRA),-$(MPI_EXTRA))

# printed before each suite: which Python and which releases it resolved
SHOW_VERSIONS = import sys, importlib.metadata as m; print("Python", sys.version.split()[0], sys.executable); print(", ".join(n + " " + m.version(n) for n in ("jax", "jaxlib", "numpy", "numpyro", "arviz", "astropy", "scipy", "pandas", "matplotlib", "h5netcdf", "h5py", "ultranest", "speclite", "dust_extinction")))

.PHONY: all venv venv-latest demo demo-latest test test-latest test-fast benchmarks clean

all: test

$(STAMP): pyproject.toml $(PLUGINS) $(CONSTRAINTS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c $(CONSTRAINTS) $(EDITABLES)
	touch $(STAMP)

$(STAMP_LATEST): pyproject.toml $(PLUGINS)
	test -x $(PY_LATEST) || $(PYTHON_LATEST) -m venv $(VENV_LATEST)
	echo '*' > $(VENV_LATEST)/.gitignore
	$(PY_LATEST) -m pip install --quiet --upgrade pip
	$(PY_LATEST) -m pip install --quiet --upgrade --upgrade-strategy eager $(EDITABLES)
	touch $(STAMP_LATEST)

venv: $(STAMP)

venv-latest: $(STAMP_LATEST)

demo: $(STAMP)
	MPLBACKEND=Agg $(PY) -m jointfit.examples.point_source_fluxes demo-output

demo-latest: $(STAMP_LATEST)
	MPLBACKEND=Agg $(PY_LATEST) -m jointfit.examples.point_source_fluxes demo-output/latest

# Each suite keeps its caches (JAX's compiled programs, matplotlib's fonts) in its own venv.
test: $(STAMP)
	@$(PY) -c '$(SHOW_VERSIONS)'
	JOINTFIT_EXPECT_LOWEST=1 XDG_CACHE_HOME=$(CURDIR)/$(VENV)/cache MPLBACKEND=Agg \
	    $(PY) -m pytest -n 2 --dist loadfile $(PYTEST_ARGS)

test-latest: $(STAMP_LATEST)
	@$(PY_LATEST) -c '$(SHOW_VERSIONS)'
	XDG_CACHE_HOME=$(CURDIR)/$(VENV_LATEST)/cache MPLBACKEND=Agg \
	    $(PY_LATEST) -m pytest -n 2 --dist loadfile $(PYTEST_ARGS)

test-fast: $(STAMP)
	JOINTFIT_EXPECT_LOWEST=1 XDG_CACHE_HOME=$(CURDIR)/$(VENV)/cache MPLBACKEND=Agg \
	    $(PY) -m pytest -n 2 --dist loadfile -m "not slow" $(PYTEST_ARGS)

benchmarks: $(STAMP)
	$(PY) benchmarks/import_time.py

clean:
	rm -rf $(VENV) $(VENV_LATEST) build dist *.egg-info .pytest_cache
