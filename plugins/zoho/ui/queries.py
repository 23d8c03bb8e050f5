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
REMINDER_REASONS = ("no_customer", "no_phone", "customer_deleted", "invoice_paid", "invoice_void",
                    "invoice_deleted", "invoice_not_eligible", "quality_gate_failed")
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
    return [r["user_id"] for r in _rows(conn, "select distinct user_id from zoho_sync.sync_metadata order by 1")]


def table_tenants(conn: psycopg.Connection, table: str) -> list[str]:
    """The distinct user_ids of a table whose indexes lead with user_id: a loose index scan (one
    index probe per tenant) instead of reading the table."""
    if table not in ("analytics.invoices_cache", "analytics.payment_reminders", "analytics.customers_cache"):
        raise ValueError(table)
    query = sql.SQL("""
        with recursive t as (
            (select user_id from {table} order by user_id limit 1)
            union all
            select (select x.user_id from {table} x where x.user_id > t.user_id order by x.user_id limit 1)
            from t where t.user_id is not null
        )
        select user_id from t where user_id is not null""").format(table=sql.SQL(table))
    return [r["user_id"] for r in _rows(conn, query)]


def sync_status(conn: psycopg.Connection) -> list[dict[str, Any]]:
    """The last run of each (tenant, entity): mode, status, times, counts, API calls, error."""
    return _rows(conn, """
        select user_id, entity, last_mode, last_run_id, status, started_at, finished_at, watermark,
               records_fetched, records_upserted, records_deleted, records_rejected, api_calls,
               person_calls, missing_customers, last_error, last_full_sync_at
        from zoho_sync.sync_metadata
        order by user_id, entity""")


def rejected_counts(conn: psycopg.Connection) -> dict[str, dict[str, int]]:
    """Quarantined records per tenant and entity (``zoho_sync.rejected_records``)."""
    out: dict[str, dict[str, int]] = {}
    for r in _rows(conn, "select user_id, entity, count(*) as n from zoho_sync.rejected_records group by 1, 2"):
        out.setdefault(r["user_id"], {})[r["entity"]] = r["n"]
    return out


def latest_quality_gate(conn: psycopg.Connection) -> dict[str, Any] | None:
    """The latest quality gate (the rows of one run are replaced as a set, so the highest id is the
    latest gate): run id, when, passed or not, and the expectations that failed."""
    latest = _rows(conn, "select run_id from zoho_sync.quality_results order by id desc limit 1")
    if not latest:
        return None
    run_id = latest[0]["run_id"]
    results = _rows(conn, """
        select expectation, table_name, column_name, success, unexpected_count, checked_at
        from zoho_sync.quality_results where run_id = %s order by success, id""", (run_id,))
    failed = [r for r in results if not r["success"]]
    return {"run_id": run_id, "checked_at": max(r["checked_at"] for r in results), "success": not failed,
            "expectations": len(results), "failed": failed}


