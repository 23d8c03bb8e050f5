"""GET endpoints: invoices (with their customer), customers, reminders.

Every statement is a ``.sql`` file in ``sql/`` with psycopg parameters only; each one is restricted to
the caller's tenants (``caller.tenants()``: a list, or None for an admin). An explicit ``tenant``
filter the caller may not read, or that the warehouse does not know, is 404 ``tenant: unknown tenant``;
a record of another tenant is 404 as if it did not exist. A malformed id (path) or cursor is 422.

Listings are keyset-paginated on the record's ``id`` (a uuid that never changes): ``order by id``,
``id > cursor``; ``next_cursor`` is the last id of a full page (the cursor is the id itself). Each page
is its own statement, so paging while rows are inserted, updated or deleted returns every row that
existed throughout (and still matches the filters) exactly once.
"""
from __future__ import annotations

import re
import uuid
from datetime import date, datetime, timezone
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query

from zoho.api import access, db
from zoho.api.access import Caller
from zoho.reminders import history
from zoho.api.models import (Customer, CustomerDetail, CustomerInvoice, CustomerPage, Invoice, InvoicePage,
                             Reminder, ReminderDetail, ReminderEvent, ReminderPage)
from zoho.ui.queries import INVOICE_STATUSES, REMINDER_STATUSES
from zoho.ui.queries import OPEN_STATUSES as OPEN
from zoho.warehouse.sqlfiles import sql_files

load_sql = sql_files(__file__)

router = APIRouter()

DEFAULT_LIMIT = 100
MAX_LIMIT = 500
CUSTOMER_REMINDERS = 100
_PHONE_LIKE = re.compile(r"^\+?[\d\s().\-/]+$")
OPEN_STATUSES = list(OPEN)  # the page's definition of open (zoho.ui.queries)

InvoiceStatus = Literal[("open", *INVOICE_STATUSES)]
ReminderStatus = Literal[REMINDER_STATUSES]

TENANT = Query(None, max_length=200, description="Only this tenant (`user_id`); 404 when not granted or unknown.")
LIMIT = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description=f"Page size (1..{MAX_LIMIT}).")
CURSOR = Query(None, description="`next_cursor` of the previous page (the last id it listed); omit for the first.")
CHANGED_SINCE = Query(None, description="Only rows whose `updated_at` is at or after this timestamp "
                                        "(ISO 8601; without an offset: UTC).")
INCLUDE_DELETED = Query(False, description="Also list rows deleted in Zoho (`is_deleted`: true).")


def _today() -> date:
    return datetime.now(timezone.utc).date()


def _utc(ts: datetime | None) -> datetime | None:
    return ts.replace(tzinfo=timezone.utc) if ts is not None and ts.tzinfo is None else ts


def _tenant(conn, caller: Caller, tenant: str | None) -> str | None:
    """The tenant filter: None, or a tenant the caller may read and the warehouse knows (else 404)."""
    if tenant is None:
        return None
    caller.require_tenant(tenant)
    if not conn.execute(load_sql("tenant_exists"), {"tenant": tenant}).fetchone()["known"]:
        raise HTTPException(404, f"tenant: unknown tenant {tenant!r}")
    return tenant


def _page(rows: list[dict[str, Any]], limit: int, item) -> dict:
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": [item(r) for r in rows], "next_cursor": str(rows[-1]["id"]) if more and rows else None}


def _nested(row: dict[str, Any], prefix: str = "c_") -> dict[str, Any] | None:
    """The joined customer's columns (``c_*``) as an object; None when there is no customer row."""
    if row.get(prefix + "id") is None:
        return None
    return {k[len(prefix):]: v for k, v in row.items() if k.startswith(prefix)}


def _flat(row: dict[str, Any], prefix: str = "c_") -> dict[str, Any]:
    return {k: v for k, v in row.items() if not k.startswith(prefix)}


def _invoice(row: dict[str, Any]) -> Invoice:
    return Invoice(**_flat(row), customer=_nested(row))


def _reminder(row: dict[str, Any]) -> Reminder:
    return Reminder(**_flat(row), customer=_nested(row))


def _search(q: str | None) -> tuple[str | None, str | None]:
    """``q`` as an escaped ILIKE pattern, and (phone-like text) its digits as a LIKE pattern."""
    text = (q or "").strip()
    if not text:
        return None, None
    like = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    digits = re.sub(r"\D", "", text)
    return like, (f"%{digits}%" if _PHONE_LIKE.match(text) and len(digits) >= 3 else None)


def _not_found(kind: str, ident: uuid.UUID) -> HTTPException:
    return HTTPException(404, f"id: no {kind} {ident}")


# --------------------------------------------------------------------------- invoices
def _invoice_params(caller: Caller, **given) -> dict:
    return {"tenants": caller.tenants(), "tenant": None, "cursor": None, "id": None, "include_deleted": True,
            "status": None, "open": False, "open_statuses": OPEN_STATUSES, "due_from": None, "due_to": None,
            "customer_id": None, "overdue": None, "today": _today(), "changed_since": None, **given}


@router.get("/invoices", response_model=InvoicePage, tags=["invoices"],
            summary="Invoices with their customer's current name, company, email and phone")
