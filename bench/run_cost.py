"""BENCHMARKS.md section 11, "Run cost": what a sync run costs, before and after a change, in one run.

Two variants of the project side by side on the same machine, sandbox and Postgres server:
*before*, a git worktree of an earlier commit (``--baseline``, default the last commit before the
run-cost work), and *after*, this checkout. Each gets its own fresh warehouse database and the same
Zoho Books sandbox (the ``make run`` size: 2 organisations x 150 contacts / 1,500 invoices, limits
off), and runs exactly what its own ``make`` targets run:

1. its set-up script (``scripts/setup_airflow.sh``: what ``make sync-*`` runs before the DAG);
2. ``scripts/run_dag.sh zoho_sync_nightly`` (the first, full sync);
3. ``--incremental-runs`` times: one invoice changed in the sandbox, then
   ``scripts/run_dag.sh zoho_sync_incremental``;
4. the same under a running scheduler, as ``make airflow`` runs it (``scripts/cluster.py up
   --executor local``: API server, scheduler, DAG processor; LocalExecutor, every task its own
   process; the launcher of this checkout for both variants): one invoice changed, then a triggered
   run, ``--incremental-runs`` times, each from its start to its end.

Per run: the wall time of the run script (the DAG parse included) and, from Airflow's metadata
database, where it went: Airflow's import and the DAG parse (process start to the first task),
extraction, dbt, the quality gate, the reminders, the other tasks, between tasks (``dag.test()``'s
loop) and the process's exit; and the number of dbt invocations (``Running with dbt=`` in the log).
The variants run one after the other (a 2-core machine: side by side they would time each other).

Run: ``make bench-runcost`` (``BENCH_RUNCOST_ARGS=...``), or ``python -m bench runcost --help``.
The section is spliced into BENCHMARKS.md (replacing an earlier one); ``make bench`` carries it over.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from bench.common import ROOT, Databases, loadavg, machine_info
from bench.sections import Section

HEADING = "## 11. Run cost"
SECTION = Section(HEADING, "<!-- runcost-notes -->")
BASELINE = "b22ecf6"  # the last commit before the run-cost work (one cosmos task per dbt node)
WORK = ROOT / ".local" / "bench-runcost"
SANDBOX = {"seed": 7, "orgs": 2, "contacts_per_org": 150, "invoices_per_org": 1500,
           "per_minute_limit": None, "daily_limit": None, "max_concurrent": None,
           # every task process refreshes its access token: a dozen runs of one tenant in minutes would
           # hit the sandbox's (and Zoho's) cap on refreshes, which is not what this measures
           "token_limit": None}
PARTS = ("import + parse", "extraction", "dbt", "quality gate", "reminders", "other tasks", "between tasks",
         "exit")


def log(msg: str) -> None:
    print(f"[bench runcost {datetime.now().strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def part_of(task_id: str) -> str:
    if task_id in ("extract", "land_legacy"):
        return "extraction"
    if task_id.startswith("dbt_models."):
        return "dbt"
    return {"quality_gate": "quality gate", "generate_reminders": "reminders"}.get(task_id, "other tasks")


def worktree(rev: str) -> Path:
    path = WORK / f"baseline-{rev}"
    if not (path / "dags").exists():
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "--force", str(path), rev],
                       check=True, capture_output=True)
    return path


def variant_env(root: Path, name: str, base: dict, uri: str) -> dict:
    env = dict(base)
    env.update({
        "PROJECT_ROOT": str(root),
        "PYTHONPATH": f"{root / 'plugins'}:{root}",
        "AIRFLOW__CORE__DAGS_FOLDER": str(root / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(root / "plugins"),
        "DBT_PROJECT_DIR": str(root / "dbt_project"),
        "AIRFLOW__COSMOS__CACHE_DIR": str(WORK / name / "cosmos"),
        "AIRFLOW_CONN_WAREHOUSE_DEFAULT": uri,
    })
    return env


def metadata(query: str, *params) -> list[tuple]:
    """A query on Airflow's metadata database (the make targets' Postgres)."""
    import psycopg

    url = os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].replace("postgresql+psycopg2://", "postgresql://")
    with psycopg.connect(url) as conn:
        return conn.execute(query, params).fetchall()


def last_run_id() -> int:
    return metadata("select coalesce(max(id), 0) from dag_run")[0][0]


def metadata_run(dag_id: str, after_id: int) -> dict:
    """The run of ``dag_id`` made after the run ``after_id`` and its task instances (Airflow's database)."""
    runs = metadata("select run_id, state, start_date, end_date from dag_run where dag_id = %s and id > %s "
                    "order by id desc limit 1", dag_id, after_id)
    if not runs:
        raise RuntimeError(f"no run of {dag_id} in Airflow's database")
    run = runs[0]
    tis = metadata("select task_id, map_index, state, start_date, end_date, duration from task_instance "
                   "where dag_id = %s and run_id = %s order by start_date", dag_id, run[0])
    return {"run_id": run[0], "state": run[1], "start": run[2], "end": run[3],
            "tis": [dict(zip(("task_id", "map_index", "state", "start", "end", "duration"), t)) for t in tis]}


def timed_run(root: Path, env: dict, dag_id: str, logs: Path) -> dict:
    before, after_id = datetime.now(timezone.utc), last_run_id()
    started = time.perf_counter()
    done = subprocess.run(["bash", str(root / "scripts" / "run_dag.sh"), dag_id], env=env, capture_output=True,
                          text=True, errors="replace", timeout=3600)
    wall = time.perf_counter() - started
    ended = datetime.now(timezone.utc)
    if done.returncode != 0:
        raise RuntimeError(f"{root.name}: {dag_id} failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    run = metadata_run(dag_id, after_id)
    log_file = max(Path(env["AIRFLOW_HOME"], "runs").glob(f"{dag_id}-*.log"), key=lambda p: p.stat().st_mtime)
    (logs / log_file.name).write_bytes(log_file.read_bytes())
    parts = {p: 0.0 for p in PARTS}
    tis = [t for t in run["tis"] if t["start"] and t["end"]]
    first_start = min(t["start"] for t in tis)
    parts["import + parse"] = (first_start - before).total_seconds()
    for t in tis:
        parts[part_of(t["task_id"])] += float(t["duration"] or 0)
    in_tasks = sum(float(t["duration"] or 0) for t in tis)
    parts["between tasks"] = (max(t["end"] for t in tis) - first_start).total_seconds() - in_tasks
    parts["exit"] = (ended - max(t["end"] for t in tis)).total_seconds()
    return {"wall_s": round(wall, 2), "parts": {k: round(v, 2) for k, v in parts.items()},
            "dbt_invocations": log_file.read_text(errors="replace").count("Running with dbt="),
            "task_instances": len(run["tis"]), "state": run["state"]}


def scheduler_runs(name: str, env: dict, sb, runs: int) -> list[dict]:
    """The incremental DAG under a running scheduler (``scripts/cluster.py up --executor local``: API
    server, scheduler, DAG processor; every task its own process), as ``make airflow`` runs it: one
    invoice changed, then a run, ``runs`` times; each run's wall time from its queueing to its end."""
    port = free_port()
    cluster = [sys.executable, str(ROOT / "scripts" / "cluster.py")]
    subprocess.run([*cluster, "up", "--executor", "local", "--port", str(port)], env=env, check=True,
                   capture_output=True, timeout=600)
    out = []
    try:
        # unpaused, the scheduler starts the run of the latest half hour at once: let it finish first
        subprocess.run(["airflow", "dags", "unpause", "zoho_sync_incremental"], env=env, check=True,
                       capture_output=True, timeout=300)
        time.sleep(10)
        idle(900)
        org = sb.organizations[1]
        for i in range(runs):
            invoice = sb.invoices(org)[i]
            sb.update_invoice(org, invoice["invoice_id"], total="2345.67", balance="2345.67")
            after_id = last_run_id()
            run_id = f"bench__{name}_{i}_{time.time():.0f}"
            subprocess.run(["airflow", "dags", "trigger", "zoho_sync_incremental", "--run-id", run_id], env=env,
                           check=True, capture_output=True, timeout=300)
            deadline = time.monotonic() + 900
            while True:
                (state, started, end), = metadata("select state, start_date, end_date from dag_run where dag_id = %s "
                                                  "and run_id = %s", "zoho_sync_incremental", run_id)
                if state in ("success", "failed"):
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{name}: {run_id} not finished in 15 minutes")
                time.sleep(0.5)
            run = metadata_run("zoho_sync_incremental", after_id)
            parts = {p: 0.0 for p in PARTS}
            for t in run["tis"]:
                parts[part_of(t["task_id"])] += float(t["duration"] or 0)
            out.append({"run_id": run_id, "state": state, "wall_s": round((end - started).total_seconds(), 2),
                        "task_seconds": {k: round(v, 2) for k, v in parts.items() if v}})
            log(f"{name}: under the scheduler, run {i + 1}: {state} in {out[-1]['wall_s']} s")
    finally:
        subprocess.run(["airflow", "dags", "pause", "zoho_sync_incremental"], env=env, capture_output=True,
                       timeout=300)
        subprocess.run([*cluster, "down"], env=env, capture_output=True, timeout=300)
    return out


def idle(seconds: float) -> None:
    """Wait until no run of the incremental DAG is queued or running."""
    deadline = time.monotonic() + seconds
    while metadata("select 1 from dag_run where dag_id = 'zoho_sync_incremental' and state in ('queued', 'running')"):
        if time.monotonic() > deadline:
            raise RuntimeError("an incremental run still active after 15 minutes")
        time.sleep(1)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def setup_time(root: Path, env: dict) -> float:
    started = time.perf_counter()
    subprocess.run(["bash", str(root / "scripts" / "setup_airflow.sh")], env=env, check=True, capture_output=True,
                   timeout=900)
    return round(time.perf_counter() - started, 2)


def measure(name: str, root: Path, sb, base_env: dict, dbs: Databases, runs: int) -> dict:
    uri = dbs.create(name)
    env = variant_env(root, name, {**base_env, **sb.airflow_env()}, uri)
    logs = WORK / name / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    out = {"root": str(root), "setup_s": [setup_time(root, env) for _ in range(2)][-1]}  # the 2nd: steady state
    log(f"{name}: set-up {out['setup_s']} s; nightly run")
    out["nightly"] = timed_run(root, env, "zoho_sync_nightly", logs)
    out["incremental"] = []
    org = sb.organizations[0]
    for i in range(runs):
        invoice = sb.invoices(org)[i]
        sb.update_invoice(org, invoice["invoice_id"], total="1234.56", balance="1234.56")
        out["incremental"].append(timed_run(root, env, "zoho_sync_incremental", logs))
        log(f"{name}: incremental run {i + 1}: {out['incremental'][-1]['wall_s']} s")
    out["scheduler"] = scheduler_runs(name, env, sb, runs)
    return out


def median_run(runs: list[dict]) -> dict:
    walls = [r["wall_s"] for r in runs]
    return {"wall_s": statistics.median(walls), "walls": walls,
            "parts": {p: round(statistics.median(r["parts"][p] for r in runs), 2) for p in PARTS},
            "dbt_invocations": runs[0]["dbt_invocations"], "task_instances": runs[0]["task_instances"]}


def render(result: dict) -> str:
    b, a = result["variants"]["before"], result["variants"]["after"]
    bi, ai = median_run(b["incremental"]), median_run(a["incremental"])
    f = lambda x: f"{x:.1f} s"  # noqa: E731
    rows = [
        ("`make sync-incremental`: set-up + run", f(b["setup_s"] + bi["wall_s"]), f(a["setup_s"] + ai["wall_s"])),
        ("  set-up (`scripts/setup_airflow.sh`)", f(b["setup_s"]), f(a["setup_s"])),
        ("  run (`scripts/run_dag.sh`), median", f(bi["wall_s"]), f(ai["wall_s"])),
    ] + [(f"    {p}", f(bi["parts"][p]), f(ai["parts"][p])) for p in PARTS] + [
        ("  runs (wall)", ", ".join(f(w) for w in bi["walls"]), ", ".join(f(w) for w in ai["walls"])),
        ("  dbt invocations per run", str(bi["dbt_invocations"]), str(ai["dbt_invocations"])),
        ("  task instances per run", str(bi["task_instances"]), str(ai["task_instances"])),
        ("nightly run (`scripts/run_dag.sh zoho_sync_nightly`, first sync)", f(b["nightly"]["wall_s"]),
         f(a["nightly"]["wall_s"])),
    ] + [(f"    {p}", f(b["nightly"]["parts"][p]), f(a["nightly"]["parts"][p])) for p in PARTS] + [
        ("  dbt invocations", str(b["nightly"]["dbt_invocations"]), str(a["nightly"]["dbt_invocations"])),
    ]
    bs, as_ = b.get("scheduler") or [], a.get("scheduler") or []
    if bs and as_:
        med = lambda runs: statistics.median(r["wall_s"] for r in runs)  # noqa: E731
        rows += [
            ("incremental run under a running scheduler (LocalExecutor, every task its own process), median",
             f(med(bs)), f(med(as_))),
            ("  runs (start to end)", ", ".join(f(r["wall_s"]) for r in bs), ", ".join(f(r["wall_s"]) for r in as_)),
        ] + [(f"    {p} (task time)", f(statistics.median(r["task_seconds"].get(p, 0) for r in bs)),
              f(statistics.median(r["task_seconds"].get(p, 0) for r in as_)))
             for p in ("extraction", "dbt", "quality gate", "reminders", "other tasks")]
    total = a["setup_s"] + ai["wall_s"]
    verdict = "met" if total <= 20 else "**missed**"
    scheduled = statistics.median(r["wall_s"] for r in as_) if as_ else None
    lines = [
        HEADING, "",
        f"Written by `{result['command']}` (`bench/run_cost.py`) on {result['date']}, {result['machine']['nproc']} "
        f"cores, load average before {result['load_before']}, after {result['load_after']}. *Before*: commit "
        f"`{result['baseline']}` in a git worktree; *after*: this checkout (`{result['head']}`). Same sandbox "
        f"(2 organisations x 150 contacts / 1,500 invoices, limits off), a fresh warehouse database each, one "
        f"after the other. An incremental run follows a change of one invoice; the figure is the median of "
        f"{len(bi['walls'])} runs. The parts come from Airflow's database (task instances' durations); "
        f"\"import + parse\" is from the run script's start to the first task's.", "",
        "| | before | after |", "|---|---|---|",
        *[f"| {label} | {x} | {y} |" for label, x, y in rows], "",
        f"Target: a one-record incremental run in at most 20 s as `make sync-incremental` runs it: "
        f"{total:.1f} s, {verdict}." + (
            f" Under the scheduler of `make airflow` (LocalExecutor) in at most 45 s: {scheduled:.1f} s, "
            f"{'met' if scheduled <= 45 else '**missed**'}." if scheduled is not None else ""), "",
        SECTION.notes,
    ]
    return "\n".join(lines)


def parse_args(argv):
    ap = argparse.ArgumentParser(prog="python -m bench runcost", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--baseline", default=BASELINE, help=f"the 'before' commit (default {BASELINE})")
    ap.add_argument("--incremental-runs", type=int, default=3)
    ap.add_argument("--output", type=Path, default=ROOT / "BENCHMARKS.md")
    ap.add_argument("--json", type=Path, default=WORK / "result.json")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from zoho.warehouse.connection import uri_from_env
    from zoho_sandbox import Sandbox

    server = uri_from_env()
    dbs = Databases(server)
    base_env = {k: v for k, v in os.environ.items()
                if not k.startswith(("AIRFLOW_VAR_ZOHO_", "AIRFLOW_CONN_ZOHO", "PYTHONPATH"))}
    result = {"command": os.environ.get("BENCH_COMMAND", "python -m bench runcost"),
              "date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "machine": machine_info(server),
              "load_before": loadavg(), "baseline": args.baseline,
              "head": subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                                     text=True).stdout.strip(), "variants": {}}
    sb = Sandbox(**SANDBOX).start()
    try:
        for name, root in (("before", worktree(args.baseline)), ("after", ROOT)):
            result["variants"][name] = measure(name, root, sb, base_env, dbs, args.incremental_runs)
    finally:
        sb.stop()
        dbs.drop_all()
    result["load_after"] = loadavg()
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1, default=str))
    section = render(result)
    doc = args.output.read_text() if args.output.exists() else ""
    args.output.write_text(SECTION.splice(doc, section))
    print(section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