def reminder_counts(conn: psycopg.Connection, today: date) -> dict[str, dict[str, int]]:
    """Per tenant, reminders scheduled since ``today - RECENT_DAYS``: pending before today / today /
    later, withheld (skipped or cancelled), sent, failed. One index range scan per (tenant, status)."""
    since = today - timedelta(days=RECENT_DAYS)
    out: dict[str, dict[str, int]] = {}
    rows = _rows(conn, """
        select t.user_id, s.status, x.before_today, x.on_today, x.after_today
        from unnest(%(tenants)s::text[]) as t(user_id)
        cross join unnest(%(statuses)s::text[]) as s(status)
        cross join lateral (
            select count(*) filter (where r.scheduled_for < %(d)s) as before_today,
                   count(*) filter (where r.scheduled_for = %(d)s) as on_today,
                   count(*) filter (where r.scheduled_for > %(d)s) as after_today
            from analytics.payment_reminders r
            where r.user_id = t.user_id and r.status = s.status and r.scheduled_for >= %(since)s
        ) x""", {"tenants": table_tenants(conn, "analytics.payment_reminders"),
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
_OPEN_INVOICES = """
    select count(*) as open_invoices, sum(i.balance) as open_balance,
           case when count(distinct i.currency_code) = 1 then min(i.currency_code) end as currency_code
    from analytics.invoices_cache i
    where i.customer_id = c.id and not i.is_deleted and i.balance > 0 and i.status = any(%s)"""


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
    query = sql.SQL("""
        select c.id, c.user_id, c.zoho_customer_id, c.customer_name, c.company_name, c.email,
               c.primary_phone, c.primary_phone_source, c.status, o.open_invoices, o.open_balance, o.currency_code
        from (select c.* from analytics.customers_cache c {where}
              order by c.customer_name, c.id limit %s offset %s) c
        left join lateral ({open}) o on true
        order by c.customer_name, c.id""").format(open=sql.SQL(_OPEN_INVOICES), where=f.where())
    rows = _rows(conn, query, [*f.params, PAGE_SIZE + 1, (page - 1) * PAGE_SIZE, list(OPEN_STATUSES)])
    return _finish(rows, page), search


def customer(conn: psycopg.Connection, customer_id: str) -> dict[str, Any] | None:
    rows = _rows(conn, sql.SQL("""
        select c.*, o.open_invoices, o.open_balance, o.currency_code as open_currency_code
        from analytics.customers_cache c
        left join lateral ({open}) o on true
        where c.id = %s""").format(open=sql.SQL(_OPEN_INVOICES)), (list(OPEN_STATUSES), customer_id))
    return rows[0] if rows else None


def customer_invoices(conn: psycopg.Connection, customer_id: str, open_only: bool, page: int) -> Page:
    """A customer's invoices (index on customer_id), by due date."""
    page = clamp_page(page)
    f = Filters()
    f.add("i.customer_id = %s", customer_id)
    if open_only:
        f.add("not i.is_deleted and i.balance > 0 and i.status = any(%s)", list(OPEN_STATUSES))
    query = sql.SQL("""
        select i.id, i.user_id, i.zoho_invoice_id, i.invoice_number, i.status, i.invoice_date, i.due_date,
               i.currency_code, i.total, i.balance, i.is_deleted
        from analytics.invoices_cache i
        {where}
        order by i.due_date, i.id limit %s offset %s""").format(where=f.where())
    return _finish(_rows(conn, query, [*f.params, PAGE_SIZE + 1, (page - 1) * PAGE_SIZE]), page)


# --------------------------------------------------------------------------- invoices
_INVOICE_COLUMNS = """
    i.id, i.user_id, i.zoho_invoice_id, i.invoice_number, i.status, i.invoice_date, i.due_date,
    i.currency_code, i.total, i.balance, i.is_deleted, i.customer_id, i.zoho_customer_id,
    c.customer_name, c.primary_phone, c.primary_phone_source"""


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
    direction = "desc" if desc else "asc"
    if text:  # a search: few matches, filtered and sorted directly
        f = Filters(list(common.parts), list(common.params))
        if tenant:
            f.add("i.user_id = %s", tenant)
        f.add("i.status = any(%s)", list(statuses))
        f.add("(i.invoice_number ilike %s or i.zoho_invoice_id = %s)", "%" + escape_like(text) + "%", text)
        query = sql.SQL("""
            select {cols} from (select i.id from analytics.invoices_cache i {where}
                                order by i.due_date {dir}, i.id {dir} limit %s offset %s) p
            join analytics.invoices_cache i on i.id = p.id
            left join analytics.customers_cache c on c.id = i.customer_id
            order by i.due_date {dir}, i.id {dir}""").format(
            cols=sql.SQL(_INVOICE_COLUMNS), where=f.where(), dir=sql.SQL(direction))
        return _finish(_rows(conn, query, [*f.params, PAGE_SIZE + 1, (page - 1) * PAGE_SIZE]), page)
    ids, params = _merged_ids("analytics.invoices_cache", "i", "due_date", desc,
                              _partitions(conn, "analytics.invoices_cache", tenant, statuses), common,
                              page, PAGE_SIZE)
    query = sql.SQL("""
        select {cols} from ({ids}) p
        join analytics.invoices_cache i on i.id = p.id
        left join analytics.customers_cache c on c.id = i.customer_id
        order by p.due_date {dir}, p.id {dir}""").format(cols=sql.SQL(_INVOICE_COLUMNS), ids=ids,
                                                         dir=sql.SQL(direction))
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
    query = sql.SQL("""
        select r.id, r.user_id, r.scheduled_for, r.offset_days, r.status, r.reason, r.phone, r.updated_at,
               r.invoice_id, i.invoice_number, i.zoho_invoice_id, i.status as invoice_status, i.due_date,
               i.balance, i.currency_code, r.customer_id, c.customer_name, c.primary_phone,
               c.primary_phone_source
        from ({ids}) p
        join analytics.payment_reminders r on r.id = p.id
        left join analytics.invoices_cache i on i.id = r.invoice_id
        left join analytics.customers_cache c on c.id = r.customer_id
        order by p.scheduled_for {dir}, p.id {dir}""").format(ids=ids, dir=sql.SQL("desc" if desc else "asc"))
    return _finish(_rows(conn, query, params), page)
