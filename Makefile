# Zoho Books customer sync. Every target sets up what it needs, idempotently:
# the virtualenv (.venv, rebuilt only when requirements.txt or constraints.txt change), the
# project-local Postgres when AIRFLOW_CONN_WAREHOUSE_DEFAULT is not set, AIRFLOW_HOME under
# .local/airflow unless set, the warehouse schema, the Airflow metadata database.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed
ENV := scripts/with-env
ENV_SANDBOX := scripts/with-env --sandbox
PYTEST_ARGS ?=

.PHONY: help venv setup run test airflow sync-nightly sync-incremental stop migrate lock clean docs

help:
	@grep -E '^## ' Makefile | sed 's/## //'

## make run              fresh machine → venv, local Postgres, sandbox, nightly + incremental run, summary
run: setup
	$(ENV_SANDBOX) scripts/run_dag.sh zoho_sync_nightly
	$(ENV_SANDBOX) scripts/run_dag.sh zoho_sync_incremental
	$(ENV_SANDBOX) python -m zoho.summary

## make test             the whole test suite (unit, integration, whole-DAG runs, dbt tests)
test: setup
	$(ENV) python -m pytest $(PYTEST_ARGS)

## make airflow          Airflow UI + scheduler on http://localhost:8080 (login admin / admin)
airflow: setup
	$(ENV_SANDBOX) scripts/airflow_standalone.sh

## make sync-nightly     run zoho_sync_nightly once against what the environment configures
sync-nightly: setup
	$(ENV_SANDBOX) scripts/run_dag.sh zoho_sync_nightly

## make sync-incremental run zoho_sync_incremental once
sync-incremental: setup
	$(ENV_SANDBOX) scripts/run_dag.sh zoho_sync_incremental

## make stop             stop the local Postgres, the sandbox and a local Airflow
stop:
	-@pkill -f "airflow standalone" 2>/dev/null || true
	-@[ -x $(VENV)/bin/python ] && $(VENV)/bin/python scripts/devenv.py down || $(PYTHON) scripts/devenv.py down

## make migrate          apply the warehouse schema migrations
migrate: venv
	$(ENV) python -m zoho.schema upgrade

setup: venv
	$(ENV) scripts/setup_airflow.sh

venv: $(STAMP)

$(STAMP): requirements.txt constraints.txt
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --disable-pip-version-check uv==0.13.9 || $(VENV)/bin/python -m pip install -q --disable-pip-version-check uv
	$(VENV)/bin/uv pip install --python $(VENV)/bin/python -q -r requirements.txt -c constraints.txt
	@touch $(STAMP)

## make lock             re-resolve constraints.txt from requirements.txt
lock: venv
	$(VENV)/bin/uv pip compile -q requirements.txt -o constraints.txt --python $(VENV)/bin/python

clean: stop
	rm -rf .local $(VENV)
