# evalgate: the only entry point. `make run` and `make test` bootstrap everything they need.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
PY := $(VENV)/bin/python
SAM_VENV := .sam-venv
SAM := $(SAM_VENV)/bin/sam
ENV ?= default
export UV_PROJECT_ENVIRONMENT := $(VENV)
export UV_PYTHON := $(PYTHON)
# Bytecode is cached outside the source tree (the tree and `sam build`'s copies stay free of __pycache__), never
# disabled: without it every Python process (each emulated Lambda cold start, each test subprocess) compiled
# boto3, botocore, pydantic and powertools from source again, about 2/3 of a cold start's CPU.
unexport PYTHONDONTWRITEBYTECODE
export PYTHONPYCACHEPREFIX ?= $(CURDIR)/.local/pycache


.PHONY: help run demo test deps imports console-vendor browser lint format typecheck validate openapi openapi-check unit integration e2e rehearsal bench build deploy admin-key smoke clean

help:
	@echo "make run       start the local runtime on 127.0.0.1:3000 (EVALGATE_PORT, EVALGATE_ADMIN_KEY); state kept in"
	@echo "              .local/state (EVALGATE_STATE_DIR), or in memory only with EVALGATE_EPHEMERAL=1"
	@echo "make demo      (with make run up) a prompt, dataset, suite and run, end to end"
	@echo "make test      lint, type-check, sam validate --lint, OpenAPI snapshot, make build, unit + integration + e2e"
	@echo "               tests, the deploy rehearsal (tests/deploy) and the browser tier (tests/browser, headless chromium)"
	@echo "make openapi   regenerate layers/evalgate/evalgate/api/openapi.json from the code"
	@echo "make bench     run the benchmarks under bench/ and print their figures"
	@echo "make imports   print the import graph between the layer's packages (fails on an upward edge)"
	@echo "make build     sam build: the layer for python3.12 arm64 without Docker or python3.12 (.aws-sam/build)"
	@echo "make rehearsal make build, then the deploy rehearsal alone (tests/deploy)"
	@echo "make deploy ENV=dev   sam build + sam deploy with samconfig.toml, the version stamped (README: Deploying to AWS)"
	@echo "make admin-key ENV=dev   a root project and its admin key in the deployed stack, printed once"
	@echo "make smoke     (EVALGATE_URL, EVALGATE_ADMIN_KEY set) the demo against a deployed stack"

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install -q --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --locked --quiet
	@touch $@

deps: $(VENV)/.synced

# uv installs the SAM CLI in seconds where pip took over a minute (it compiles no bytecode up front)
$(SAM_VENV)/.installed: tools/sam-requirements.txt | $(UV)
	$(UV) venv --quiet --allow-existing --python $(PYTHON) $(SAM_VENV)
	$(UV) pip install --quiet --python $(SAM_VENV)/bin/python -r tools/sam-requirements.txt
	@touch $@

run: deps
	$(PY) -m local

demo: deps
	$(PY) -m local.demo

imports: deps
	$(PY) tools/import_graph.py --check

lint: deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: deps
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

typecheck: deps
	$(VENV)/bin/mypy

validate: $(SAM_VENV)/.installed
	AWS_DEFAULT_REGION=us-east-1 SAM_CLI_TELEMETRY=0 $(SAM) validate --lint --template template.yaml

openapi: deps
	$(PY) -m local.openapi

openapi-check: deps
	$(PY) -m local.openapi --check

unit: deps
	$(PY) -m pytest tests/unit -q

integration: deps
	$(PY) -m pytest tests/integration -q

e2e: deps
	$(PY) -m pytest tests/e2e -q

rehearsal: deps build
	$(PY) -m pytest tests/deploy -q

# the browser tier drives Debian's chromium (Playwright's own browser downloads are not used)
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

browser: deps $(CHROMIUM)
	$(PY) -m pytest tests/browser -q

