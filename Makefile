# The front door: `make demo` and `make test` on a fresh clone.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
export PIP_DISABLE_PIP_VERSION_CHECK := 1
export PYTHONDONTWRITEBYTECODE := 1
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1

.PHONY: demo lab test lint typecheck pytest bench docs clean labextension jstest jslint chromium
.PHONY: test-services pytest-team test-compat test-compat-all

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall when the project's declared dependencies change.
$(VENV)/.installed-demo: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[examples]"
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test,examples]"
	touch $@ $(VENV)/.installed-demo

# Beside the examples, where `make lab` shows it (git ignores mlops-outputs/).
DEMO_OUT := example_notebooks/mlops-outputs

demo: $(VENV)/.installed-demo
	@echo "== quickstart.ipynb, headless (one run named after it, nested runs from its cells)"
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/jupyter-mlops run example_notebooks/quickstart.ipynb \
		--output $(DEMO_OUT)/quickstart.ipynb --quiet
	@echo "== runs of experiment 'quickstart' (embedded store: .mlops/)"
	$(BIN)/jupyter-mlops runs --experiment quickstart --max 10
	@echo "== pipeline: prepare -> train (grid sweep) -> evaluate; unchanged steps are cached"
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/jupyter-mlops pipeline run \
		example_notebooks/pipeline/pipeline.yaml --quiet
	@echo "== registered model 'wine'"
	$(BIN)/jupyter-mlops models wine
	@# the demo's warm worker and kernel templates would only linger, idle, for ten minutes
	@$(BIN)/jupyter-mlops worker stop > /dev/null
	@echo "== see it all in JupyterLab's MLOps sidebar: make lab"

# JupyterLab on the examples, with the MLOps sidebar and the store the demo filled.
# LAB_ARGS adds options, e.g. make lab LAB_ARGS="--no-browser --port 8899".
LAB_ARGS ?=
lab: $(VENV)/.installed-demo
	$(BIN)/jupyter lab --ServerApp.root_dir=example_notebooks --ServerApp.ip=127.0.0.1 \
		$(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check src tests bench docs
	$(BIN)/ruff format --check src tests bench docs/*.py

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy

# Test files run on parallel workers (a file's tests stay together, sharing its servers):
# one per core, at least 2 and at most 4 (each worker starts kernels, Lab and servers).
PYTEST_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 2); \
	if [ $$n -lt 2 ]; then n=2; elif [ $$n -gt 4 ]; then n=4; fi; echo $$n)
PYTEST := $(BIN)/python -m pytest -q -n $(PYTEST_WORKERS) --dist loadfile --durations=15

pytest: $(VENV)/.installed-test
	$(PYTEST)

# Team mode: the integration tests again, on `mlflow server` + a private PostgreSQL cluster.
test-services:
	sh scripts/ensure-test-services.sh

pytest-team: $(VENV)/.installed-test test-services
	MLOPS_TEST_STORE=server $(PYTEST) -m integration tests/integration

# JupyterLab extension: npm (not yarn) + jupyter-builder from the venv; rebuilt when sources change.
LABEXT     := labextension
LABEXT_OUT := src/jupyter_mlops/labextension/static/style.js
LABEXT_SRC := $(LABEXT)/package.json $(LABEXT)/tsconfig.json $(wildcard $(LABEXT)/src/*.ts $(LABEXT)/style/*)
LABEXT_DEV := $(VENV)/share/jupyter/labextensions/jupyter-mlops

$(LABEXT)/node_modules/.package-lock.json: $(LABEXT)/package.json $(LABEXT)/package-lock.json
	cd $(LABEXT) && npm ci --no-audit --no-fund
	touch $@

$(LABEXT_OUT): $(LABEXT_SRC) $(LABEXT)/node_modules/.package-lock.json | $(VENV)/.installed-test
	cd $(LABEXT) && PATH="$(abspath $(BIN)):$$PATH" npm run build:prod
	touch $@

# The venv serves the checkout's build (what `jupyter labextension develop` does).
labextension: $(LABEXT_OUT)
	@if [ ! -L $(LABEXT_DEV) ]; then rm -rf $(LABEXT_DEV); mkdir -p $(dir $(LABEXT_DEV)); \
		ln -s $(abspath src/jupyter_mlops/labextension) $(LABEXT_DEV); fi

jstest: $(LABEXT)/node_modules/.package-lock.json
	cd $(LABEXT) && npm test --silent

jslint: $(LABEXT)/node_modules/.package-lock.json
	cd $(LABEXT) && npm run lint --silent

# Browser tests drive Debian's Chromium (never a downloaded browser build).
chromium:
	@command -v chromium >/dev/null 2>&1 || { apt-get update && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium; }

# The compatibility matrix: the tests marked `compat` again in uv-made environments at the
# other ends of the supported MLflow and pandas ranges (scripts/test_compat.py, .compat/);
# the test venv itself is the newest end. test-compat-all adds the mixed corners.
test-compat: $(VENV)/.installed-test
	$(BIN)/python scripts/test_compat.py

test-compat-all: $(VENV)/.installed-test
	$(BIN)/python scripts/test_compat.py --all

test: lint typecheck labextension jslint jstest chromium pytest pytest-team test-compat docs

# The documentation site, strictly: a broken link or anchor, a page missing from the nav or a
# stale generated page fails. The examples are executed once, then only when they change.
docs: $(VENV)/.installed-test
	$(BIN)/python docs/generate.py --check
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python docs/examples.py
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet
	@echo "site: build/site/index.html"

# Every bench script (or BENCH=bench/bench_x.py), its tables kept in bench/results/ with date,
# machine and load, then docs/benchmarks.md assembled from them.
BENCH ?= $(wildcard bench/bench_*.py)
bench: $(VENV)/.installed-test
	@for script in $(BENCH); do echo "== $$script"; $(BIN)/python bench/record.py $$script || exit 1; done
	$(BIN)/python docs/generate.py

clean:
	rm -rf $(VENV) .mlops build dist
