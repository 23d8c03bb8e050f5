"""The warehouse session or the task's process dies mid-run; the task is retried or cleared.

- ``pg_terminate_backend`` from another session while ``sync_tenant`` runs (the window is held
  open by a ``slow`` sandbox answer): the task fails with the driver's error, which the extract
  task does not swallow, so Airflow retries it; what was uncommitted is rolled back, the sync state
  says failed, and the retry converges.
- SIGKILL of a process running ``sync_tenant`` mid-listing (the task's process killed: OOM killer,
  node lost): Postgres releases the dead session's advisory lock, so clearing the task (a new
  process) gets the lock at once and converges.

Compared: the raw tables and sync state (see test_api_faults.py for why raw, not marts).
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from zoho.warehouse import connection as warehouse

from tests.helpers import rows, scalar, sync
from .helpers import BackendKiller, assert_same_state, raw_state, tenant_lock_pids, wait_until

pytestmark = [pytest.mark.integration]

INVOICES = "/books/v3/invoices"
PERSONS = "/books/v3/contacts/"
RUNNER = Path(__file__).with_name("sync_runner.py")


@pytest.fixture(scope="module")
def env(sandbox_factory, make_database):
    sb = sandbox_factory(seed=53, orgs=1, contacts_per_org=70, invoices_per_org=450, per_minute_limit=None,
                         daily_limit=None, max_concurrent=None)
    uri = make_database("lost")
    org = sb.organizations[0]
    sync(sb, uri, org, "full", label="clean")
    return sb, uri, org, raw_state(uri, "clean")


# where the session is killed: while contact persons are read by dunning value (a chunk of them
# fetched, not stored yet; the contacts themselves were committed before), or between batches (an
# invoice page is slow to come)
WINDOWS = {  # window -> (path of the slow answer, requests let through first, session state)
    "persons being read": (PERSONS, 3, ("idle in transaction",)),
    "between batches": (INVOICES, 1, ("idle", "idle in transaction")),
}


@pytest.mark.parametrize("window", sorted(WINDOWS))
def test_warehouse_session_killed_mid_load_then_the_retry_converges(env, window):
    from zoho.airflow.tasks import NOT_RETRYABLE

    sb, uri, org, clean = env
    path, after, states = WINDOWS[window]
    label = "killed-" + window.replace(" ", "-")
    fault = sb.faults.add("slow", count=1, path_prefix=path, org_id=org.organization_id, after=after, delay=2.0)
    killer = BackendKiller(uri, label, states=states, ready=lambda: fault.fired > 0).start()
    try:
        with pytest.raises(psycopg.OperationalError) as info:
            sync(sb, uri, org, "full", label=label)
    finally:
        killer.stop()
        sb.faults.clear()
    assert len(killer.killed) == 1
    assert not isinstance(info.value, NOT_RETRYABLE)  # the extract task lets it through: Airflow retries

    # nothing half-done: an uncommitted batch is gone whole; the sync state says failed (recorded on
    # a new session, the run's own being dead) and no watermark moved for the entity that failed
    meta = {r[0]: r[1:] for r in rows(uri, "select entity, status, watermark, last_error "
                                           "from zoho_sync.sync_metadata where user_id = %s", label)}
    failed_entity = "contacts" if path == PERSONS else "invoices"
    status, watermark, error = meta[failed_entity]
    assert status == "failed" and watermark is None and type(info.value).__name__ in error
    if failed_entity == "contacts":  # the contacts landed (committed) before their persons were read
        assert scalar(uri, "select count(*) from zoho_raw.contacts where user_id = %s", label) == \
            scalar(uri, "select count(*) from zoho_raw.contacts where user_id = 'clean'")
        assert scalar(uri, "select count(*) from zoho_raw.contacts where user_id = %s and persons_pending", label) > 0
    else:
        assert meta["contacts"][0] == "success"
    with warehouse.connect(uri) as conn:
        assert tenant_lock_pids(conn, label) == []  # the lock went with the session

    sync(sb, uri, org, "full", label=label)  # the task's retry
    assert_same_state(raw_state(uri, label), clean)


@pytest.mark.slow
@pytest.mark.parametrize("where", ["contact persons", "invoice listing"])
def test_task_process_killed_mid_run_then_the_cleared_task_converges(env, where):
    sb, uri, org, clean = env
    label = "sigkill-" + where.replace(" ", "-")
    path = PERSONS if where == "contact persons" else INVOICES
    # the process blocks on this answer; it is killed while waiting for it
    fault = sb.faults.add("slow", count=1, path_prefix=path, org_id=org.organization_id, after=2, delay=20)
    spec = {"url": sb.url, "connection": sb.airflow_connection(org), "uri": uri, "label": label,
            "country": org.country, "mode": "full", "run_id": "killed-run"}
    proc = subprocess.Popen([sys.executable, str(RUNNER), json.dumps(spec)], env=os.environ.copy(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert wait_until(lambda: fault.fired > 0 or proc.poll() is not None, timeout=60), "never reached the fault"
        assert proc.poll() is None, proc.stdout.read()
        with warehouse.connect(uri) as conn:
            assert len(tenant_lock_pids(conn, label)) == 1  # it holds the tenant's lock, mid-run
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
        sb.faults.clear()
    assert proc.returncode == -signal.SIGKILL

    # Postgres notices the dead client and ends its session: the advisory lock is released
    with warehouse.connect(uri, autocommit=True) as conn:
        released_after = time.monotonic()
        assert wait_until(lambda: tenant_lock_pids(conn, label) == [], timeout=10)
        released_after = time.monotonic() - released_after
    # the dead run could not say it failed: its entity stays "running" until the next run
    statuses = dict(rows(uri, "select entity, status from zoho_sync.sync_metadata where user_id = %s", label))
    assert "running" in statuses.values()

    # clearing the task: a new run gets the lock without waiting (a short lock timeout proves it)
    from zoho.sync.extract import Tenant, sync_tenant

    from tests.helpers import client_for

    sync_tenant(client_for(sb, org, tenant=label), uri, Tenant(label, org.country), "full",
                run_id="killed-run", lock_timeout_s=5)
    assert_same_state(raw_state(uri, label), clean)
    assert released_after < 10
