"""The scale-out deployment actually run: ``scripts/cluster.py up`` (what ``make cluster`` starts: API
server, scheduler, DAG processor, a Redis broker, two Celery workers; Airflow's metadata in Postgres)
runs the nightly DAG for 20 sandbox tenants, scheduled by its own scheduler, across both workers,
every organisation within Zoho's limits (the sandbox enforces them and counts refusals). The tables
equal those of a ``dag.test()`` run of the same DAG on the same data. Then one worker is killed in
the middle of a run: the run's lost tasks fail over (Airflow's heartbeat timeout, then the tasks'
own retries on the other worker), and the next run converges to the same tables, nothing lost or
doubled."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg
import pytest

from tests.apiserver import api_server_env, free_port
from tests.helpers import run_dag, scalar
from tests.reliability.helpers import assert_same_state, mart_state, raw_state

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
CLUSTER = ROOT / "scripts" / "cluster.py"
DAG_ID = "zoho_sync_nightly"
TENANTS = 20
# Zoho's limits, enforced by the sandbox per organisation: 100 calls a minute, 10 in flight
SIZE = {"seed": 53, "orgs": TENANTS, "contacts_per_org": 15, "invoices_per_org": 100,
        "per_minute_limit": 100, "max_concurrent": 10, "daily_limit": None}
REDIS_DB = 5  # apart from a developer's `make cluster` (database 0) on a shared Redis


def meta(env: dict, query: str, *params) -> list[tuple]:
    url = env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].replace("postgresql+psycopg2://", "postgresql://")
    with psycopg.connect(url) as conn:
        return conn.execute(query, params).fetchall()


def airflow(env: dict, *args: str) -> str:
    done = subprocess.run(["airflow", *args], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"airflow {' '.join(args)}:\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
    return done.stdout


def wait_for_run(env: dict, run_id: str, timeout: float = 900) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        (state,) = meta(env, "select state from dag_run where dag_id = %s and run_id = %s", DAG_ID, run_id)[0]
        if state in ("success", "failed"):
            return state
        time.sleep(2)
    raise AssertionError(f"run {run_id} not finished after {timeout:.0f} s")


def worker_of(env: dict, celery_task_id: str | None) -> str | None:
    """The worker that received a task: the Celery task id (the task instance's external executor
    id) in that worker's log (both workers run on this one machine, so the hostname cannot tell)."""
    if not celery_task_id:
        return None
    logs = Path(env["AIRFLOW_HOME"]) / "cluster"
    for name in ("worker1", "worker2"):
        if celery_task_id in (logs / f"{name}.log").read_text(errors="replace"):
            return name
    return None


def task_instances(env: dict, run_id: str) -> list[dict]:
    rows = meta(env, "select task_id, map_index, state, try_number, external_executor_id from task_instance "
                     "where dag_id = %s and run_id = %s", DAG_ID, run_id)
    return [{**dict(zip(("task_id", "map_index", "state", "try_number"), r)), "worker": worker_of(env, r[4])}
            for r in rows]


def trigger(env: dict, when: datetime) -> str:
    run_id = f"manual__{when.isoformat()}"
    airflow(env, "dags", "trigger", DAG_ID, "--run-id", run_id, "--logical-date", when.isoformat())
    return run_id


@pytest.fixture(scope="module")
def cluster(sandbox_factory, make_database, tmp_path_factory):
    sb = sandbox_factory(**SIZE)
    tmp = tmp_path_factory.mktemp("cluster")
    celery_uri, reference_uri = make_database("celery"), make_database("local")
    env = api_server_env(make_database, tmp, "clustermeta", base_env={**os.environ, **sb.airflow_env()},
                         AIRFLOW_CONN_WAREHOUSE_DEFAULT=celery_uri,
                         # a task whose worker died is failed (then retried) after 30 s instead of 5 minutes
                         AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT="30")
    env.pop("AIRFLOW_VAR_ZOHO_REMINDER_POLICY", None)
    Path(env["AIRFLOW_HOME"]).mkdir(parents=True, exist_ok=True)
    subprocess.run(["airflow", "db", "migrate"], env=env, check=True, capture_output=True, timeout=600)
    # The reference: the same DAG by dag.test() (no executor) into a warehouse of its own, before the
    # deployment starts (with a scheduler running, the run's tasks would go to the workers), with the
    # run date of the deployment's first run (its latest 02:00, the unpaused DAG's scheduled run).
    now = datetime.now(timezone.utc)
    when = now.replace(hour=2, minute=0, second=0, microsecond=0) - timedelta(days=1 if now.hour < 2 else 0)
    reference, output = run_dag({**env, "AIRFLOW_CONN_WAREHOUSE_DEFAULT": reference_uri}, DAG_ID,
                                when + timedelta(minutes=3))
    assert reference["state"] == "success", output[-5000:]
    up = subprocess.run([sys.executable, str(CLUSTER), "up", "--executor", "celery", "--workers", "2",
                         "--port", str(free_port()), "--redis-db", str(REDIS_DB)], env=env, capture_output=True,
                        text=True, timeout=600)
    try:
        assert up.returncode == 0, up.stderr[-4000:]
        yield sb, env, celery_uri, reference_uri, when
    finally:
        subprocess.run([sys.executable, str(CLUSTER), "down"], env=env, capture_output=True, timeout=300)


