# Zoho Books customer sync. Every target sets up what it needs, idempotently:
# the virtualenv (.venv with the project installed editable; rebuilt only when requirements.txt,
# constraints.txt or pyproject.toml change), the
# project-local Postgres when AIRFLOW_CONN_WAREHOUSE_DEFAULT is not set, AIRFLOW_HOME under
# .local/airflow unless set, the warehouse schema, the Airflow metadata database.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed
ENV := scripts/with-env
ENV_SANDBOX := scripts/with-env --sandbox
PYTEST_ARGS ?=

.PHONY: help venv setup run test airflow sync-nightly sync-incremental stop migrate lock clean docs docs-serve verify bench bench-plans bench-sender bench-runcost bench-tenants cluster cluster-stop

help:
	@grep -E '^## ' Makefile | sed 's/## //'

## make run              fresh machine → venv, local Postgres, sandbox, nightly + incremental run, summary
run: setup
	$(ENV_SANDBOX) scripts/run_dag.sh zoho_sync_nightly
	$(ENV_SANDBOX) scripts/run_dag.sh zoho_sync_incremental
	$(ENV_SANDBOX) python -m zoho.checks.summary

## make test             the whole test suite (unit, integration, whole-DAG runs, dbt tests)
test: setup
	@scripts/ensure_browser.sh
	$(ENV) python -m pytest $(PYTEST_ARGS)

## make airflow          Airflow UI + scheduler on http://localhost:8080 (login admin / admin)
airflow: setup
	$(ENV_SANDBOX) scripts/airflow_standalone.sh

## make cluster          a local scale-out deployment: API server, scheduler, DAG processor, a Redis broker, 2 Celery workers (CLUSTER_ARGS="--workers 3 --executor local")
cluster: setup
	$(ENV_SANDBOX) python scripts/cluster.py up $(CLUSTER_ARGS)

## make cluster-stop     stop it (its own Redis too, if it started one)
cluster-stop:
	-@[ -x $(VENV)/bin/python ] && $(ENV) python scripts/cluster.py down

## make sync-nightly     run zoho_sync_nightly once against what the environment configures
sync-nightly: setup
	$(ENV_SANDBOX) scripts/run_dag.sh zoho_sync_nightly

## make sync-incremental run zoho_sync_incremental once
sync-incremental: setup
	$(ENV_SANDBOX) scripts/run_dag.sh zoho_sync_incremental

## make stop             stop the local Postgres, the sandbox and a local Airflow
stop:
	-@pkill -f "airflow standalone" 2>/dev/null || true
	-@[ -x $(VENV)/bin/python ] && [ -f .local/airflow/cluster/state.json ] && $(ENV) python scripts/cluster.py down || true
	-@[ -x $(VENV)/bin/python ] && $(VENV)/bin/python scripts/devenv.py down || $(PYTHON) scripts/devenv.py down

## make migrate          apply the warehouse schema migrations
migrate: venv
	$(ENV) python -m zoho.warehouse.schema upgrade

setup: venv
	$(ENV) scripts/setup_airflow.sh

venv: $(STAMP)

# The project itself is installed editable (pyproject.toml: the package `zoho` from plugins/, and
# its apache_airflow_provider entry point, which registers the zoho_books connection type).
$(STAMP): requirements.txt constraints.txt pyproject.toml
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --disable-pip-version-check uv==0.13.9 || $(VENV)/bin/python -m pip install -q --disable-pip-version-check uv
	$(VENV)/bin/uv pip install --python $(VENV)/bin/python -q -r requirements.txt -c constraints.txt -e .
	@touch $(STAMP)

## make lock             re-resolve constraints.txt from requirements.txt
lock: venv
	$(VENV)/bin/uv pip compile -q requirements.txt -o constraints.txt --python $(VENV)/bin/python

clean: stop
	rm -rf .local $(VENV)

## make verify           post-deployment report per tenant; fails when a threshold is crossed (VERIFY_ARGS="--json")
verify: venv
	$(ENV) python -m zoho.checks.verify $(VERIFY_ARGS)

## make docs             generate the dbt docs site (dbt_project/target/index.html, static_index.html, catalog.json)
docs: venv
	$(ENV) python dbt_project/dbt_env.py -- dbt docs generate --static --project-dir dbt_project --profiles-dir dbt_project

## make docs-serve       serve the generated dbt docs on http://localhost:8081 (DOCS_PORT=...)
docs-serve: venv
	@test -f dbt_project/target/index.html || { echo "no dbt docs yet: run 'make docs' first" >&2; exit 1; }
	@echo "dbt docs on http://localhost:$(or $(DOCS_PORT),8081) (Ctrl-C to stop)"
	$(VENV)/bin/python -m http.server $(or $(DOCS_PORT),8081) --bind 127.0.0.1 --directory dbt_project/target

## make bench            benchmark against the sandbox -> BENCHMARKS.md (BENCH_ARGS="--contacts 25000 --invoices 250000 --tenants 2 --scale 4 --skip-limits")
bench: setup
	@test -x .local/bench-venv/bin/python || $(VENV)/bin/uv venv -q .local/bench-venv --python $(VENV)/bin/python
	$(VENV)/bin/uv pip install -q --python .local/bench-venv/bin/python -r requirements-bench.txt || echo "[bench] requirements-bench.txt could not be installed: the dlt peer will be reported as not measured"
	BENCH_COMMAND="make bench$(if $(BENCH_ARGS), BENCH_ARGS='$(BENCH_ARGS)')" $(ENV) python -m bench $(BENCH_ARGS)

## make bench-plans      first sync per plan (Free..Premium), day by day in the sandbox -> BENCHMARKS.md section 9 (BENCH_PLANS_ARGS="--plans free --max-days 40")
bench-plans: venv
	BENCH_COMMAND="make bench-plans$(if $(BENCH_PLANS_ARGS), BENCH_PLANS_ARGS='$(BENCH_PLANS_ARGS)')" $(ENV) python -m bench plans $(BENCH_PLANS_ARGS)

## make bench-sender     the reminder sender under load: HTTP (airflow api-server) vs SQL, 4 senders x 60 s -> BENCHMARKS.md section 10 (BENCH_SENDER_ARGS="--api-workers 2 --profile 20")
bench-sender: venv
	BENCH_COMMAND="make bench-sender$(if $(BENCH_SENDER_ARGS), BENCH_SENDER_ARGS='$(BENCH_SENDER_ARGS)')" $(ENV) python -m bench sender $(BENCH_SENDER_ARGS)

## make bench-runcost    what a sync run costs, before (a baseline commit, in a git worktree) and after, in one run -> BENCHMARKS.md section 11 (BENCH_RUNCOST_ARGS="--baseline b22ecf6 --incremental-runs 3")
bench-runcost: setup
	BENCH_COMMAND="make bench-runcost$(if $(BENCH_RUNCOST_ARGS), BENCH_RUNCOST_ARGS='$(BENCH_RUNCOST_ARGS)')" $(ENV) python -m bench runcost $(BENCH_RUNCOST_ARGS)

## make bench-tenants    the same data over 1, 5 and 20 tenants through the Celery deployment; projection to 1,000 tenants -> BENCHMARKS.md section 12 (BENCH_TENANTS_ARGS="--tenants 20,5,1")
bench-tenants: setup
	BENCH_COMMAND="make bench-tenants$(if $(BENCH_TENANTS_ARGS), BENCH_TENANTS_ARGS='$(BENCH_TENANTS_ARGS)')" $(ENV) python -m bench tenants $(BENCH_TENANTS_ARGS)
