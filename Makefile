# Two commands do all set-up on a fresh machine:
#   make demo   - installs, makes sure PostGIS and Redis answer, migrates, builds the demo city,
#                 seeds demo accounts, serves http://127.0.0.1:8000 and drives a simulated city
#                 against it (`courier simulate live`, log in var/live.log; Ctrl-C stops both)
#   make test   - the same set-up, then the whole test suite against real PostGIS and Redis
# `make test-fast` skips the slow end-to-end tests; `make lint` runs ruff.

SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
PYTHON := $(shell scripts/find_python.sh)
DEMO_ENV := COURIER_MODE=demo COURIER_NETWORK=demo
# The simulated city `make demo` runs (DEMO_COURIERS=0: none).
DEMO_PORT ?= 8000
DEMO_COURIERS ?= 30
DEMO_ORDERS_PER_HOUR ?= 120
DEMO_LIVE_LOG ?= var/live.log

CONSOLE_SOURCES := $(shell find console/src -type f 2>/dev/null) console/index.html \
	console/buyer.html console/vite.config.ts console/tsconfig.json console/package.json

.PHONY: install browser services db demo demo-data test test-fast lint bench clean

$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "Python >= 3.12 is required"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

# The console (console/): npm packages when the lock file changes, a build when sources do.
console/node_modules/.installed: console/package-lock.json
	cd console && npm ci --no-audit --no-fund
	touch $@

console/dist/.built: $(CONSOLE_SOURCES) api/i18n.py console/node_modules/.installed | $(BIN)/python
	$(BIN)/python scripts/export_messages.py
	cd console && npm run build
	touch $@

browser:
	@python3 scripts/ensure_browser.py

install: $(VENV)/.installed console/dist/.built browser

services: install
	$(BIN)/python scripts/ensure_services.py

db: services
	$(DEMO_ENV) $(BIN)/courier db upgrade

demo-data: db
	$(DEMO_ENV) $(BIN)/courier geodata synth --name demo
	$(DEMO_ENV) $(BIN)/courier demo seed

demo: demo-data
	@echo
	@echo "Courier dispatch demo"
	@echo "  API:            http://127.0.0.1:$(DEMO_PORT)/api/v1"
	@echo "  OpenAPI docs:   http://127.0.0.1:$(DEMO_PORT)/docs"
	@echo "  Console:        http://127.0.0.1:$(DEMO_PORT)/console/  (sign in as the demo dispatcher)"
	@echo "  Courier WS:     ws://127.0.0.1:$(DEMO_PORT)/ws/courier   Dispatch WS: ws://127.0.0.1:$(DEMO_PORT)/ws/dispatch"
	@echo "  Log in with POST /api/v1/auth/token (form: username, password) using the accounts above."
	@echo "  Simulated city: $(DEMO_COURIERS) couriers, $(DEMO_ORDERS_PER_HOUR) orders/hour once the service is up; log in $(DEMO_LIVE_LOG)."
	@echo
	@$(DEMO_ENV) BIN=$(BIN) DEMO_HOST=127.0.0.1 DEMO_PORT=$(DEMO_PORT) \
		DEMO_COURIERS=$(DEMO_COURIERS) DEMO_ORDERS_PER_HOUR=$(DEMO_ORDERS_PER_HOUR) \
		DEMO_LIVE_LOG=$(DEMO_LIVE_LOG) scripts/demo.sh

# Tests run in a random order (pytest-randomly); the seed is printed first, and
# `make test TEST_SEED=N` runs that order again.
ifndef TEST_SEED
TEST_SEED := $(shell od -An -N2 -tu2 /dev/urandom | tr -d ' ')
endif

test: services
	@echo "random test order: seed $(TEST_SEED) (make test TEST_SEED=$(TEST_SEED) repeats it)"
	$(BIN)/python -m pytest -q -p randomly --randomly-seed=$(TEST_SEED)

test-fast: services
	@echo "random test order: seed $(TEST_SEED) (make test-fast TEST_SEED=$(TEST_SEED) repeats it)"
	$(BIN)/python -m pytest -q -p randomly --randomly-seed=$(TEST_SEED) -m "not slow"

lint: install
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache console/dist console/node_modules
