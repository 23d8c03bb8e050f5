"""The budget-aware sync through the real nightly DAG (``dag.test()`` in a process of its own, real
Airflow, dbt and Postgres, the sandbox over real sockets), day by day on a small plan.

The organisation's plan allows 60 calls a day and its connection gives the product
``daily_budget`` 50 with ``budget_reserve`` 20, so a nightly sweep may spend 30 calls a day; its
first sync needs more. Each simulated day (the sandbox ends the Zoho day; no clock moves) the
nightly run succeeds, with the extract task green, within the budget and without a code-45 answer,
until the sweep completes; the marts then equal those of one nightly run with an unlimited budget.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.helpers import rows
from tests.reliability.dag_runner import SUMMARY
from tests.reliability.helpers import assert_same_state, mart_state

pytestmark = [pytest.mark.integration, pytest.mark.slow]

RUNNER = Path(__file__).resolve().parents[1] / "reliability" / "dag_runner.py"
SIZE = {"seed": 29, "orgs": 1, "contacts_per_org": 150, "invoices_per_org": 900}
BUDGET = {"daily_budget": 50, "budget_reserve": 20}


def nightly(env: dict, when: datetime) -> dict:
    spec = {"dag_id": "zoho_sync_nightly", "logical_date": when.isoformat(), "retry_delay_s": 1}
    done = subprocess.run([sys.executable, str(RUNNER), json.dumps(spec)], env=env, capture_output=True, text=True,
                          errors="replace", timeout=1500)
    line = next((l for l in reversed(done.stdout.splitlines()) if l.startswith(SUMMARY)), None)
    assert done.returncode == 0 and line, f"dag.test() did not complete:\n{done.stdout[-5000:]}{done.stderr[-3000:]}"
    summary = json.loads(line.removeprefix(SUMMARY))
    summary["output"] = done.stdout
    return summary


def env_for(sb, uri: str, extra: dict) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW_VAR_ZOHO_", "AIRFLOW_CONN_ZOHO"))}
    env.update(sb.airflow_env())
    (conn_key,) = [k for k in env if k.startswith("AIRFLOW_CONN_ZOHO")]
    conn = json.loads(env[conn_key])
    conn["extra"].update(extra)
    env[conn_key] = json.dumps(conn)
    env["AIRFLOW_CONN_WAREHOUSE_DEFAULT"] = uri
    return env


@pytest.fixture(scope="module")
def days(sandbox_factory, make_database):
    sb = sandbox_factory(**SIZE, plans={0: 60}, per_minute_limit=None, max_concurrent=None)
    org = sb.organizations[0]
    uri = make_database("budgetdag")
    env = env_for(sb, uri, BUDGET)
    when = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=5)
    runs = []
    for day in range(1, 6):
        if day > 1:
            sb.end_day(org)
        run = nightly(env, when)
        status = dict(rows(uri, "select entity, status from zoho_sync.sync_metadata where user_id = %s", org.user_id))
        sweeps = dict(rows(uri, "select entity, phase from zoho_sync.sweeps where user_id = %s", org.user_id))
        runs.append({"run": run, "status": status, "sweeps": sweeps, "usage": sb.usage(org)})
        if sweeps == {"contacts": "complete", "invoices": "complete"}:
            break
    history = sb.day_history(org)
    # the same Zoho data synced by one nightly run with an unlimited budget, on a warehouse of its own
    sb.end_day(org)
    sb.set_plan(org, "premium")
    unlimited = make_database("unlimited")
    reference = nightly(env_for(sb, unlimited, {}), when)
    return sb, org, uri, unlimited, runs, reference, history


def test_every_day_the_run_succeeds_within_the_budget_without_a_code_45(days):
    sb, org, _, _, runs, _, history = days
    assert len(runs) >= 2, "the first sync must need more than one day's budget for this test to mean anything"
    for day, r in enumerate(runs, 1):
        run = r["run"]
        failed = [(t["task_id"], t["map_index"]) for t in run["task_instances"] if t["state"] == "failed"]
        assert run["state"] == "success" and not failed, (
            day, failed, [line for line in run["output"].splitlines() if "FAIL" in line or "Error" in line][-20:])
        extract = [t for t in run["task_instances"] if t["task_id"] == "extract"]
        assert [t["state"] for t in extract] == ["success"]
    first = runs[0]
    assert first["status"]["contacts"] == "stopped" or first["status"]["invoices"] == "stopped"
    assert "stopped for the API budget" in first["run"]["output"]
    assert max(d["calls"] for d in history) <= BUDGET["daily_budget"]
    assert sum(d["code_45"] for d in history) == 0


def test_the_sweep_completes_and_the_marts_equal_an_unlimited_run(days):
    _, org, uri, unlimited, runs, reference, _ = days
    assert runs[-1]["status"] == {"contacts": "success", "invoices": "success"}
    assert runs[-1]["sweeps"] == {"contacts": "complete", "invoices": "complete"}
    assert all(r["sweeps"] != runs[-1]["sweeps"] for r in runs[:-1])
    assert reference["state"] == "success"
    assert_same_state(mart_state(uri, org.user_id), mart_state(unlimited, org.user_id))
