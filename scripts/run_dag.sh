#!/usr/bin/env bash
# Run one DAG once, in-process (`airflow dags test`), and fail when the run failed.
set -euo pipefail
dag_id="$1"
logdir="$AIRFLOW_HOME/runs"; mkdir -p "$logdir"
log="$logdir/${dag_id}-$(date -u +%Y%m%dT%H%M%S).log"
echo "[run] $dag_id (log: $log)"
start=$(date +%s)
if airflow dags test "$dag_id" >"$log" 2>&1; then rc=0; else rc=$?; fi
state=$(grep -oE "DagRun Finished: .*state=[a-z_]+" "$log" | tail -1 | grep -oE "state=[a-z_]+" || true)
echo "[run] $dag_id finished in $(( $(date +%s) - start )) s: ${state:-no final state found} (exit $rc)"
grep -E "ERROR|Task failed|failed with" "$log" | grep -v "^\s*$" | tail -20 || true
[[ $rc -eq 0 && "$state" == "state=success" ]]
