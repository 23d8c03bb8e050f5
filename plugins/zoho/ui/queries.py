"""Read-only queries of the Customer sync page (no Airflow import: usable and testable on its own).

Every query is bounded: lists are paginated with LIMIT/OFFSET (one extra row tells whether there is
a next page, so no count over the whole table), pages are capped at ``MAX_PAGE`` so that an OFFSET
never walks more than ``MAX_PAGE * PAGE_SIZE`` rows, filters are built only from the parameters given
(no ``(%s is null or ...)`` that would defeat the indexes), and joins are made for the rows of the
page only, after the page has been chosen.

The long lists (invoices, reminders) are ordered by a date that their index holds after
(user_id, status): ``analytics.invoices_cache (user_id, status, due_date)`` and
``analytics.payment_reminders (user_id, status, scheduled_for)``. A list over several tenants or
statuses is a UNION ALL of one ordered, LIMITed index scan per (tenant, status), merged: it reads at
most ``offset + page size`` entries per scan instead of sorting every matching row (``_merged_ids``).
Other indexes used: invoices ``(customer_id)`` (a customer's invoices), the primary keys (joins),
customers ``(user_id, primary_phone)`` (an exact E.164 search within a tenant),
``zoho_sync.quality_results`` primary key (the latest gate is its highest id) and ``(run_id)``.
Not indexed (scans of one table, bounded, measured in tests/ui/test_queries_scale.py): a search by
name (customers) or invoice number (``ilike '%...%'``: a pg_trgm GIN index would make it indexed).

Customer fields shown next to invoices and reminders are always joined from ``customers_cache`` (the
invoice rows hold no copy of them).

The SQL is in ``sql/`` (one file per statement, or per fragment: ``open_invoices``, ``invoice_columns``);
what depends on the request (filters, sort direction, the UNION ALL of index scans) is composed
here with ``psycopg.sql`` from fixed pieces, values always as parameters.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from zoho.reminders.policy import DEFAULT_ELIGIBLE_STATUSES
from zoho.warehouse.sqlfiles import sql_files

load_sql = sql_files(__file__)

PAGE_SIZE = 50
MAX_PAGE = 200
OPEN_STATUSES = tuple(DEFAULT_ELIGIBLE_STATUSES)
INVOICE_STATUSES = ("draft", "sent", "viewed", "overdue", "partially_paid", "unpaid", "paid", "void",
                    "pending_approval", "approved")
REMINDER_STATUSES = ("pending", "skipped", "cancelled", "sent", "failed")
# status filter of the reminder queue -> the statuses it stands for
REMINDER_STATUS_FILTERS: dict[str, tuple[str, ...]] = {
    "pending": ("pending",),
    "withheld": ("skipped", "cancelled"),
    **{s: (s,) for s in REMINDER_STATUSES if s != "pending"},
    "all": REMINDER_STATUSES,
}
# scheduled_for filters; "past" and "recent" look back RECENT_DAYS (older rows are history: "all")
REMINDER_WHEN = ("upcoming", "today", "past", "recent", "all")
RECENT_DAYS = 30
REMINDER_REASONS = ("no_customer", "phone_pending", "no_phone", "customer_deleted", "invoice_paid", "invoice_void",
                    "invoice_deleted", "invoice_not_eligible", "quality_gate_failed", "send_failed",
                    "send_attempts_exhausted")
_PHONE_QUERY = re.compile(r"^\+?[\d\s().\-/]+$")
MAX_QUERY_LENGTH = 100


@dataclass
class Page:
    rows: list[dict[str, Any]]
    page: int
    has_next: bool
    page_size: int = PAGE_SIZE

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def first_row(self) -> int:
        return (self.page - 1) * self.page_size + 1 if self.rows else 0

    @property
    def last_row(self) -> int:
        return (self.page - 1) * self.page_size + len(self.rows)


@dataclass
class Search:
    """What a search box holds: a phone number (digits) or a name (a LIKE pattern)."""

    text: str = ""
    kind: str = "none"  # none | phone | name
    digits: str = ""
    e164: str | None = None

    @property
    def like(self) -> str:
        return "%" + escape_like(self.text) + "%"


@dataclass
class Filters:
    """The WHERE clause of a list, built from the filters that were given."""

    parts: list[sql.Composable] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)

    def add(self, clause: str, *params: Any) -> None:
        self.parts.append(sql.SQL(clause))
        self.params.extend(params)

    def where(self) -> sql.Composable:
        return sql.SQL("where ") + sql.SQL(" and ").join(self.parts) if self.parts else sql.SQL("")


def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def clamp_page(page: Any) -> int:
    try:
        return min(max(int(page), 1), MAX_PAGE)
    except (TypeError, ValueError):
        return 1


def parse_search(q: str | None) -> Search:
    text = (q or "").strip()[:MAX_QUERY_LENGTH]
    if not text:
        return Search()
    digits = re.sub(r"\D", "", text)
    if _PHONE_QUERY.match(text) and len(digits) >= 4:
        return Search(text=text, kind="phone", digits=digits, e164="+" + digits if text.startswith("+") else None)
    return Search(text=text, kind="name")


def _rows(conn: psycopg.Connection, query: sql.Composable | str, params: Any = None) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(query, params)
        return cur.fetchall()


# --------------------------------------------------------------------------- overview
def tenants(conn: psycopg.Connection) -> list[str]:
    """Tenants the sync has seen (``sync_metadata`` has one row per tenant and entity)."""
    return [r["user_id"] for r in _rows(conn, load_sql("tenants"))]


def table_tenants(conn: psycopg.Connection, table: str) -> list[str]:
    """The distinct user_ids of a table whose indexes lead with user_id: a loose index scan (one
    index probe per tenant) instead of reading the table."""
    if table not in ("analytics.invoices_cache", "analytics.payment_reminders", "analytics.customers_cache"):
        raise ValueError(table)
    query = sql.SQL(load_sql("table_tenants")).format(table=sql.SQL(table))
    return [r["user_id"] for r in _rows(conn, query)]


def sync_status(conn: psycopg.Connection) -> list[dict[str, Any]]:
    """The last run of each (tenant, entity): mode, status, times, counts, API calls, error."""
    return _rows(conn, load_sql("sync_status"))


def budget_planner(conn: psycopg.Connection) -> dict[str, dict[str, Any]]:
    """Per tenant, its row of ``zoho_sync.budget_planner`` (a view over a few rows per tenant: the
    budget ledger, the sweep checkpoints, and the contacts with persons pending, by a partial index);
    none before the warehouse is migrated to it."""
    if _rows(conn, "select to_regclass('zoho_sync.budget_planner') is not null as present")[0]["present"]:
        return {r["user_id"]: r for r in _rows(conn, load_sql("budget_planner"))}
    return {}


def rejected_counts(conn: psycopg.Connection) -> dict[str, dict[str, int]]:
    """Quarantined records per tenant and entity (``zoho_sync.rejected_records``)."""
    out: dict[str, dict[str, int]] = {}
    for r in _rows(conn, load_sql("rejected_counts")):
        out.setdefault(r["user_id"], {})[r["entity"]] = r["n"]
    return out


def latest_quality_gate(conn: psycopg.Connection) -> dict[str, Any] | None:
    """The latest quality gate (the rows of one run are replaced as a set, so the highest id is the
    latest gate): run id, when, passed or not, and the expectations that failed."""
    latest = _rows(conn, load_sql("latest_quality_run"))
    if not latest:
        return None
    run_id = latest[0]["run_id"]
    results = _rows(conn, load_sql("quality_results"), (run_id,))
    failed = [r for r in results if not r["success"]]
    return {"run_id": run_id, "checked_at": max(r["checked_at"] for r in results), "success": not failed,
            "expectations": len(results), "failed": failed}


def reminder_counts(conn: psycopg.Connection, today: date) -> dict[str, dict[str, int]]:
    """Per tenant, reminders scheduled since ``today - RECENT_DAYS``: pending before today / today /
    later, withheld (skipped or cancelled), sent, failed. One index range scan per (tenant, status)."""
    since = today - timedelta(days=RECENT_DAYS)
    out: dict[str, dict[str, int]] = {}
    rows = _rows(conn, load_sql("reminder_counts"), {
        "tenants": table_tenants(conn, "analytics.payment_reminders"),
        "statuses": list(REMINDER_STATUSES), "d": today, "since": since})
    for r in rows:
        c = out.setdefault(r["user_id"], {"pending_overdue": 0, "pending_today": 0, "pending_upcoming": 0,
                                          "withheld": 0, "sent": 0, "failed": 0})
        total = r["before_today"] + r["on_today"] + r["after_today"]
        if r["status"] == "pending":
            c["pending_overdue"] += r["before_today"]
            c["pending_today"] += r["on_today"]
            c["pending_upcoming"] += r["after_today"]
        elif r["status"] in ("skipped", "cancelled"):
            c["withheld"] += total
        else:
            c[r["status"]] += total
    return out


# --------------------------------------------------------------------------- merged index scans
def _merged_ids(table: str, alias: str, sort_col: str, desc: bool, partitions: list[tuple[str, str]],
                common: Filters, page: int, page_size: int) -> tuple[sql.Composable, list[Any]]:
    """The page of ``(id, sort_col)`` of ``table`` ordered by ``sort_col`` (then id), over the given
    (user_id, status) partitions: one index scan per partition, each LIMITed to what the page can need."""
    direction = sql.SQL("desc" if desc else "asc")
    need = page * page_size + 1
    parts, params = [], []
    for user_id, status in partitions:
        where = sql.SQL(" and ").join([sql.SQL("{a}.user_id = %s and {a}.status = %s").format(a=sql.Identifier(alias)),
                                       *common.parts])
        parts.append(sql.SQL("(select {a}.id, {a}.{col} from {table} {a} where {where} "
                             "order by {a}.{col} {dir}, {a}.id {dir} limit %s)").format(
            a=sql.Identifier(alias), col=sql.Identifier(sort_col), table=sql.SQL(table), where=where,
            dir=direction))
        params += [user_id, status, *common.params, need]
    if not parts:  # nothing to scan: an empty page of the right shape
        return (sql.SQL("select null::uuid as id, null::date as {col} where false").format(
            col=sql.Identifier(sort_col)), [])
    query = sql.SQL("select m.id, m.{col} from ({union}) m order by m.{col} {dir}, m.id {dir} limit %s offset %s").format(
        col=sql.Identifier(sort_col), union=sql.SQL(" union all ").join(parts), dir=direction)
    return query, [*params, page_size + 1, (page - 1) * page_size]


def _partitions(conn: psycopg.Connection, table: str, tenant: str | None,
                statuses: tuple[str, ...]) -> list[tuple[str, str]]:
    tenant_ids = [tenant] if tenant else table_tenants(conn, table)
    return [(t, s) for t in tenant_ids for s in statuses]


def _finish(rows: list[dict[str, Any]], page: int, page_size: int = PAGE_SIZE) -> Page:
    return Page(rows=rows[:page_size], page=page, has_next=len(rows) > page_size, page_size=page_size)


# --------------------------------------------------------------------------- customers
def customers(conn: psycopg.Connection, tenant: str | None, q: str | None, page: int) -> tuple[Page, Search]:
    """Customers (not deleted) by name or phone, each with its primary phone, where it came from, and
    the number and amount of its open invoices (computed for the customers of the page only)."""
    page = clamp_page(page)
    search = parse_search(q)
    f = Filters()
    f.add("not c.is_deleted")
    if tenant:
        f.add("c.user_id = %s", tenant)
    if search.kind == "phone":
        if search.e164:  # exact E.164: the (user_id, primary_phone) index within a tenant
            f.add("(c.primary_phone = %s or c.primary_phone like %s)", search.e164, f"%{search.digits}%")
        else:
            f.add("c.primary_phone like %s", f"%{search.digits}%")
    elif search.kind == "name":
        f.add("(c.customer_name ilike %s or c.company_name ilike %s)", search.like, search.like)
    query = sql.SQL(load_sql("customers")).format(open=sql.SQL(load_sql("open_invoices")), where=f.where())
    rows = _rows(conn, query, [*f.params, PAGE_SIZE + 1, (page - 1) * PAGE_SIZE, list(OPEN_STATUSES)])
    return _finish(rows, page), search


def customer(conn: psycopg.Connection, customer_id: str) -> dict[str, Any] | None:
    query = sql.SQL(load_sql("customer")).format(open=sql.SQL(load_sql("open_invoices")))
    rows = _rows(conn, query, (list(OPEN_STATUSES), customer_id))
    return rows[0] if rows else None


def reminder(conn: psycopg.Connection, reminder_id: str) -> dict[str, Any] | None:
    """One reminder with its invoice, customer and send record; its events from zoho.reminders.history."""
    rows = _rows(conn, load_sql("reminder"), (reminder_id,))
    return rows[0] if rows else None


def customer_invoices(conn: psycopg.Connection, customer_id: str, open_only: bool, page: int) -> Page:
    """A customer's invoices (index on customer_id), by due date."""
    page = clamp_page(page)
    f = Filters()
    f.add("i.customer_id = %s", customer_id)
    if open_only:
        f.add("not i.is_deleted and i.balance > 0 and i.status = any(%s)", list(OPEN_STATUSES))
    query = sql.SQL(load_sql("customer_invoices")).format(where=f.where())
    return _finish(_rows(conn, query, [*f.params, PAGE_SIZE + 1, (page - 1) * PAGE_SIZE]), page)


