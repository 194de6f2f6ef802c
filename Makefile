# make run   set up everything and serve the hub with demo data on http://127.0.0.1:$(PORT)
# make test  set up everything and run lint, types and the whole suite (browser tests included)

VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 5000
PYTHON ?= python3

.PHONY: install run test lint typecheck pytest chromium bench clean messages


$(BIN)/.installed: pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/.installed

# Links and the callback's `iss` follow --port unless ONBOARDING_BASE_URL is set (onboarding/urls.py).
run: $(BIN)/.installed
	$(BIN)/onboarding init-db
	$(BIN)/onboarding demo --port $(PORT)
	ONBOARDING_DEMO_RECEIVER=1 ONBOARDING_WEBHOOK_ALLOW_PRIVATE=1 \
		$(BIN)/onboarding serve --port $(PORT) --with-worker

test: lint typecheck pytest

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(BIN)/.installed
	$(BIN)/mypy

pytest: $(BIN)/.installed chromium
	$(BIN)/pytest

chromium:
	@scripts/ensure-chromium

# The hot paths per request in-process, then under gunicorn (onboarding.serving) beside a bare
# Flask endpoint (wrk from Debian's package, else a Python load generator), SQLite then
# PostgreSQL (127.0.0.1:5432, schema bench_http).
BENCH_PG ?= postgresql+psycopg://postgres@127.0.0.1:5432/test

bench: $(BIN)/.installed
	$(BIN)/python -m bench.inprocess
	ONBOARDING_BENCH_DATABASE_URL='$(BENCH_PG)' $(BIN)/python -m bench.inprocess
	$(BIN)/python -m bench.http
	ONBOARDING_BENCH_DATABASE_URL='$(BENCH_PG)' $(BIN)/python -m bench.http
	$(BIN)/python -m bench.lists
	ONBOARDING_BENCH_DATABASE_URL='$(BENCH_PG)' $(BIN)/python -m bench.lists
	$(BIN)/python -m bench.consent_flow
	$(BIN)/python -m bench.partner_api

# Texts to translate: extract what the code and templates mark (babel.cfg), then add the new
# ones to each catalog, empty, for a translator (tests/test_catalogs.py fails until filled).
POT := $(or $(TMPDIR),/tmp)/onboarding-messages.pot

messages: $(BIN)/.installed
	$(BIN)/pybabel -q extract -F babel.cfg -k _l -k N_ --add-location=file --sort-by-file --no-wrap \
		--project="Onboarding Hub" -o $(POT) .
	$(BIN)/pybabel -q update -i $(POT) -d onboarding/translations --no-wrap --no-fuzzy-matching \
		--ignore-obsolete
	rm -f $(POT)

clean:
	rm -rf $(VENV) instance .pytest_cache .mypy_cache .ruff_cache e2e/artifacts
