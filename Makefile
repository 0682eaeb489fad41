# Billomat Autopilot — the two README commands are `make run` and `make test`.
# Everything the project needs is installed by these targets on a fresh machine.

SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV   := .venv
TOOLS  := .tools
PY     := $(VENV)/bin/python
SAM    := SAM_CLI_TELEMETRY=0 $(TOOLS)/bin/sam
# The shared layer's runtime deps: requirements.in (top-level pins) -> requirements.txt (`make lock`).
LAYER_LOCK := layers/shared/requirements.txt
UV_VERSION := 0.13.8

# The Lambda runtime is python3.13: find a real 3.13 interpreter (pyenv's 3.13.x first).
PYTHON313 ?= $(shell for p in "$$(pyenv prefix 3.13.0 2>/dev/null)/bin/python3.13" \
	$$(ls -d $$HOME/.pyenv/versions/3.13*/bin/python3.13 2>/dev/null) \
	"$$(command -v python3.13 2>/dev/null)"; do \
	[ -x "$$p" ] && "$$p" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' 2>/dev/null \
	&& { echo "$$p"; break; }; done)
# SAM CLI gets its own venv on any python3 >= 3.9 (it pins older boto3/pydantic than the app).
TOOLS_PYTHON ?= python3
# `sam build` looks for python3.13 on PATH; pyenv shims resolve it only when enabled.
SAM_PYENV_VERSION ?= $(shell pyenv versions --bare 2>/dev/null | grep -E '^3\.13' | head -1):$(shell pyenv version-name 2>/dev/null)

.PHONY: help venv tools lock test lint format typecheck pytest template build serve run bench report-preview import-catalogue autopilot clean

help:
	@echo "make run    - start local mode on the embedded Billomat sandbox, replay events/, show what happened"
	@echo "make test   - ruff, mypy, pytest, cfn-lint and sam validate --lint"
	@echo "make serve  - local mode only (PORT, BILLOMAT_BASE_URL, ... see README)"
	@echo "make build  - sam build (python3.13, arm64), then verify the layer against the hash lock"
	@echo "make lock   - re-lock layers/shared/requirements.txt (hashes, all pins) from requirements.in"
	@echo "make bench  - measurements in bench/"
	@echo "make report-preview - render the sample monthly report to out/report-preview.png"
	@echo "make import-catalogue CSV=... FORMAT=shopify|woocommerce SHOP=... [LOCAL=url | STACK=name]"
	@echo "                     - import a shop's product CSV export into Billomat articles (README)"
	@echo "make autopilot ARGS='--local http://127.0.0.1:3000 status' - the operator CLI (README)"

$(VENV)/.installed: requirements-dev.txt $(LAYER_LOCK) pyproject.toml
	@if [ -z "$(PYTHON313)" ]; then \
	  echo "error: Python 3.13 not found. The Lambda runtime is python3.13; install it (e.g. 'pyenv install 3.13.0')" >&2; \
	  echo "       or pass PYTHON313=/path/to/python3.13." >&2; exit 1; fi
	@echo "creating $(VENV) with $(PYTHON313)"
	@[ -x $(PY) ] || $(PYTHON313) -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	@# 1) the layer's hash lock, hash-checked; 2) the dev tools, held to the locked versions
	@#    (pip refuses hashes in a constraints file, so the constraints are the lock's name==version lines).
	@$(PY) -m pip install --quiet --disable-pip-version-check --require-hashes -r $(LAYER_LOCK)
	@sed -n 's/^\([A-Za-z0-9][^ ]*==[^ ]*\).*/\1/p' $(LAYER_LOCK) > $(VENV)/layer-constraints.txt
	@$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c $(VENV)/layer-constraints.txt
	@# 3) the project itself, editable and without dependencies: the `autopilot` console script
	@set -o pipefail; $(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e . 2>&1 \
	  | { grep -v -e BuildBackendWarning -e '^ *[*!]*$$' -e 'folders in your working directory' \
	      -e 'take precedence during imports' -e 'WheelFile(wheel_path' || true; }
	@touch $@

$(TOOLS)/.installed: requirements-tools.txt
	@echo "creating $(TOOLS) (SAM CLI, cfn-lint)"
	@[ -x $(TOOLS)/bin/python ] || $(TOOLS_PYTHON) -m venv $(TOOLS)
	@$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	@$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-tools.txt
	@touch $@

venv: $(VENV)/.installed
tools: $(TOOLS)/.installed

test: lint typecheck pytest template

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: venv
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

typecheck: venv
	$(VENV)/bin/mypy layers/shared/autopilot
	$(VENV)/bin/mypy local functions/*/* cli scripts

pytest: venv
	$(PY) -m pytest -q -p no:cacheprovider -n 2

template: tools
	$(TOOLS)/bin/cfn-lint template.yaml
	$(SAM) validate --lint

# sam build fetches arm64 wheels of binary packages without their hashes (on an x86_64 machine);
# verify_layer.py downloads the lock hash-checked and compares the built layer with it (README).
build: tools venv
	PYENV_VERSION=$(SAM_PYENV_VERSION) $(SAM) build
	$(PY) scripts/verify_layer.py

# Re-locks the layer: every transitive pin with the sha256 of each of its files, resolved for the
# Lambda runtime (python3.13 on arm64 Linux). Keeps the versions already locked unless
# requirements.in needs others; UPGRADE=1 moves everything to the newest allowed.
lock: tools
	@$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(TOOLS)/bin/uv pip compile --quiet --generate-hashes --python-version 3.13 \
	  --python-platform aarch64-manylinux_2_28 $(if $(UPGRADE),--upgrade) \
	  layers/shared/requirements.in -o $(LAYER_LOCK)

serve: venv
	$(PY) -m local.server

run: venv
	$(PY) -m local.run

bench: venv
	$(PY) bench/coldstart.py
	$(PY) bench/order_requests.py
	$(PY) bench/deal_requests.py
	$(PY) bench/article_requests.py
	$(PY) bench/refund_requests.py
	$(PY) bench/catalogue_import.py
	$(PY) bench/mixed_burst.py
	$(PY) bench/report_requests.py
	$(PY) bench/bank_matching.py
	$(PY) bench/intake_fuzz.py

# The catalogue import (README: Catalogue import): LOCAL=http://127.0.0.1:3000 for local mode,
# else a real account: STACK=<deployed stack> (or TABLE=...), BILLOMAT_API_KEY in the environment.
# IMPORT_ARGS passes more options (--dry-run, --state FILE, --region, --billomat-id, ...).
import-catalogue: venv
	@if [ -z "$(CSV)" ] || [ -z "$(FORMAT)" ] || [ -z "$(SHOP)" ]; then \
	  echo "usage: make import-catalogue CSV=products.csv FORMAT=shopify|woocommerce SHOP=<shop> [LOCAL=<url> | STACK=<stack>] [IMPORT_ARGS=...]" >&2; exit 2; fi
	$(PY) scripts/import_catalogue.py --format "$(FORMAT)" --shop "$(SHOP)" \
	  $(if $(LOCAL),--local "$(LOCAL)") $(if $(STACK),--stack "$(STACK)") $(if $(TABLE),--table "$(TABLE)") \
	  $(IMPORT_ARGS) "$(CSV)"

# The operator CLI (README: The `autopilot` CLI), the same as bin/autopilot $(ARGS).
autopilot: venv
	@$(PY) -m cli.autopilot $(ARGS)

# Renders the sample monthly report to out/report-preview.png (installs Debian's chromium).
report-preview: venv
	@[ -x /usr/bin/chromium ] || (apt-get update -qq && apt-get install -y -qq chromium)
	$(PY) bench/report_preview.py

clean:
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache
