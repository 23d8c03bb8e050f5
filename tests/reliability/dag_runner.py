"""One ``dag.test()`` run in a process of its own, so that the test sees exactly what the run wrote
to its output (the task logs of ``dag.test()`` go there) and the run's Airflow state stays out of
the test process.

    python tests/reliability/dag_runner.py '{"dag_id": ..., "logical_date": ISO, "retry_delay_s": 1}'

The environment carries the connections and Variables (``AIRFLOW_CONN_*``, ``AIRFLOW_VAR_*``). The
last line of the output is ``DAG-RUN-SUMMARY {json}``: the run id and state and every task
instance's state, try number and rendered map index.
"""
from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
for p in (ROOT, ROOT / "plugins"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

SUMMARY = "DAG-RUN-SUMMARY "


def main(spec: dict) -> None:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "dags"))
    dag = bag.dags[spec["dag_id"]]
    if spec.get("retry_delay_s") is not None:
        # the tasks' own retries, after a short delay instead of 30 s and more (the retry path is the same)
        for task in dag.tasks:
            task.retry_delay = timedelta(seconds=spec["retry_delay_s"])
            task.retry_exponential_backoff = 0
    when = datetime.fromisoformat(spec["logical_date"])
    dr = dag.test(logical_date=when, run_after=when)
    tis = [{"task_id": ti.task_id, "map_index": ti.map_index, "state": str(ti.state) if ti.state else None,
            "try_number": ti.try_number, "rendered_map_index": ti.rendered_map_index}
           for ti in dr.get_task_instances()]
    sys.stdout.flush()
    print(SUMMARY + json.dumps({"run_id": dr.run_id, "dag_id": dr.dag_id, "state": str(dr.state),
                                "task_instances": tis}), flush=True)


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
