"""Run one sync DAG once with ``dag.test()`` (as tests/integration/test_dag_runs.py does), in the
environment this process was given. The UI test runs it as a subprocess so that the run lands in the
test's own Airflow metadata database. Prints ``RESULT {"run_id": ..., "state": ...}`` last.

    python tests/ui/run_dag.py zoho_sync_nightly
"""
from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from pathlib import Path


def main(dag_id: str) -> int:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(Path(__file__).resolve().parents[2] / "dags"))
    if bag.import_errors:
        print(f"RESULT {json.dumps({'error': str(bag.import_errors)})}")
        return 1
    now = datetime.now(timezone.utc).replace(microsecond=0)
    dr = bag.dags[dag_id].test(logical_date=now, run_after=now)
    states = {ti.task_id + (f"[{ti.map_index}]" if ti.map_index >= 0 else ""): str(ti.state)
              for ti in dr.get_task_instances()}
    print("RESULT " + json.dumps({"run_id": dr.run_id, "state": str(dr.state), "tasks": states}), flush=True)
    return 0 if str(dr.state) == "success" else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
