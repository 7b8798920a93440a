# The front door: `make demo` and `make test` on a fresh clone.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
export PIP_DISABLE_PIP_VERSION_CHECK := 1
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: demo test lint typecheck pytest bench clean

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

DEMO_OUT := $(VENV)/demo

demo: $(VENV)/.installed-demo
	@mkdir -p $(DEMO_OUT)
	$(BIN)/papermill --cwd example_notebooks --log-level WARNING \
		example_notebooks/quickstart.ipynb $(DEMO_OUT)/quickstart.ipynb
	@echo "== runs of experiment 'quickstart' (embedded store: .mlops/)"
	$(BIN)/jupyter-mlops runs --experiment quickstart --max 10

lint: $(VENV)/.installed-test
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy

pytest: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q

test: lint typecheck pytest

bench: $(VENV)/.installed-test
	@for script in bench/bench_*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) .mlops build dist
