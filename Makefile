# Two entry points (see README): `make demo` and `make test`. Both create .venv first when needed.
PY    ?= python3
VENV  := .venv
BIN   := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DATASET ?= sample

.PHONY: venv demo test test-slow export clean-nbs

$(STAMP): pyproject.toml constraints.txt setup.py
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -c constraints.txt -e ".[dev]"
	touch $(STAMP)

venv: $(STAMP)

# The main job on the embedded sample dataset (no download): Table I, Fig. 2 and Table II into reports/$(DATASET)/.
# The kernels run with glibc's tcache off, as `msm4sr train` does, unless GLIBC_TUNABLES is set (README, "Memory on the CPU").
demo: $(STAMP)
	mkdir -p build/runs
	export HF_HUB_OFFLINE=1 GLIBC_TUNABLES=$${GLIBC_TUNABLES:-glibc.malloc.tcache_count=0} && \
	for nb in table1 fig2 table2; do \
	  $(BIN)/papermill --log-level WARNING nbs/$$nb.ipynb build/runs/$$nb-$(DATASET).ipynb -p dataset $(DATASET) || exit 1; done

# The whole test suite: pytest on the package + every notebook through nbdev-test.
# Data and reports go to throw-away folders, so tests never change tracked files.
test: $(STAMP)
	export HF_HUB_OFFLINE=1 MSM4SR_DATA=$$(mktemp -d) MSM4SR_REPORTS=$$(mktemp -d) && \
	$(BIN)/pytest -q && \
	$(BIN)/nbdev-test --n-workers 2

# Long runs kept out of `make test` (quality checks that repeat a code path the default suite already smokes).
test-slow: $(STAMP)
	export HF_HUB_OFFLINE=1 MSM4SR_DATA=$$(mktemp -d) MSM4SR_REPORTS=$$(mktemp -d) && $(BIN)/pytest -q -m slow

export: $(STAMP)
	$(BIN)/nbdev-clean && $(BIN)/nbdev-export   # clean first: it assigns the cell ids the export refers to
