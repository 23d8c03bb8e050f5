"""The page's queries at scale: 250,000 invoices of one tenant (plus a small second tenant), the
marts' real indexes (built from the dbt contract by tests/reminders/marts.py), ~140,000 reminders. Each list must come back
well under the page budget, deep pages included, and the merged index scans must return exactly
what a plain ORDER BY ... LIMIT/OFFSET returns.
"""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.reminders.marts import create_marts
from zoho.warehouse import connection as warehouse
from zoho.ui import queries as q

pytestmark = [pytest.mark.integration, pytest.mark.slow]

HERE = Path(__file__).resolve().parent
# Generous for a shared 2-core machine; typical timings are in the README section.
BUDGET_MS = 400
SCAN_BUDGET_MS = 1500  # searches that scan one table (name, invoice number): see the README for the index


@pytest.fixture(scope="module")
def big(make_database):
    uri = make_database("uiscale")
    started = time.monotonic()
    with warehouse.connect(uri) as conn:
        create_marts(conn)
        # bulk load: the keys and indexes are dropped, then built once on the loaded rows
        tables = ("customers_cache", "invoices_cache", "payment_reminders")
        constraints = conn.execute(
            "select conrelid::regclass::text, conname, pg_get_constraintdef(oid), contype from pg_constraint "
            "where connamespace = 'analytics'::regnamespace and contype in ('p', 'u', 'f') "
            "and conrelid::regclass::text = any(%s) order by contype = 'f', contype = 'u'",
            [[f"analytics.{t}" for t in tables]]).fetchall()
        indexes = conn.execute(
            "select i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) from pg_index i "
            "where i.indrelid::regclass::text = any(%s) and not exists "
            "(select 1 from pg_constraint c where c.conindid = i.indexrelid)",
            [[f"analytics.{t}" for t in tables]]).fetchall()
        for table, name, _, _ in reversed(constraints):
            conn.execute(f'alter table {table} drop constraint "{name}"')
        for name, _ in indexes:
            conn.execute(f"drop index {name}")
        conn.execute((HERE / "scale_data.sql").read_text())
        for table, name, definition, _ in constraints:
            conn.execute(f'alter table {table} add constraint "{name}" {definition}')
        for _, definition in indexes:
            conn.execute(definition)
    with warehouse.connect(uri, autocommit=True) as conn:
        conn.execute("vacuum analyze analytics.customers_cache, analytics.invoices_cache, "
                     "analytics.payment_reminders, zoho_sync.quality_results")
        assert conn.execute("select count(*) from analytics.invoices_cache where user_id = 'big-tenant'"
                            ).fetchone()[0] == 250_000
    print(f"\n[scale] data loaded in {time.monotonic() - started:.1f} s")
    return uri


def timed(conn, fn, repeat: int = 3) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn(conn)
        best = min(best, (time.perf_counter() - t) * 1000)
    return best, result