# PYTEST_WORKERS test processes (pytest-xdist, a file at a time): the suite mostly waits on the local runtime
# (cold workers, polling), so a few processes overlap the waiting. The browser tier runs beside them in its own
# session, bounded (a wedged browser must not hold up the suite), and so do the slower static checks (mypy, sam
# validate --lint, the OpenAPI snapshot): the suite leaves a third of the two cores idle while it waits. Their
# output is printed when all are done, and any failure fails `make test`.
PYTEST_WORKERS ?= 3
test: lint $(SAM_VENV)/.installed build $(CHROMIUM)
	@mkdir -p .local
	$(MAKE) --no-print-directory typecheck validate openapi-check > .local/checks.log 2>&1 & checks=$$!; \
	timeout 900 $(PY) -m pytest tests/browser -q -p no:cacheprovider > .local/browser-tier.log 2>&1 & browser=$$!; \
	$(PY) -m pytest tests -q -p no:cacheprovider --ignore=tests/browser -n $(PYTEST_WORKERS) --dist loadfile; main=$$?; \
	wait $$checks; chk=$$?; wait $$browser; tier=$$?; \
	echo "--- checks (typecheck, validate, openapi-check) ---"; cat .local/checks.log; \
	echo "--- browser tier (tests/browser) ---"; cat .local/browser-tier.log; \
	for rc in $$chk $$main $$tier; do if [ $$rc -ne 0 ]; then exit $$rc; fi; done

bench: deps
	$(PY) -m bench.cold_start
	$(PY) -m bench.request_overhead
	$(PY) -m bench.suite_run
	$(PY) -m bench.ingest_stats
	$(PY) -m bench.gate_cache
	$(PY) -m bench.paired_gate
	$(PY) -m bench.auto_eval_drift
	$(PY) -m bench.console_load
	$(PY) -m bench.runtime_memory
	$(PY) -m bench.dataset_versions
	$(PY) -m bench.agreement_coverage

# the console's browser modules, vendored into functions/get_console/static from the pinned npm lockfile
# (committed, so neither `make run` nor `make test` needs the network; run this after changing the pins)
CONSOLE_STATIC := functions/get_console/static
console-vendor:
	cd tools/console && npm ci --ignore-scripts --no-audit --no-fund
	cp tools/console/node_modules/preact/dist/preact.mjs $(CONSOLE_STATIC)/preact.mjs
	cp tools/console/node_modules/preact/hooks/dist/hooks.mjs $(CONSOLE_STATIC)/hooks.mjs
	cp tools/console/node_modules/htm/dist/htm.mjs $(CONSOLE_STATIC)/htm.mjs
	cp tools/console/node_modules/preact/LICENSE $(CONSOLE_STATIC)/LICENSE-preact.txt
	cp tools/console/node_modules/htm/LICENSE $(CONSOLE_STATIC)/LICENSE-htm.txt

build: $(SAM_VENV)/.installed | $(UV)
	SAM_CLI_TELEMETRY=0 $(SAM) build --template template.yaml
	@if command -v file >/dev/null; then file $$(find .aws-sam/build/EvalgateLayer -name '*.so') | sed 's|, BuildID.*||'; fi

deploy: build
	SAM_CLI_TELEMETRY=0 $(SAM) deploy --config-env $(ENV) --parameter-overrides "$$($(PYTHON) tools/version.py --overrides $(ENV))"

admin-key: deps
	$(PY) -m tools.admin_key --config-env $(ENV)

smoke: deps
	@test -n "$$EVALGATE_URL" -a -n "$$EVALGATE_ADMIN_KEY" || { echo "set EVALGATE_URL (the stack's ApiUrl) and EVALGATE_ADMIN_KEY"; exit 2; }
	$(PY) -m local.demo

clean:
	rm -rf $(VENV) $(TOOLS) $(SAM_VENV) .aws-sam .local .pytest_cache .mypy_cache .ruff_cache
