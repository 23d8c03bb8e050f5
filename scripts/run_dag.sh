#!/usr/bin/env bash
# Run one DAG once, in-process (scripts/run_dag.py: dag.test(), as `airflow dags test` runs it), with
# the task logs in a file; print where the time went, and fail when the run failed.
set -euo pipefail
dag_id="$1"
logdir="$AIRFLOW_HOME/runs"; mkdir -p "$logdir"
log="$logdir/${dag_id}-$(date -u +%Y%m%dT%H%M%S).log"
echo "[run] $dag_id (log: $log)"
start=$(date +%s.%N)
if python "$PROJECT_ROOT/scripts/run_dag.py" "$dag_id" >"$log" 2>&1; then rc=0; else rc=$?; fi
elapsed=$(python -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$start" "$(date +%s.%N)")
summary=$(grep -A12 -E "^$dag_id .*: [a-z_]+ in [0-9.]+ s$" "$log" | grep -v "^DAG-RUN-SUMMARY" || true)
echo "[run] $dag_id finished in $elapsed s (exit $rc)"
[[ -n "$summary" ]] && sed 's/^/[run] /' <<<"$summary"
if [[ $rc -ne 0 ]]; then
  grep -E "ERROR|Task failed|failed with" "$log" | tail -20 || tail -15 "$log"
fi
exit $rc
