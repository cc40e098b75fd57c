# pinmap: `make run` serves the map, `make test` runs every test. `make help` lists the rest.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV ?= .venv
PY := $(VENV)/bin/python
PINMAP_HOST ?= 127.0.0.1
PINMAP_PORT ?= 8000
PINMAP_WORKERS ?= 2
# gevent greenlets per worker; each open map (later: each live stream) holds one.
PINMAP_WORKER_CONNECTIONS ?= 4000
PINMAP_PG_PORT ?= 54329
export PINMAP_PG_PORT
# pytest-xdist workers for `make test`; one PostGIS cluster serves them all.
TEST_WORKERS ?= 2
# Every pytest process (the controller, each worker, the servers tests start) compiles the
# modules it imports, and pytest rewrites the asserts of tests and plugins: with
# PYTHONDONTWRITEBYTECODE set, all of it again in each process of each run (~5 s of CPU apiece).
# `make test` keeps that bytecode under var/pycache (ignored by git) and reuses it.
TEST_ENV = env -u PYTHONDONTWRITEBYTECODE PYTHONPYCACHEPREFIX=$(CURDIR)/var/pycache
SHARED_BOUNDARIES := ../shared/reference/boundaries/mapthai_th_adm1.geojson
PINMAP_BOUNDARIES ?= $(if $(wildcard $(SHARED_BOUNDARIES)),$(SHARED_BOUNDARIES),)
export PINMAP_BOUNDARIES
# Use DATABASE_URL when given; otherwise the embedded cluster under var/.
DB_ENV = DATABASE_URL="$${DATABASE_URL:-$$(cat var/db.url)}"

.PHONY: help run stop test bench lint format deps install assets db migrate data boundaries clean translations basemap

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-11s %s\n", $$1, $$2}'

run: install db ## set everything up and serve the map on http://$(PINMAP_HOST):$(PINMAP_PORT)
	@$(DB_ENV) $(VENV)/bin/pinmap setup
	@scripts/serve.sh start

stop: ## stop the server and the embedded database
	@scripts/serve.sh stop
	@if [ -d var/pg ]; then $(PY) -m pinmap.localdb stop --datadir var/pg; fi

test: install scripts/basemap/node_modules/.installed ## run the whole test suite (throwaway PostGIS, headless Chromium)
	@scripts/install_system.sh test
	$(TEST_ENV) $(PY) -m pytest -n $(TEST_WORKERS) --dist loadgroup --no-loadscope-reorder

bench: install ## run the benchmarks under bench/ (about 12 minutes)
	@scripts/install_system.sh bench
	$(PY) bench/map_page.py
	$(PY) bench/school_layer.py
	$(PY) bench/live_fanout.py
	$(PY) bench/ingest.py
	$(PY) bench/dashboard_triggers.py  # the read-model's triggers in a national sync: per row vs per statement
	$(PY) bench/planner.py
	$(PY) bench/load.py
	$(PY) bench/api_load.py
	$(PY) bench/reports.py  # the national PDF, then the dashboard's query (bench/dashboard.py)
	$(PY) bench/request_queries.py  # queries and time of a signed-in page or API call

lint: install ## ruff lint and format check, the import contracts and mypy (pyproject.toml)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

format: install ## ruff format and autofix
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

deps: ## install missing Debian packages (PostgreSQL + PostGIS, Node.js)
	@scripts/install_system.sh run

install: deps $(VENV)/.installed static/vendor/.installed pinmap/translations/th/LC_MESSAGES/messages.mo ## virtualenv, npm assets, translations

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

# The basemap's build packages (Natural Earth, ~95 MB) are needed only to rebuild it and by the
# test that the committed file is what the build writes, so `make install` does not fetch them.
scripts/basemap/node_modules/.installed: scripts/basemap/package.json scripts/basemap/package-lock.json
	npm ci --prefix scripts/basemap --no-audit --no-fund --loglevel=error
	@touch $@

basemap: scripts/basemap/node_modules/.installed ## rebuild data/basemap/thailand.topo.json from Natural Earth
	node scripts/build_basemap.mjs

static/vendor/.installed: package.json package-lock.json scripts/vendor_assets.sh \
		static/js/basemap.js static/js/pinmap.js static/js/map-filters.js
	npm ci --no-audit --no-fund --loglevel=error
	scripts/vendor_assets.sh
	@touch $@

pinmap/translations/th/LC_MESSAGES/messages.mo: pinmap/translations/th/LC_MESSAGES/messages.po $(VENV)/.installed
	$(VENV)/bin/pybabel compile --use-fuzzy -d pinmap/translations

db: install ## start the embedded PostGIS cluster (skipped when DATABASE_URL is set)
	@mkdir -p var
	@if [ -z "$$DATABASE_URL" ]; then $(PY) -m pinmap.localdb up --datadir var/pg --url-file var/db.url; fi

migrate: db ## apply Alembic migrations
	@$(DB_ENV) $(VENV)/bin/pinmap db upgrade

data: migrate ## validate and load data/*.csv
	@$(DB_ENV) $(VENV)/bin/pinmap data load

boundaries: migrate ## import $PINMAP_BOUNDARIES (province level) when set
	@if [ -n "$$PINMAP_BOUNDARIES" ]; then \
	  $(DB_ENV) $(VENV)/bin/pinmap boundaries import "$$PINMAP_BOUNDARIES" --level province --if-changed \
	    --attribution "$${PINMAP_BOUNDARIES_ATTRIBUTION:-OCHA / Royal Thai Survey Department, via HDX (CC BY-IGO 3.0)}"; \
	else echo "PINMAP_BOUNDARIES not set: no province outlines (see data/boundaries/README.md)"; fi

translations: install ## extract UI text and update the Thai catalogue
	$(VENV)/bin/pybabel extract -F babel.cfg -k N_ -o pinmap/translations/messages.pot --no-location -w 200 .
	$(VENV)/bin/pybabel update -i pinmap/translations/messages.pot -d pinmap/translations -w 200 --no-fuzzy-matching

clean: stop ## stop everything and delete var/ (the embedded database)
	rm -rf var