# --------------------------------------------------------------------------- invoices
def invoices(conn: psycopg.Connection, tenant: str | None, status: str, q: str | None, page: int) -> Page:
    """Invoices with the customer's name and primary phone joined from ``customers_cache``.

    ``status``: ``open`` (owed: an eligible status, balance > 0, not deleted; oldest due first),
    ``all``, or one Zoho status (latest due first; invoices without a due date first)."""
    page = clamp_page(page)
    text = (q or "").strip()[:MAX_QUERY_LENGTH]
    common = Filters()
    if status == "open":
        statuses, desc = OPEN_STATUSES, False
        common.add("i.balance > 0 and not i.is_deleted")
    else:
        statuses, desc = ((status,) if status in INVOICE_STATUSES else INVOICE_STATUSES), True
    direction = sql.SQL("desc" if desc else "asc")
    columns = sql.SQL(load_sql("invoice_columns"))
    if text:  # a search: few matches, filtered and sorted directly
        f = Filters(list(common.parts), list(common.params))
        if tenant:
            f.add("i.user_id = %s", tenant)
        f.add("i.status = any(%s)", list(statuses))
        f.add("(i.invoice_number ilike %s or i.zoho_invoice_id = %s)", "%" + escape_like(text) + "%", text)
        query = sql.SQL(load_sql("invoices_search")).format(cols=columns, where=f.where(), dir=direction)
        return _finish(_rows(conn, query, [*f.params, PAGE_SIZE + 1, (page - 1) * PAGE_SIZE]), page)
    ids, params = _merged_ids("analytics.invoices_cache", "i", "due_date", desc,
                              _partitions(conn, "analytics.invoices_cache", tenant, statuses), common,
                              page, PAGE_SIZE)
    query = sql.SQL(load_sql("invoices_page")).format(cols=columns, ids=ids, dir=direction)
    return _finish(_rows(conn, query, params), page)


