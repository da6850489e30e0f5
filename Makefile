# xstilts: two commands do all the set-up on a fresh machine.
#   make study   venv + kernel + embedded assets, then the default study (runs/, reports/)
#   make test    the same set-up, then the whole suite (unit, nbval, end-to-end quick study)

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
STUDY  ?= params/default.yaml
JOBS   ?= 1
export TQDM_MININTERVAL ?= 5

.PHONY: setup lock system-deps assets study test test-fast lint format bench report status tasks dry-run slurm-up slurm-down clean

setup: $(STAMP)

# The environment comes from requirements.lock (every package pinned, torch's CPU build among
# them); pyproject.toml keeps the ranges. `make lock` writes the lock again from a fresh resolve.
$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/python -m pip check
	$(BIN)/python -m ipykernel install --sys-prefix --name xstilts --display-name "Python (xstilts)" >/dev/null
	touch $(STAMP)

lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet -e ".[dev]"
	{ echo "# make lock: every package of pyproject.toml (with the dev extra) at the version resolved"; \
	  echo "# on $$(date -u +%F) for Python $$(.lock-venv/bin/python -c 'import platform; print(platform.python_version())')."; \
	  echo "# torch is its CPU build (+cpu): outside this machine's wheel folder, PyTorch's CPU index serves it"; \
	  echo "# (PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu)."; \
	  .lock-venv/bin/python -m pip freeze --exclude-editable; } > requirements.lock
	rm -rf .lock-venv

# npm, chromium, slurm-wlm, munge from Debian when root; otherwise the tests needing them skip.
system-deps:
	@bash scripts/install_system_deps.sh

assets: $(STAMP)
	$(BIN)/python -m xstilts assets

study: assets
	$(BIN)/python -m xstilts run $(STUDY) --jobs $(JOBS)

report: $(STAMP)
	$(BIN)/python -m xstilts report $(STUDY)

status: $(STAMP)
	$(BIN)/python -m xstilts status $(STUDY)

dry-run: $(STAMP)
	$(BIN)/python -m xstilts run $(STUDY) --dry-run

tasks: $(STAMP)
	$(BIN)/python -m xstilts tasks

test: system-deps assets
	TQDM_DISABLE=1 $(BIN)/python -m pytest -q -p no:cacheprovider tests
	TQDM_DISABLE=1 $(BIN)/python -m pytest -q -p no:cacheprovider --nbval-lax --nbval-current-env notebooks

test-fast: $(STAMP)
	TQDM_DISABLE=1 $(BIN)/python -m pytest -q -m "not slow and not e2e" tests

lint: $(STAMP)
	$(BIN)/ruff check lib tests bench notebooks
	$(BIN)/ruff format --check lib tests bench

format: $(STAMP)
	$(BIN)/ruff check --fix lib tests bench notebooks
	$(BIN)/ruff format lib tests bench

bench: assets
	$(BIN)/python -m bench

clean:
	rm -rf runs reports/*/ reports/index.html

slurm-up:
	scripts/slurm_local.sh up

slurm-down:
	scripts/slurm_local.sh down