def test_every_page_query_is_fast_on_250k_invoices(big):
    today = datetime.now(timezone.utc).date()
    cases = {
        "overview: sync status": lambda c: q.sync_status(c),
        "overview: rejected": lambda c: q.rejected_counts(c),
        "overview: quality gate": lambda c: q.latest_quality_gate(c),
        "overview: reminder counts": lambda c: q.reminder_counts(c, today),
        "customers: page 1": lambda c: q.customers(c, None, None, 1),
        "customers: tenant, last page": lambda c: q.customers(c, "big-tenant", None, q.MAX_PAGE),
        "customers: phone (E.164) in a tenant": lambda c: q.customers(c, "big-tenant", "+14150012345", 1),
        "customers: phone digits": lambda c: q.customers(c, None, "0012345", 1),
        "customer: open invoices": lambda c: q.customer_invoices(c, _a_customer(c), True, 1),
        "invoices: open, all tenants": lambda c: q.invoices(c, None, "open", None, 1),
        "invoices: open, tenant, last page": lambda c: q.invoices(c, "big-tenant", "open", None, q.MAX_PAGE),
        "invoices: all statuses, tenant": lambda c: q.invoices(c, "big-tenant", "all", None, 1),
        "invoices: all, all tenants, last page": lambda c: q.invoices(c, None, "all", None, q.MAX_PAGE),
        "invoices: one status": lambda c: q.invoices(c, "big-tenant", "overdue", None, 3),
        "reminders: pending upcoming": lambda c: q.reminders(c, None, "pending", "upcoming", None, today, 1),
        "reminders: withheld, tenant": lambda c: q.reminders(c, "big-tenant", "withheld", "all", None, today, 1),
        "reminders: all, last page": lambda c: q.reminders(c, None, "all", "all", None, today, q.MAX_PAGE),
        "reminders: sent, past": lambda c: q.reminders(c, "big-tenant", "sent", "past", None, today, 2),
    }
    scans = {
        "customers: name, all tenants": lambda c: q.customers(c, None, "golden print", 1),
        "invoices: number search": lambda c: q.invoices(c, None, "all", "INV-01234", 1),
    }
    report, slow = [], []
    with warehouse.connect(big) as conn:
        for name, fn in {**cases, **scans}.items():
            ms, result = timed(conn, fn)
            page = result[0] if isinstance(result, tuple) else result
            size = len(page.rows) if isinstance(page, q.Page) else "-"
            report.append(f"{name:42s} {ms:7.1f} ms  rows {size}")
            if ms > (SCAN_BUDGET_MS if name in scans else BUDGET_MS):
                slow.append(f"{name}: {ms:.0f} ms")
    print("\n[scale] " + "\n[scale] ".join(report))
    assert not slow, slow


def _a_customer(conn) -> str:
    return conn.execute("select customer_id::text from analytics.invoices_cache where user_id = 'big-tenant' "
                        "and customer_id is not null and status = 'overdue' limit 1").fetchone()[0]


@pytest.mark.parametrize("tenant,status,page", [(None, "all", 1), (None, "all", 37), ("big-tenant", "open", 5),
                                               (None, "open", 200), ("small-tenant", "paid", 2)])
def test_merged_invoice_pages_equal_a_plain_order_by(big, tenant, status, page):
    statuses = q.OPEN_STATUSES if status == "open" else (q.INVOICE_STATUSES if status == "all" else (status,))
    order = "due_date asc, id asc" if status == "open" else "due_date desc, id desc"
    where = ["status = any(%s)"] + (["balance > 0 and not is_deleted"] if status == "open" else [])
    params: list = [list(statuses)]
    if tenant:
        where.append("user_id = %s")
        params.append(tenant)
    with warehouse.connect(big) as conn:
        got = [r["id"] for r in q.invoices(conn, tenant, status, None, page).rows]
        expected = [r[0] for r in conn.execute(
            f"select id from analytics.invoices_cache where {' and '.join(where)} order by {order} "
            f"limit 50 offset %s", [*params, (page - 1) * 50]).fetchall()]
    assert got == expected and len(got) == 50


@pytest.mark.parametrize("tenant,status,when,page", [(None, "all", "all", 9), ("big-tenant", "pending", "upcoming", 3),
                                                    (None, "withheld", "recent", 1), ("big-tenant", "sent", "past", 4)])
def test_merged_reminder_pages_equal_a_plain_order_by(big, tenant, status, when, page):
    today = datetime.now(timezone.utc).date()
    statuses = q.REMINDER_STATUS_FILTERS[status]
    where, params = ["status = any(%s)"], [list(statuses)]
    if tenant:
        where.append("user_id = %s")
        params.append(tenant)
    if when == "upcoming":
        where.append("scheduled_for >= %s")
        params.append(today)
    elif when == "past":
        where.append("scheduled_for >= %s and scheduled_for < %s")
        params += [today - timedelta(days=q.RECENT_DAYS), today]
    elif when == "recent":
        where.append("scheduled_for >= %s")
        params.append(today - timedelta(days=q.RECENT_DAYS))
    order = "scheduled_for asc, id asc" if when == "upcoming" else "scheduled_for desc, id desc"
    with warehouse.connect(big) as conn:
        got = [r["id"] for r in q.reminders(conn, tenant, status, when, None, today, page).rows]
        expected = [r[0] for r in conn.execute(
            f"select id from analytics.payment_reminders where {' and '.join(where)} order by {order} "
            f"limit 50 offset %s", [*params, (page - 1) * 50]).fetchall()]
    assert got == expected and got