# --------------------------------------------------------------------------- reminders
def reminders(conn: psycopg.Connection, tenant: str | None, status: str, when: str, reason: str | None,
              today: date, page: int) -> Page:
    """The reminder queue joined to its invoice and customer (the customer's current primary phone
    beside the phone the reminder was generated with). ``when``: ``upcoming`` (today and later,
    soonest first), ``today``, ``past`` (the RECENT_DAYS before today), ``recent`` (since
    RECENT_DAYS ago) or ``all``; the last three latest first."""
    page = clamp_page(page)
    statuses = REMINDER_STATUS_FILTERS.get(status, REMINDER_STATUS_FILTERS["pending"])
    common = Filters()
    since = today - timedelta(days=RECENT_DAYS)
    if when == "upcoming":
        common.add("r.scheduled_for >= %s", today)
    elif when == "today":
        common.add("r.scheduled_for = %s", today)
    elif when == "past":
        common.add("r.scheduled_for >= %s and r.scheduled_for < %s", since, today)
    elif when == "recent":
        common.add("r.scheduled_for >= %s", since)
    if reason:
        common.add("r.reason = %s", reason)
    desc = when not in ("upcoming", "today")
    ids, params = _merged_ids("analytics.payment_reminders", "r", "scheduled_for", desc,
                              _partitions(conn, "analytics.payment_reminders", tenant, statuses), common,
                              page, PAGE_SIZE)
    query = sql.SQL(load_sql("reminders_page")).format(ids=ids, dir=sql.SQL("desc" if desc else "asc"))
    return _finish(_rows(conn, query, params), page)