@pytest.fixture(scope="module")
def runs(cluster):
    sb, env, _, _, expected_when = cluster
    out = {}
    # Unpausing the nightly DAG: its scheduler starts the run of the latest 02:00 at once.
    airflow(env, "dags", "unpause", DAG_ID)
    deadline = time.monotonic() + 120
    while not (scheduled := meta(env, "select run_id, logical_date from dag_run where dag_id = %s "
                                   "and run_type = 'scheduled'", DAG_ID)):
        assert time.monotonic() < deadline, "the scheduler started no run"
        time.sleep(1)
    (first, when), = scheduled
    assert when == expected_when, "the scheduled run is not the latest 02:00: the reference ran for another date"
    out["first"] = (wait_for_run(env, first), task_instances(env, first))

    # A run in which worker2 is killed while it holds tasks.
    second = trigger(env, when + timedelta(minutes=1))
    state_file = Path(env["AIRFLOW_HOME"]) / "cluster" / "state.json"
    worker2 = json.loads(state_file.read_text())["processes"]["worker2"]
    deadline = time.monotonic() + 300
    while not any(worker_of(env, celery_id) == "worker2" for (celery_id,) in meta(
            env, "select external_executor_id from task_instance where dag_id = %s and run_id = %s "
                 "and state = 'running'", DAG_ID, second)):
        assert time.monotonic() < deadline, "worker2 never ran a task of the second run"
        time.sleep(0.5)
    os.killpg(worker2, signal.SIGKILL)
    out["killed"] = (wait_for_run(env, second), task_instances(env, second))
    third = trigger(env, when + timedelta(minutes=2))
    out["next"] = (wait_for_run(env, third), task_instances(env, third))
    return out


def test_the_nightly_run_spreads_over_both_workers_within_every_organisations_limits(cluster, runs):
    sb = cluster[0]
    state, tis = runs["first"]
    assert state == "success", [t for t in tis if t["state"] != "success"]
    extracts = [t for t in tis if t["task_id"] == "extract"]
    assert len(extracts) == TENANTS and all(t["state"] == "success" for t in extracts)
    workers = {t["worker"] for t in tis if t["state"] == "success"}
    assert workers == {"worker1", "worker2"}, workers
    assert sb.call_count(status=429) == 0  # no organisation was pushed past its limits


def test_a_dead_worker_loses_nothing_and_the_next_run_converges(cluster, runs):
    sb, _, celery_uri, reference_uri, _ = cluster
    state, tis = runs["next"]
    assert state == "success", [t for t in tis if t["state"] != "success"]
    for org in sb.organizations:
        assert_same_state(raw_state(celery_uri, org.user_id), raw_state(reference_uri, org.user_id))
        assert_same_state(mart_state(celery_uri, org.user_id), mart_state(reference_uri, org.user_id))
    assert scalar(celery_uri, "select count(*) from (select invoice_id, offset_days from analytics.payment_reminders "
                              "group by 1, 2 having count(*) > 1) d") == 0
    assert scalar(celery_uri, "select count(*) from analytics.payment_reminders") == \
        scalar(reference_uri, "select count(*) from analytics.payment_reminders") > 0
    assert sb.call_count(status=429) == 0
    killed_state, killed_tis = runs["killed"]
    lost = [t for t in killed_tis if (t["try_number"] or 1) > 1]
    assert lost, "the killed worker held a task: it must have been tried again on the other worker"
    print(f"[cluster] the run whose worker was killed: {killed_state}; tasks tried again: "
          f"{sorted((t['task_id'], t['map_index'], t['state']) for t in lost)}")
