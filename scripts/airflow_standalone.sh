#!/usr/bin/env bash
# Airflow UI + scheduler + dag processor + triggerer on http://localhost:8080, login admin / admin.
set -euo pipefail
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS:-admin:admin}"
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE="${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE:-$AIRFLOW_HOME/simple_auth_manager_passwords.json.generated}"
export AIRFLOW__API__PORT="${AIRFLOW__API__PORT:-8080}"
# The connection form's Test button (e.g. a zoho_books connection: token refresh + organisation).
export AIRFLOW__CORE__TEST_CONNECTION="${AIRFLOW__CORE__TEST_CONNECTION:-Enabled}"
if [[ "${AIRFLOW__DATABASE__SQL_ALCHEMY_CONN:-}" == postgresql* ]]; then
  export AIRFLOW__CORE__EXECUTOR="${AIRFLOW__CORE__EXECUTOR:-LocalExecutor}"
fi
echo "Airflow on http://localhost:${AIRFLOW__API__PORT} (login: admin / admin). Ctrl-C or 'make stop' to stop."
exec airflow standalone
