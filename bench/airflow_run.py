"""One DAG run through Airflow (``dag.test()``, the executor-less runner ``airflow dags test`` uses),
in a subprocess whose environment carries the connections and variables:

    python -m bench.airflow_run SPEC.json OUT.json

SPEC: ``{"dag_id", "logical_date"}``. OUT: the run's state, the time spent importing Airflow,
parsing the DAG folder and running, and every task instance (start, end, duration, state).
"""
from __future__ import annotations

import json
import sys
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str]) -> int:
    spec_file, out_file = argv
    spec = json.loads(Path(spec_file).read_text())
    t0 = time.perf_counter()
    from airflow.dag_processing.dagbag import DagBag

    t1 = time.perf_counter()
    bag = DagBag(dag_folder=str(ROOT / "dags"))
    if bag.import_errors:
        raise SystemExit(f"DAG import errors: {bag.import_errors}")
    dag = bag.dags[spec["dag_id"]]
    t2 = time.perf_counter()
    when = datetime.fromisoformat(spec["logical_date"])
    dr = dag.test(logical_date=when, run_after=when)
    t3 = time.perf_counter()
    tis = []
    for ti in dr.get_task_instances():
        tis.append({"task_id": ti.task_id, "map_index": ti.map_index, "state": str(ti.state),
                    "operator": getattr(ti, "operator", None),
                    "start": ti.start_date.isoformat() if ti.start_date else None,
                    "end": ti.end_date.isoformat() if ti.end_date else None,
                    "duration_s": round(float(ti.duration), 3) if ti.duration is not None else None})
    out = {"dag_id": spec["dag_id"], "state": str(dr.state), "run_id": dr.run_id,
           "import_s": round(t1 - t0, 3), "parse_s": round(t2 - t1, 3), "run_s": round(t3 - t2, 3), "tis": tis}
    Path(out_file).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
