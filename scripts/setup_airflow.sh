#!/usr/bin/env bash
# Idempotent set-up inside the project environment (called through scripts/with-env):
# the warehouse schema migrations, the Airflow metadata database, the local UI login.
set -euo pipefail
python -m zoho.warehouse.schema upgrade
mkdir -p "$AIRFLOW_HOME"
version="$(python -c "from importlib.metadata import version; print(version('apache-airflow'))")"
stamp="$AIRFLOW_HOME/.db-migrated"
key="$version ${AIRFLOW__DATABASE__SQL_ALCHEMY_CONN:-sqlite}"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$key" ]]; then
  echo "[setup] migrating the Airflow metadata database (once per machine)"
  airflow db migrate >"$AIRFLOW_HOME/db-migrate.log" 2>&1 || { tail -50 "$AIRFLOW_HOME/db-migrate.log"; exit 1; }
  airflow pools set dbt_warehouse 1 "dbt model and test tasks, one at a time on the warehouse" >/dev/null
  echo "$key" >"$stamp"
fi
# Simple auth manager login for `make airflow` (documented in the README): admin / admin.
pw="$AIRFLOW_HOME/simple_auth_manager_passwords.json.generated"
[[ -f "$pw" ]] || echo '{"admin": "admin"}' >"$pw"
