# Two entry points (see README): `make demo` and `make test`. Both create .venv first when needed.
PY    ?= python3
VENV  := .venv
BIN   := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DATASET ?= sample

.PHONY: venv demo test test-slow export clean-nbs lab kernel browser-check

$(STAMP): pyproject.toml constraints.txt setup.py
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -c constraints.txt -e ".[dev]"
	touch $(STAMP)

venv: $(STAMP)

# The main job on the embedded sample dataset (no download): Table I, Fig. 2 and Table II into reports/$(DATASET)/.
# Table II with the schedule reports/sample was built with (its notebook's defaults are a shorter smoke run).
TABLE2_SCHEDULE := -p pretrain_epochs 30 -p finetune_epochs 200 -p patience 10 -p baseline_pretrain_epochs 10
# The kernels run with glibc's tcache off, as `msm4sr train` does, unless GLIBC_TUNABLES is set (README, "Memory on the CPU").
demo: $(STAMP)
	mkdir -p build/runs
	export HF_HUB_OFFLINE=1 GLIBC_TUNABLES=$${GLIBC_TUNABLES:-glibc.malloc.tcache_count=0} && \
	for nb in table1 fig2 table2; do \
	  extra=; if [ $$nb = table2 ]; then extra="$(TABLE2_SCHEDULE)"; fi; \
	  $(BIN)/papermill --log-level WARNING nbs/$$nb.ipynb build/runs/$$nb-$(DATASET).ipynb -p dataset $(DATASET) \
	    $$extra || exit 1; done

# The whole test suite: pytest on the package + every notebook through nbdev-test + the notebooks in a real
# browser (tests/browser_check.sh: skipped with one line where no Chromium can be had).
# Data and reports go to throw-away folders, so tests never change tracked files. One thread per process
# (OMP_NUM_THREADS, unless set): nbdev-test runs two kernels on two cores, and torch's default of one thread per
# core then oversubscribes them (test_every_variant_runs_on_the_sample took 1,004 s with two threads at load 7,
# 97 s with one at load 5). pytest runs on both cores too (pytest-xdist): one process left a core idle ~6 minutes.
test: $(STAMP)
	export HF_HUB_OFFLINE=1 MSM4SR_DATA=$$(mktemp -d) MSM4SR_REPORTS=$$(mktemp -d) \
	  OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} && \
	$(BIN)/pytest -q -n 2 && \
	$(BIN)/nbdev-test --n-workers 2 && \
	tests/browser_check.sh

# Long runs kept out of `make test` (quality checks that repeat a code path the default suite already smokes).
test-slow: $(STAMP)
	export HF_HUB_OFFLINE=1 MSM4SR_DATA=$$(mktemp -d) MSM4SR_REPORTS=$$(mktemp -d) \
	  OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} && $(BIN)/pytest -q -m slow

export: $(STAMP)
	$(BIN)/nbdev-clean && $(BIN)/nbdev-export   # clean first: it assigns the cell ids the export refers to

# JupyterLab on 127.0.0.1 (token in the printed URL), opening nbs/00_read_first.ipynb (the reading order).
# The notebooks' kernel "python3" is shadowed by a project kernel shown as "msm4sr (Python 3.x)": this .venv's
# Python with glibc's tcache off (kernel.json `env`), registered under build/jupyter, outside the .venv.
# Reports go to ./reports and data to ./data unless MSM4SR_REPORTS / MSM4SR_DATA say otherwise.
KERNELS := build/jupyter/share/jupyter
LAB_PORT ?= 8888
LAB_ARGS ?= $(if $(filter 0,$(shell id -u)),--allow-root)   # root (containers) needs it

kernel: $(STAMP)
	$(BIN)/python -m ipykernel install --prefix build/jupyter --name python3 \
	  --display-name "msm4sr (Python $$($(BIN)/python -c 'import sys; print("%d.%d" % sys.version_info[:2])'))" \
	  --env GLIBC_TUNABLES glibc.malloc.tcache_count=0 > build/kernel-install.log 2>&1 \
	  || { cat build/kernel-install.log; exit 1; }

lab: kernel
	export JUPYTER_PATH=$(CURDIR)/$(KERNELS) HF_HUB_OFFLINE=$${HF_HUB_OFFLINE:-1} \
	  MSM4SR_REPORTS=$${MSM4SR_REPORTS:-$(CURDIR)/reports} MSM4SR_DATA=$${MSM4SR_DATA:-$(CURDIR)/data} && \
	$(BIN)/jupyter lab --no-browser --ServerApp.ip=127.0.0.1 --ServerApp.port=$(LAB_PORT) \
	  --ServerApp.root_dir=$(CURDIR) $(LAB_ARGS) nbs/00_read_first.ipynb

# The notebooks in a real browser (system Chromium): screenshots and result.json in build/browser-check/.
browser-check: $(STAMP)
	tests/browser_check.sh
