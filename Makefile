# The two commands of the README: `make run` (the whole service, embedded default) and `make test`.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: setup run test test-slow lint unit bench clean browser

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

# The browser tests (tests/e2e/) drive Debian's headless Chromium; the sheets' test also needs pdftoppm.
browser:
	sh scripts/ensure-chromium.sh

# `make test` leaves out the tests marked slow (the 50,000-stay rebuild, soak, fuzzing, faults
# and the end-to-end runs); `make test-slow` runs exactly those, and .ci/run runs both.
test: lint
	$(BIN)/pytest -q -rfEs -m "not slow" --junitxml=$(VENV)/junit.xml
	$(BIN)/python tests/check_no_skips.py $(VENV)/junit.xml

test-slow: setup browser
	$(BIN)/pytest -q -rfEs -m slow --junitxml=$(VENV)/junit-slow.xml
	$(BIN)/python tests/check_no_skips.py $(VENV)/junit-slow.xml

bench: setup
	$(BIN)/python -m tests.bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