def list_invoices(
    tenant: str | None = TENANT,
    status: InvoiceStatus | None = Query(None, description="A Zoho invoice status, or `open`: an open status "
                                         f"({', '.join(OPEN_STATUSES)}), balance > 0, not deleted."),
    due_from: date | None = Query(None, description="Due on or after this date."),
    due_to: date | None = Query(None, description="Due on or before this date."),
    customer_id: uuid.UUID | None = Query(None, description="Only this customer's invoices."),
    overdue: bool | None = Query(None, description="true: open and due before today (UTC); false: the others."),
    changed_since: datetime | None = CHANGED_SINCE,
    include_deleted: bool = INCLUDE_DELETED,
    limit: int = LIMIT,
    cursor: uuid.UUID | None = CURSOR,
    caller: Caller = Depends(access.caller),
) -> dict:
    with db.session() as conn:
        params = _invoice_params(
            caller, tenant=_tenant(conn, caller, tenant), cursor=cursor, include_deleted=include_deleted,
            status=None if status in (None, "open") else status, open=status == "open", due_from=due_from,
            due_to=due_to, customer_id=customer_id, overdue=overdue, changed_since=_utc(changed_since),
            limit=limit + 1)
        rows = conn.execute(load_sql("invoices"), params).fetchall()
    return _page(rows, limit, _invoice)


@router.get("/invoices/{id}", response_model=Invoice, tags=["invoices"], summary="One invoice with its customer")
def get_invoice(id: uuid.UUID = Path(description="The invoice's id."),
                caller: Caller = Depends(access.caller)) -> Invoice:
    with db.session() as conn:
        row = conn.execute(load_sql("invoices"), _invoice_params(caller, id=id, limit=1)).fetchone()
    if row is None:
        raise _not_found("invoice", id)
    return _invoice(row)


# --------------------------------------------------------------------------- customers
def _customer_params(caller: Caller, **given) -> dict:
    return {"tenants": caller.tenants(), "tenant": None, "cursor": None, "id": None, "include_deleted": True,
            "like": None, "digits": None, "changed_since": None, **given}


@router.get("/customers", response_model=CustomerPage, tags=["customers"], summary="Customers")
def list_customers(
    tenant: str | None = TENANT,
    q: str | None = Query(None, max_length=100, description="Search: a part of the name, company, email or a "
                                                            "phone (a phone's digits match the primary phone)."),
    changed_since: datetime | None = CHANGED_SINCE,
    include_deleted: bool = INCLUDE_DELETED,
    limit: int = LIMIT,
    cursor: uuid.UUID | None = CURSOR,
    caller: Caller = Depends(access.caller),
) -> dict:
    like, digits = _search(q)
    with db.session() as conn:
        params = _customer_params(caller, tenant=_tenant(conn, caller, tenant), cursor=cursor,
                                  include_deleted=include_deleted, like=like, digits=digits,
                                  changed_since=_utc(changed_since), limit=limit + 1)
        rows = conn.execute(load_sql("customers"), params).fetchall()
    return _page(rows, limit, lambda r: Customer(**r))


@router.get("/customers/{id}", response_model=CustomerDetail, tags=["customers"],
            summary="One customer with its open invoices and its reminders")
def get_customer(id: uuid.UUID = Path(description="The customer's id."),
                 caller: Caller = Depends(access.caller)) -> CustomerDetail:
    with db.session() as conn:
        row = conn.execute(load_sql("customers"), _customer_params(caller, id=id, limit=1)).fetchone()
        if row is None:
            raise _not_found("customer", id)
        invoices = conn.execute(load_sql("customer_open_invoices"),
                                {"id": id, "today": _today(), "open_statuses": OPEN_STATUSES}).fetchall()
        reminders = conn.execute(load_sql("customer_reminders"), {"id": id, "limit": CUSTOMER_REMINDERS + 1}).fetchall()
    return CustomerDetail(**row, open_invoices=[CustomerInvoice(**i) for i in invoices],
                          reminders=[_reminder(r) for r in reminders[:CUSTOMER_REMINDERS]],
                          more_reminders=len(reminders) > CUSTOMER_REMINDERS)


# --------------------------------------------------------------------------- reminders
def _reminder_params(caller: Caller, **given) -> dict:
    return {"tenants": caller.tenants(), "tenant": None, "cursor": None, "id": None, "status": None,
            "scheduled_from": None, "scheduled_to": None, "customer_id": None, "invoice_id": None, **given}


@router.get("/reminders", response_model=ReminderPage, tags=["reminders"],
            summary="Payment reminders with their invoice and customer")
def list_reminders(
    tenant: str | None = TENANT,
    status: ReminderStatus | None = Query(None, description="pending, skipped, cancelled, sent or failed."),
    scheduled_from: date | None = Query(None, description="Scheduled on or after this date."),
    scheduled_to: date | None = Query(None, description="Scheduled on or before this date."),
    customer_id: uuid.UUID | None = Query(None, description="Only this customer's reminders."),
    invoice_id: uuid.UUID | None = Query(None, description="Only this invoice's reminders."),
    limit: int = LIMIT,
    cursor: uuid.UUID | None = CURSOR,
    caller: Caller = Depends(access.caller),
) -> dict:
    with db.session() as conn:
        params = _reminder_params(caller, tenant=_tenant(conn, caller, tenant), cursor=cursor, status=status,
                                  scheduled_from=scheduled_from, scheduled_to=scheduled_to,
                                  customer_id=customer_id, invoice_id=invoice_id, limit=limit + 1)
        rows = conn.execute(load_sql("reminders"), params).fetchall()
    return _page(rows, limit, _reminder)


@router.get("/reminders/{id}", response_model=ReminderDetail, tags=["reminders"],
            summary="One reminder with its event history")
def get_reminder(id: uuid.UUID = Path(description="The reminder's id."),
                 caller: Caller = Depends(access.caller)) -> ReminderDetail:
    with db.session() as conn:
        row = conn.execute(load_sql("reminders"), _reminder_params(caller, id=id, limit=1)).fetchone()
        if row is None:
            raise _not_found("reminder", id)
        events = history.reminder_events(conn, id)
    return ReminderDetail(**_flat(row), customer=_nested(row), events=[ReminderEvent(**e) for e in events])
