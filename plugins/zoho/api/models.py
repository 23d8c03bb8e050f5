"""Response models of the GET endpoints (``read.py``); they make the OpenAPI schema.

Conventions: dates and timestamps ISO 8601 (timestamps with their offset, UTC); money as **decimal
strings** (``"1234.50"``, the warehouse's numeric as written, never a float); ``tenant`` is the
warehouse's ``user_id``. Listings are keyset-paginated: ``{"items": [...], "next_cursor": ...}``;
pass ``next_cursor`` back as ``cursor`` until it is null.
"""
from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

MONEY = "A decimal string (e.g. \"1234.50\"): the warehouse's numeric value as written, never a float."

T = TypeVar("T")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Page(_Model, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page. Pages are ordered by `id` "
                    "(keyset): rows inserted, changed or deleted while paging never make another row "
                    "appear twice or be skipped.")


class InvoiceCustomer(_Model):
    """The invoice's customer as ``customers_cache`` has it now (read when the request is answered)."""
    id: uuid.UUID
    zoho_customer_id: str
    name: str | None = Field(description="Zoho's contact name (`customers_cache.customer_name`).")
    company: str | None = Field(description="Zoho's company name.")
    email: str | None
    primary_phone: str | None = Field(description="The resolved primary phone, E.164; null when none.")


class Invoice(_Model):
    id: uuid.UUID = Field(description="The invoice's id (`invoices_cache.id`; never changes).")
    tenant: str
    zoho_invoice_id: str
    invoice_number: str | None
    status: str = Field(description="Zoho's invoice status (draft, sent, viewed, overdue, partially_paid, ...).")
    open: bool = Field(description="Owed: an open status (sent, viewed, overdue, partially_paid, unpaid), "
                                   "balance > 0, not deleted.")
    overdue: bool = Field(description="Open and due before today (UTC).")
    invoice_date: date | None
    due_date: date | None
    currency_code: str | None
    total: str | None = Field(description="The invoice total. " + MONEY)
    balance: str | None = Field(description="The amount still due. " + MONEY)
    is_deleted: bool
    updated_at: datetime = Field(description="When the warehouse last saw the invoice change (`changed_since`).")
    customer_id: uuid.UUID | None = Field(description="null when the customer is not in customers_cache.")
    customer: InvoiceCustomer | None


class CustomerInvoice(_Model):
    """One of a customer's open invoices."""
    id: uuid.UUID
    zoho_invoice_id: str
    invoice_number: str | None
    status: str
    invoice_date: date | None
    due_date: date | None
    overdue: bool
    currency_code: str | None
    total: str | None = Field(description=MONEY)
    balance: str | None = Field(description="The amount still due. " + MONEY)
    updated_at: datetime


class Customer(_Model):
    id: uuid.UUID = Field(description="The customer's id (`customers_cache.id`; never changes).")
    tenant: str
    zoho_customer_id: str
    name: str | None = Field(description="Zoho's contact name.")
    company: str | None
    email: str | None
    phone: str | None = Field(description="The contact's phone as Zoho has it (not normalised).")
    mobile: str | None = Field(description="The contact's mobile as Zoho has it (not normalised).")
    primary_phone: str | None = Field(description="The resolved primary phone, E.164.")
    primary_phone_source: str | None
    phone_pending: bool
    status: str = Field(description="active or inactive.")
    is_deleted: bool
    updated_at: datetime


class ReminderCustomer(_Model):
    id: uuid.UUID
    name: str | None
    primary_phone: str | None = Field(description="The customer's primary phone now (the reminder's `phone` is "
                                                  "the one it was made with).")


class Reminder(_Model):
    id: uuid.UUID
    tenant: str
    status: str = Field(description="pending, skipped, cancelled, sent or failed.")
    reason: str | None = Field(description="Why skipped, cancelled or failed.")
    scheduled_for: date
    offset_days: int = Field(description="Days after the due date (negative: before).")
    phone: str | None = Field(description="The phone the reminder is to be (or was) sent to.")
    invoice_id: uuid.UUID
    invoice_number: str | None
    invoice_status: str | None
    due_date: date | None
    amount_due: str | None = Field(description="The invoice's balance now. " + MONEY)
    currency_code: str | None
    customer: ReminderCustomer | None
    attempts: int = Field(description="Failed send attempts.")
    next_attempt_at: datetime | None
    claimed_by: str | None
    lease_until: datetime | None
    sent_at: datetime | None
    provider: str | None
    provider_message_id: str | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime


class ReminderEvent(_Model):
    id: int
    event: str = Field(description="created, withheld, ready, updated, claimed, sent, failed or cancelled.")
    status: str = Field(description="The reminder's status after the event.")
    reason: str | None
    actor: str
    detail: dict[str, Any]
    occurred_at: datetime


class ReminderDetail(Reminder):
    events: list[ReminderEvent] = Field(description="The reminder's history, oldest first.")


class CustomerDetail(Customer):
    open_invoices: list[CustomerInvoice] = Field(description="The customer's open invoices, oldest due first.")
    reminders: list[Reminder] = Field(
        description="The customer's reminders, latest scheduled first (at most 100; "
                    "`GET /reminders?customer_id=` pages through all).")
    more_reminders: bool = Field(description="true when the customer has more reminders than listed.")


class InvoicePage(Page[Invoice]):
    pass


class CustomerPage(Page[Customer]):
    pass


class ReminderPage(Page[Reminder]):
    pass
