#!/usr/bin/env python
"""Run one DAG once in this process with ``dag.test()`` (what ``airflow dags test`` runs, without
the start-up of Airflow's whole command line), then say where the time went.

    python scripts/run_dag.py zoho_sync_incremental [--logical-date ISO] [--conf JSON]
                              [--tasks TASK_ID ...] [--retry-delay-s N] [--json OUT.json]

The environment carries the connections and Variables (``AIRFLOW_CONN_*``, ``AIRFLOW_VAR_*``), as
``scripts/with-env`` sets them. Only the DAG's own file (``dags/<dag_id>.py``) is parsed. The task
logs go to the output as ``dag.test()`` writes them; then a table of the run's parts (parse,
extraction, dbt, quality gate, reminders, the rest) and, last, ``DAG-RUN-SUMMARY {json}``: the run's
id and state, the parts, and every task instance (state, try, map index, start, end, duration).
Exit status 0 when the run succeeded, 1 otherwise. ``--tasks``: a run of only those tasks (what
clearing them in the UI re-runs, e.g. ``dbt_models.invoices_cache`` to rebuild one mart and re-run
its tests), without their upstream or downstream tasks. ``--retry-delay-s``: the tasks' own retries after
that delay instead of 30 s and more (tests; the retry path is the same).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

T0 = time.perf_counter()
ROOT = Path(__file__).resolve().parents[1]
SUMMARY = "DAG-RUN-SUMMARY "

# The run's parts, by task id (first match wins); what matches none is "other tasks".
PARTS = (
    ("extraction", ("extract", "land_legacy")),
    ("dbt", ("dbt_models.",)),
    ("quality gate", ("quality_gate",)),
    ("reminders", ("generate_reminders",)),
)


def part_of(task_id: str) -> str:
    for part, prefixes in PARTS:
        if any(task_id == p or (p.endswith(".") and task_id.startswith(p)) for p in prefixes):
            return part
    return "other tasks"


def run(dag_id: str, logical_date: datetime, conf: dict | None = None, retry_delay_s: float | None = None,
        task_ids: list[str] | None = None) -> dict:
    from airflow.dag_processing.dagbag import DagBag

    imported = time.perf_counter()
    dag_file = ROOT / "dags" / f"{dag_id}.py"
    bag = DagBag(dag_folder=str(dag_file if dag_file.exists() else ROOT / "dags"))
    if bag.import_errors:
        raise SystemExit(f"DAG import errors: {bag.import_errors}")
    if dag_id not in bag.dags:
        raise SystemExit(f"no DAG {dag_id!r} in {ROOT / 'dags'}")
    dag = bag.dags[dag_id]
    if task_ids:
        unknown = sorted(set(task_ids) - set(dag.task_ids))
        if unknown:
            raise SystemExit(f"{dag_id} has no task {', '.join(unknown)} (its tasks: {', '.join(sorted(dag.task_ids))})")
        dag = dag.partial_subset(task_ids=task_ids, include_upstream=False, include_downstream=False)
    if retry_delay_s is not None:
        for task in dag.tasks:
            task.retry_delay = timedelta(seconds=retry_delay_s)
            task.retry_exponential_backoff = 0
    parsed = time.perf_counter()
    dr = dag.test(logical_date=logical_date, run_after=logical_date, run_conf=conf)
    ran = time.perf_counter()
    tis = []
    for ti in sorted(dr.get_task_instances(), key=lambda t: (t.start_date or dr.start_date, t.task_id)):
        tis.append({"task_id": ti.task_id, "map_index": ti.map_index, "rendered_map_index": ti.rendered_map_index,
                    "state": str(ti.state) if ti.state else None, "try_number": ti.try_number,
                    "start": ti.start_date.isoformat() if ti.start_date else None,
                    "end": ti.end_date.isoformat() if ti.end_date else None,
                    "duration_s": round(float(ti.duration), 3) if ti.duration is not None else None})
    parts = {"import Airflow": round(imported - T0, 3), "parse the DAG": round(parsed - imported, 3)}
    for part, _ in PARTS + (("other tasks", ()),):
        parts[part] = round(sum(t["duration_s"] or 0 for t in tis if part_of(t["task_id"]) == part), 3)
    parts["between tasks"] = round((ran - parsed) - sum(t["duration_s"] or 0 for t in tis), 3)
    return {"run_id": dr.run_id, "dag_id": dr.dag_id, "state": str(dr.state), "seconds": round(ran - T0, 3),
            "parts": parts, "task_instances": tis}


def report(summary: dict) -> str:
    counts: dict[str, int] = {}
    for t in summary["task_instances"]:
        counts[part_of(t["task_id"])] = counts.get(part_of(t["task_id"]), 0) + 1
    lines = [f"{summary['dag_id']} {summary['run_id']}: {summary['state']} in {summary['seconds']:.1f} s"]
    for part, seconds in summary["parts"].items():
        n = counts.get(part)
        lines.append(f"  {part:<16} {seconds:7.1f} s" + (f"  ({n} task instance{'s' if n != 1 else ''})" if n else ""))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("dag_id")
    p.add_argument("--logical-date", help="ISO timestamp (default: now, UTC)")
    p.add_argument("--conf", help="the run's conf (params), JSON")
    p.add_argument("--tasks", nargs="+", metavar="TASK_ID", help="run only these tasks")
    p.add_argument("--retry-delay-s", type=float)
    p.add_argument("--json", help="also write the summary to this file")
    a = p.parse_args(argv)
    when = (datetime.fromisoformat(a.logical_date) if a.logical_date
            else datetime.now(timezone.utc).replace(microsecond=0))
    summary = run(a.dag_id, when, json.loads(a.conf) if a.conf else None, a.retry_delay_s, a.tasks)
    sys.stdout.flush()
    print(report(summary), flush=True)
    if a.json:
        Path(a.json).write_text(json.dumps(summary, indent=1))
    print(SUMMARY + json.dumps(summary), flush=True)
    return 0 if summary["state"] == "success" else 1


if __name__ == "__main__":
    sys.exit(main())
