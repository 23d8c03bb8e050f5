"""Helpers shared by the test areas that sync sandbox organisations into a real warehouse
(tests/integration, tests/reliability): a client per organisation, one tenant's sync, queries, a
whole DAG run in a subprocess."""
from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from zoho.books.client import ZohoBooksClient
from zoho.sync.extract import Tenant, sync_tenant
from zoho.warehouse import connection as warehouse

# The sandbox's limits are off in the tests that use these helpers and the client's are opened up
# accordingly: what lands and the faults are under test, not the pacing (tests/client and
# tests/reliability/test_many_tenants.py cover the limiter).
FAST = {"requests_per_minute": 100_000, "max_concurrent": 5, "backoff_base": 0.05, "timeout": 5.0}


def client_for(sb, org, tenant=None, **overrides) -> ZohoBooksClient:
    """A client for one sandbox organisation, built like the Airflow hook builds it (``tenant``
    labels its errors and logs; default: the organisation's user_id)."""
    conn = sb.airflow_connection(org)
    return ZohoBooksClient.from_connection_fields(conn["login"], conn["password"],
                                                 {**conn["extra"], **FAST, **overrides},
                                                 tenant=tenant or str(org.user_id))


def sync(sb, uri, org, mode, label=None, *, client=None, run_id=None, **overrides):
    """``sync_tenant`` for one organisation under the tenant ``label`` (default: its user_id);
    returns the result and the client."""
    label = label or org.user_id
    client = client or client_for(sb, org, tenant=label, **overrides)
    result = sync_tenant(client, uri, Tenant(label, org.country), mode, run_id=run_id or f"test-{mode}")
    return result, client


def rows(uri, query, *params):
    with warehouse.connect(uri) as conn:
        return conn.execute(query, params).fetchall()


def scalar(uri, query, *params):
    return rows(uri, query, *params)[0][0]


# --------------------------------------------------------------------------- whole DAG runs in a subprocess
RUN_DAG = Path(__file__).resolve().parents[1] / "scripts" / "run_dag.py"
DAG_RUN_SUMMARY = "DAG-RUN-SUMMARY "


def dag_run_command(dag_id: str, when: datetime, *args: str, retry_delay_s: float | None = 1) -> list[str]:
    """``scripts/run_dag.py`` (``dag.test()`` in a process of its own, so that the test sees exactly
    what the run wrote, and the run's Airflow state stays out of the test process); the tasks' own
    retries come after ``retry_delay_s`` instead of 30 s and more (the retry path is the same)."""
    cmd = [sys.executable, str(RUN_DAG), dag_id, "--logical-date", when.isoformat(), *args]
    return cmd + (["--retry-delay-s", str(retry_delay_s)] if retry_delay_s is not None else [])


def dag_run_summary(output: str, returncode: int) -> dict:
    """The run's summary (the last line of ``run_dag.py``'s output): run id, state, task instances."""
    line = next((l for l in reversed(output.splitlines()) if l.startswith(DAG_RUN_SUMMARY)), None)
    if line is None:
        raise AssertionError(f"dag.test() did not complete (exit {returncode}):\n{output[-8000:]}")
    return json.loads(line.removeprefix(DAG_RUN_SUMMARY))


def run_dag(env: dict, dag_id: str, when: datetime, *args: str, retry_delay_s: float | None = 1,
            timeout: float = 1500) -> tuple[dict, str]:
    """One DAG run (a failed run too: its summary says so); returns the summary and the output."""
    done = subprocess.run(dag_run_command(dag_id, when, *args, retry_delay_s=retry_delay_s), env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace",
                          timeout=timeout)
    return dag_run_summary(done.stdout, done.returncode), done.stdout
