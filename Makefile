# Two entry points (README quick start): `make run` and `make test`. Both set up .venv and the web UI first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
WEB_BUILD := evolab/server/static/index.html
WEB_SOURCES := $(shell find web/src web/index.html web/package.json web/package-lock.json web/vite.config.ts web/tsconfig.json -type f 2>/dev/null)
CHROMIUM := /usr/bin/chromium

.PHONY: run test lint bench setup web browser serve clean

setup: $(STAMP) $(WEB_BUILD)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The browser UI: TypeScript + three.js, built by Vite into evolab/server/static (served by `evolab serve`).
web: $(WEB_BUILD)

$(WEB_BUILD): $(WEB_SOURCES)
	cd web && npm ci --no-audit --no-fund --loglevel=error && npm run build

# End-to-end tests drive Debian's Chromium with Playwright (never a downloaded browser).
browser: $(CHROMIUM)

$(CHROMIUM):
	if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null

run: setup
	$(BIN)/evolab evolve --preset quick --generations 30 --seed 1

test: setup browser
	$(BIN)/ruff check .
	$(BIN)/ruff format --check evolab tests
	$(BIN)/pytest -q -n auto

serve: setup
	$(BIN)/evolab serve

bench: $(STAMP)
	$(BIN)/evolab bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis evolab/server/static web/node_modules
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
