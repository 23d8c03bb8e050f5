"""The nightly sweep across Zoho days (``zoho.sync.sweep``, ``zoho.sync.nightly``), over real sockets and a
real Postgres: a small plan makes the sweep of a sandbox organisation span several days; the sandbox
ends each Zoho day (no clock moves) and Zoho's data changes between the runs.

What is shown: each day within the budget and without a code-45 answer; the listing resumes from its
checkpoint (each page paid at most twice over the whole sweep); nothing is flagged deleted before the
sweep is complete, and then exactly what Zoho deleted (a record a deletion shifted past the checkpoint
is confirmed by id, not flagged); the end state equals one run with an unlimited budget; a customer
that no listing returns but Zoho answers by id stays live; a deleted open invoice is flagged the same
night while the sweep goes on; a killed worker resumes without loss or duplicate; the open invoices'
customers get their persons read first.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.helpers import client_for, rows, scalar
from tests.reliability.helpers import table_checksums, wait_until
from zoho.books import ratelimit
from zoho.sync.budget import BudgetSettings
from zoho.sync.extract import DEFAULT_DUE_RANGE, Tenant, sync_tenant

pytestmark = [pytest.mark.integration]

SIZE = {"seed": 41, "orgs": 1, "contacts_per_org": 420, "invoices_per_org": 2300}  # 3 contact, 12 invoice pages
SMALL = BudgetSettings(daily_budget=60, budget_reserve=20)  # a sweep may spend 40 calls a Zoho day
TINY = BudgetSettings(daily_budget=20, budget_reserve=12)  # 8 a day: the invoice pages span days
COMPARED = (("zoho_raw.contacts", "contact_id"), ("zoho_raw.contact_persons", "contact_person_id"),
            ("zoho_raw.invoices", "invoice_id"), ("zoho_raw.missing_contacts", "contact_id"))
RUNNER = Path(__file__).resolve().parents[1] / "reliability" / "sync_runner.py"


def nightly(sb, uri, org, label, budget=SMALL, run_id="night"):
    return sync_tenant(client_for(sb, org, tenant=label), uri, Tenant(label, org.country), "full",
                       run_id=run_id, budget=budget)


def phases(uri, label) -> dict[str, str]:
    return dict(rows(uri, "select entity, phase from zoho_sync.sweeps where user_id = %s", label))


def deleted(uri, label, table, id_column) -> set[str]:
    return {r[0] for r in rows(uri, f"select {id_column} from zoho_raw.{table} where user_id = %s and is_deleted",
                               label)}


def state(uri, label) -> dict:
    """The raw tables without load timestamps and the sweep generation that saw each row."""
    return {table: table_checksums(uri, table, key, label, ("user_id", "seen_generation"))
            for table, key in COMPARED}


def sweep_days(sb, uri, org, label, *, between=None, max_days=60, budget=SMALL) -> list[dict]:
    """Nightly runs, one per Zoho day, until the sweep is complete; ``between(day)`` changes Zoho's
    data after a day's run. Returns each day's result, phases and deletion flags."""
    days = []
    for day in range(1, max_days + 1):
        if day > 1:
            sb.end_day(org)
        result = nightly(sb, uri, org, label, budget=budget, run_id=f"night-{day}")
        days.append({"result": result, "phases": phases(uri, label),
                     "deleted": len(deleted(uri, label, "contacts", "contact_id"))
                     + len(deleted(uri, label, "invoices", "invoice_id")),
                     "flagged": rows(uri, "select contact_id, null from zoho_raw.contacts where user_id = %s "
                                          "and is_deleted union all select invoice_id, payload->>'status' "
                                          "from zoho_raw.invoices where user_id = %s and is_deleted", label, label)})
        if days[-1]["phases"] == {"contacts": "complete", "invoices": "complete"}:
            return days
        if between is not None:
            between(day)
    raise AssertionError(f"the sweep did not complete in {max_days} days: {days[-1]}")


@pytest.fixture(scope="module")
def sb(sandbox_factory):
    ratelimit.reset_shared_limiters()
    return sandbox_factory(**SIZE, plans={0: 80}, per_minute_limit=None, max_concurrent=None)


def test_a_sweep_spans_days_from_its_checkpoint_and_ends_as_one_unlimited_run(sb, make_database):
    org = sb.organizations[0]
    uri = make_database("sweep")
    sb.end_day(org)
    sb.reset_calls()
    days = sweep_days(sb, uri, org, "slow")
    calls = sb.calls_matching("/books/v3/invoices", org_id=org.organization_id)
    history = sb.day_history(org)

    assert len(days) >= 3, "the sweep must span several days for this test to mean anything"
    assert all(d["result"].stopped for d in days[:-1])
    assert max(d["calls"] for d in history[-len(days):]) <= SMALL.daily_budget
    assert sum(d["code_45"] for d in history) == 0
    assert all(d["deleted"] == 0 for d in days)  # nothing in Zoho was deleted: nothing flagged
    # the listing resumed where it stopped: every page of the sweep paid at most twice
    pages = Counter(c.params.get("page") for c in calls if c.params.get("sort_column") == "created_time")
    assert pages and max(pages.values()) <= 2, pages
    sweep = rows(uri, "select entity, generation, runs, pages_done, pages_total, last_calls from zoho_sync.sweeps "
                      "where user_id = 'slow' order by entity")
    assert [(e, g) for e, g, *_ in sweep] == [("contacts", 1), ("invoices", 1)]
    assert all(done == total and total > 0 for _, _, _, done, total, _ in sweep)
    assert scalar(uri, "select count(*) from zoho_raw.contacts where user_id = 'slow' and persons_pending") == 0

    sb.end_day(org)
    sb.set_plan(org, "premium")
    reference = make_database("unlimited")
    nightly(sb, reference, org, "slow", budget=None)
    assert state(uri, "slow") == state(reference, "slow")
    sb.set_plan(org, 80)


def test_deletions_during_a_long_sweep_are_flagged_only_when_a_sweep_completes_and_exactly(sb, make_database):
    """Sweep 1 completes (a large budget); sweep 2 spans days on a tiny one while Zoho deletes records
    behind its checkpoint (already seen by sweep 2: the next sweep's to flag; more than a page of them,
    so live records shift past the checkpoint unseen) and ahead of it (flagged when sweep 2 completes)."""
    org = sb.organizations[0]
    uri = make_database("sweepdel")
    sb.end_day(org)
    sweep_days(sb, uri, org, "del", budget=BudgetSettings(daily_budget=TINY.daily_budget, budget_reserve=1))
    contact_ids = sorted(sb.contact_ids(org), key=int)
    behind, ahead, gone_contacts, added, rounds = set(), set(), set(), [], []

    def change(day: int) -> None:
        page = scalar(uri, "select next_page from zoho_sync.sweeps where user_id = 'del' and entity = 'invoices'")
        if page < 4 or rounds:
            return
        rounds.append(day)
        # invoices the nightly check of the open ones does not look at: only a sweep finds them gone
        closed = [r for r in rows(uri, "select invoice_id, seen_generation = 2 from zoho_raw.invoices "
                                       "where user_id = 'del' and payload->>'status' in ('paid', 'void', 'draft') "
                                       "order by invoice_id")]
        behind.update([i for i, seen in closed if seen][:210])
        ahead.update([i for i, seen in closed if not seen][:5])
        for victim in behind | ahead:
            sb.delete_invoice(org, victim)
        sb.delete_contact(org, contact_ids[10])
        gone_contacts.add(contact_ids[10])
        added.append(sb.add_invoice(org, customer_id=contact_ids[5]))

    days = sweep_days(sb, uri, org, "del", between=change, budget=TINY)
    assert rounds and len(days) > rounds[0], "the deletions must happen while sweep 2 lists the invoices"
    # nothing flagged while sweep 2 lists; then only what its complete listing did not see, confirmed by id
    assert all(d["deleted"] == 0 for d in days if d["phases"]["invoices"] == "listing")
    assert deleted(uri, "del", "invoices", "invoice_id") == ahead
    live_by_id, flagged = rows(uri, "select confirmed_live, flagged_deleted from zoho_sync.sweeps "
                                    "where user_id = 'del' and entity = 'invoices'")[0]
    assert flagged == len(ahead)
    assert live_by_id > 0  # records the deletions shifted past the checkpoint: confirmed by id, not flagged

    sweep_days(sb, uri, org, "del", budget=TINY)  # sweep 3 sees what went behind sweep 2
    assert deleted(uri, "del", "invoices", "invoice_id") == ahead | behind
    assert deleted(uri, "del", "contacts", "contact_id") == gone_contacts  # deleted after sweep 2 listed it
    live = {i["invoice_id"] for i in sb.invoices(org)}
    assert set(rows_ids(uri, "invoices", "invoice_id", "del", live=True)) == live  # none skipped, none wrongly flagged
    assert set(added) <= live


def rows_ids(uri, table, id_column, label, live=False):
    cond = " and not is_deleted" if live else ""
    return [r[0] for r in rows(uri, f"select {id_column} from zoho_raw.{table} where user_id = %s{cond}", label)]


def test_a_customer_no_listing_returns_but_zoho_answers_by_id_stays_live(sb, make_database):
    org = sb.organizations[0]
    uri = make_database("byid")
    sb.set_plan(org, "premium")
    try:
        customer = next(i["customer_id"] for i in sb.invoices(org) if i["customer_id"] in set(sb.contact_ids(org)))
        nightly(sb, uri, org, "byid", budget=None, run_id="n1")
        sb.update_contact(org, customer, contact_type="vendor")  # the customer listing no longer returns it
        for night in ("n2", "n3", "n4"):
            sb.end_day(org)
            nightly(sb, uri, org, "byid", budget=None, run_id=night)
            assert scalar(uri, "select is_deleted from zoho_raw.contacts where user_id = 'byid' and contact_id = %s",
                          customer) is False, night
        assert scalar(uri, "select confirmed_live from zoho_sync.sweeps where user_id = 'byid' "
                           "and entity = 'contacts'") == 1
    finally:
        sb.update_contact(org, customer, contact_type="customer")
        sb.end_day(org)
        sb.set_plan(org, 80)


def test_a_deleted_open_invoice_is_flagged_the_same_night_while_the_sweep_goes_on(sb, make_database):
    org = sb.organizations[0]
    uri = make_database("openinv")
    sb.end_day(org)
    nightly(sb, uri, org, "open", run_id="n1")
    assert phases(uri, "open")["invoices"] != "complete"
    lo, hi = DEFAULT_DUE_RANGE
    today = sb.today if isinstance(sb.today, date) else date.fromisoformat(str(sb.today))
    victim = scalar(uri, "select invoice_id from zoho_raw.invoices where user_id = 'open' and not is_deleted "
                         "and payload->>'status' in ('sent', 'overdue', 'partially_paid') "
                         "and (payload->>'due_date')::date between %s and %s order by invoice_id limit 1",
                    today + timedelta(days=lo + 1), today + timedelta(days=hi - 1))
    assert victim is not None, "the first night lands the open invoices due in the reminder window"
    sb.delete_invoice(org, victim)
    sb.end_day(org)
    nightly(sb, uri, org, "open", run_id="n2")
    assert phases(uri, "open")["invoices"] != "complete"  # the sweep is still under way ...
    assert deleted(uri, "open", "invoices", "invoice_id") == {victim}  # ... and the open invoice is flagged tonight


def test_the_first_night_reads_the_persons_of_customers_with_a_reminder_due_first(sb, make_database):
    org = sb.organizations[0]
    uri = make_database("phones")
    sb.end_day(org)
    nightly(sb, uri, org, "phones", run_id="n1",
            budget=BudgetSettings(daily_budget=79, budget_reserve=4))
    lo, hi = DEFAULT_DUE_RANGE
    due, other = rows(uri, """
        select count(*) filter (where due_soon and c.persons_pending), count(*) filter (where not due_soon and not c.persons_pending
                                                                  and c.persons_synced_at is not null)
        from zoho_raw.contacts c
        cross join lateral (select exists (
            select 1 from zoho_raw.invoices i where i.user_id = c.user_id and i.customer_id = c.contact_id
              and not i.is_deleted and i.payload->>'status' in ('sent','viewed','overdue','partially_paid','unpaid')
              and (i.payload->>'due_date')::date between current_date + %s and current_date + %s) as due_soon) d
        where c.user_id = 'phones'""", lo, hi)[0]
    pending = scalar(uri, "select count(*) from zoho_raw.contacts where user_id = 'phones' and persons_pending")
    assert pending > 0, "the day's budget must not cover every person for this test to mean anything"
    read_due = scalar(uri, "select count(*) from zoho_raw.contacts c where user_id = 'phones' and not persons_pending "
                           "and persons_synced_at is not null")
    assert read_due > other  # the day's persons went to customers with a reminder due ...
    assert due == 0 or other == 0  # ... and to no other customer while one of those was still waiting


@pytest.mark.slow
def test_a_worker_killed_mid_sweep_resumes_without_loss_or_duplicate(sb, make_database):
    org = sb.organizations[0]
    uri = make_database("killed")
    sb.end_day(org)
    sb.set_plan(org, "premium")
    try:
        # every invoice page answers slowly: the worker is killed once a batch of pages has landed
        sb.faults.add("slow", count=None, path_prefix="/books/v3/invoices", org_id=org.organization_id, delay=0.4)
        spec = {"connection": sb.airflow_connection(org), "uri": uri, "label": "killed", "country": org.country,
                "mode": "full", "run_id": "killed-run"}
        proc = subprocess.Popen([sys.executable, str(RUNNER), json.dumps(spec)], env=os.environ.copy(),
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            def landed_a_batch() -> bool:
                return (scalar(uri, "select coalesce(max(next_page), 1) from zoho_sync.sweeps where user_id = 'killed' "
                                    "and entity = 'invoices'") > 1) or proc.poll() is not None

            assert wait_until(landed_a_batch, timeout=180, interval=0.1), "never landed a batch"
            assert proc.poll() is None, proc.stdout.read()
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)
        finally:
            if proc.poll() is None:
                proc.kill()
            sb.faults.clear()
        checkpoint = scalar(uri, "select next_page from zoho_sync.sweeps where user_id = 'killed' "
                                 "and entity = 'invoices'")
        assert checkpoint > 1  # batches landed before the kill are kept with their checkpoint
        wait_until(lambda: scalar(uri, "select count(*) from pg_stat_activity where application_name = '' "
                                       "and state = 'idle in transaction'") == 0, timeout=10)
        nightly(sb, uri, org, "killed", budget=None, run_id="retry")
        assert phases(uri, "killed") == {"contacts": "complete", "invoices": "complete"}
        assert scalar(uri, "select runs from zoho_sync.sweeps where user_id = 'killed' and entity = 'invoices'") == 2
        reference = make_database("killedref")
        nightly(sb, reference, org, "killed", budget=None)
        assert state(uri, "killed") == state(reference, "killed")
    finally:
        sb.end_day(org)
        sb.set_plan(org, 80)


def test_an_incremental_run_during_a_first_sweep_lands_a_payment_at_the_cost_of_its_changes(sb, make_database):
    """No watermark yet (the first sweep spans days): the incremental run starts from Zoho's clock
    when the sweep started, not from the beginning of the listings."""
    org = sb.organizations[0]
    uri = make_database("duringsweep")
    sb.end_day(org)
    nightly(sb, uri, org, "during", run_id="n1")
    assert phases(uri, "during")["invoices"] == "listing"
    assert scalar(uri, "select watermark from zoho_sync.sync_metadata where user_id = 'during' "
                       "and entity = 'invoices'") is None
    paid = scalar(uri, "select invoice_id from zoho_raw.invoices where user_id = 'during' "
                       "and payload->>'status' in ('sent', 'overdue') order by invoice_id limit 1")
    sb.update_invoice(org, paid, status="paid")
    client = client_for(sb, org, tenant="during")
    result = sync_tenant(client, uri, Tenant("during", org.country), "incremental", run_id="inc-1", budget=SMALL)
    assert result.stopped is None
    assert scalar(uri, "select payload->>'status' from zoho_raw.invoices where user_id = 'during' "
                       "and invoice_id = %s", paid) == "paid"
    calls = client.stats.calls_by_endpoint
    assert calls["invoices"] == 1 and calls["contacts"] == 1  # one page of each listing, not the whole of it


def test_missing_customer_lookups_are_kept_as_answered_when_the_budget_stops(sb, make_database):
    """Customers invoices reference but no listing returns are asked for by id; a budget stop in the
    middle keeps the answers already given, and the completed invoice listing still counts."""
    org = sb.organizations[0]
    uri = make_database("lookups")
    sb.end_day(org)
    sb.set_plan(org, "premium")
    try:
        nightly(sb, uri, org, "look", budget=None, run_id="n1")
        known = {r[0] for r in rows(uri, "select contact_id from zoho_raw.missing_contacts where user_id = 'look'")}
        assert len(known) >= 3
        rows_deleted = rows(uri, "delete from zoho_raw.missing_contacts where user_id = 'look' returning contact_id")
        assert len(rows_deleted) == len(known)
        sb.end_day(org)
        client = client_for(sb, org, tenant="look")
        # a first answer shows the new Zoho day; then another integration leaves this product 3 calls:
        # the invoice listing and two lookups
        sb.spend_daily(org, sb.usage(org)["remaining"] - 4)
        result = sync_tenant(client, uri, Tenant("look", org.country), "incremental", run_id="inc")
        assert result.stopped == "zoho_budget_exhausted"
        assert client.stats.calls_by_endpoint.get("contact") == 2
        answered = {r[0] for r in rows(uri, "select contact_id from zoho_raw.missing_contacts where user_id = 'look'")}
        assert len(answered) == 2 and answered <= known  # kept, though the run stopped before the rest
        status = dict(rows(uri, "select entity, status from zoho_sync.sync_metadata where user_id = 'look'"))
        assert status == {"contacts": "success", "invoices": "stopped"}
    finally:
        sb.end_day(org)
        sb.set_plan(org, 80)
