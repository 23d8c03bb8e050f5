"""Runs of the same tenant started together (``sync_tenant`` in threads, as parallel tasks do).

Two runs of the same DAG (Airflow's ``max_active_runs=1`` keeps the scheduler from doing it, but a
cleared task next to a running one, or a manual trigger, can) and a nightly next to an incremental
run: the tenant's advisory lock serialises them (no two of them talk to Zoho or write at the same
time), none fails, and the tables converge to what one clean full run gives.
"""
from __future__ import annotations

import threading
import time

import pytest

from zoho.warehouse import connection as warehouse

from tests.helpers import client_for, sync
from .helpers import assert_same_state, raw_state, tenant_lock_pids

pytestmark = [pytest.mark.integration]


class RecordingClient:
    """Wraps a client; records when its requests ran (monotonic start/end of each one)."""

    def __init__(self, client):
        self._client = client
        self.spans: list[tuple[float, float]] = []
        original = client._call

        def call(*args, **kwargs):
            start = time.monotonic()
            try:
                return original(*args, **kwargs)
            finally:
                self.spans.append((start, time.monotonic()))

        client._call = call

    def __getattr__(self, name):
        return getattr(self._client, name)

    def interval(self) -> tuple[float, float]:
        return min(s for s, _ in self.spans), max(e for _, e in self.spans)


@pytest.fixture(scope="module")
def env(sandbox_factory, make_database):
    sb = sandbox_factory(seed=61, orgs=1, contacts_per_org=60, invoices_per_org=420, per_minute_limit=None,
                         daily_limit=None, max_concurrent=None)
    uri = make_database("concurrent")
    return sb, uri, sb.organizations[0]


def test_nightly_incremental_and_a_second_nightly_started_together_converge_and_nightlies_serialise(env):
    sb, uri, org = env
    label = "together"
    for tenant in (label, "clean"):  # same history: a first nightly run, then Zoho changes
        sync(sb, uri, org, "full", label=tenant)
    # Zoho changes: renames, new and changed invoices, a deleted invoice and a deleted contact
    sb.clock.advance(3600)
    customers = [c for c in sb.contacts(org) if c["contact_type"] == "customer"]
    for c in customers[:5]:
        sb.update_contact(org, c["contact_id"], contact_name=c["contact_name"] + " (changed)")
    invoices = sb.invoices(org)
    for inv in invoices[:150]:
        sb.update_invoice(org, inv["invoice_id"], reference_number="changed")
    sb.add_invoice(org, customer_id=customers[0]["contact_id"], total=99.5, balance=99.5, status="sent")
    sb.delete_invoice(org, invoices[-1]["invoice_id"])
    sb.delete_contact(org, customers[-1]["contact_id"])

    modes = ["full", "full", "incremental"]  # nightly twice (same DAG), and the incremental run
    clients = [RecordingClient(client_for(sb, org, tenant=label)) for _ in modes]
    barrier = threading.Barrier(len(modes))
    outcomes: dict[int, object] = {}

    def run(i):
        barrier.wait()
        try:
            outcomes[i] = sync(sb, uri, org, modes[i], label=label, client=clients[i], run_id=f"run-{i}")[0]
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            outcomes[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(modes))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(180)
    assert not any(isinstance(o, Exception) for o in outcomes.values()), outcomes
    assert len(outcomes) == len(modes)

    # the two nightly runs serialised: each one's API requests happened while it alone held the
    # tenant's nightly lock, so their request intervals do not overlap (the incremental run may
    # overlap them: it has a lock of its own, and all draw from the one budget ledger)
    intervals = sorted(c.interval() for c, mode in zip(clients, modes) if mode == "full")
    for (_, end), (start, _) in zip(intervals, intervals[1:]):
        assert end <= start, f"two nightly runs talked to Zoho at the same time: {intervals}"
    with warehouse.connect(uri) as conn:
        assert tenant_lock_pids(conn, label) == []

    # converged: equal to one clean nightly run after the changes (deletions flagged; an incremental
    # run that ran after the nightly ones did not undo them)
    sync(sb, uri, org, "full", label="clean")
    expected, actual = raw_state(uri, "clean"), raw_state(uri, label)
    # last_mode is whichever run finished last; compare the rest of the sync state
    for state in (expected, actual):
        state["zoho_sync.sync_metadata"] = {k: v[:2] + v[3:] for k, v in state["zoho_sync.sync_metadata"].items()}
    assert_same_state(actual, expected)
