# The two commands of the README: `make run` (the whole service, embedded default) and `make test`.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: setup run test lint unit bench clean browser

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

run: setup
	$(BIN)/handover up

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

unit: setup
	$(BIN)/pytest tests/unit -q

# The browser tests (tests/e2e/test_ui_browser.py) drive Debian's headless Chromium.
browser:
	sh scripts/ensure-chromium.sh

test: lint browser
	$(BIN)/pytest -q -rfEs --junitxml=$(VENV)/junit.xml
	$(BIN)/python tests/check_no_skips.py $(VENV)/junit.xml

bench: setup
	$(BIN)/python -m tests.bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
