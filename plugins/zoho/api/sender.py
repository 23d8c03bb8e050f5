"""The reminder sender's endpoints: claim a batch under a lease, mark each reminder sent or failed.

A thin layer over the warehouse functions a sender talking to Postgres directly calls
(``analytics.claim_reminders``, ``analytics.mark_reminder_sent``, ``analytics.mark_reminder_failed``;
migration 0007), restricted to the tenants the caller may send for (``send`` grants; admins: all):

- ``POST /reminders/claim``: up to ``batch_size`` due ``pending`` reminders, oldest first, held by one
  new lease for ``lease_seconds``; they stay ``pending``. Concurrent claims never return the same
  reminder; an expired lease returns it to the pool.
- ``POST /reminders/{id}/sent`` / ``POST /reminders/{id}/failed``: idempotent (the same call again
  answers the same, ``outcome: unchanged``, and writes no event); 409 when the reminder was cancelled
  after the claim, when the lease expired and the reminder was claimed again, or when it already has
  another outcome; 404 when the reminder is not one of the caller's tenants.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from zoho.api import access, db
from zoho.api.access import Caller
from zoho.warehouse.sqlfiles import sql_files

load_sql = sql_files(__file__)

router = APIRouter(prefix="/reminders", tags=["reminder sender"])


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ClaimRequest(_Body):
    sender: str | None = Field(None, min_length=1, max_length=100, pattern=r"^[\w.:@/-]+$",
                               description="the claiming process, recorded as claimed_by "
                                           "'<user>/<sender>' (default: the user name)")
    batch_size: int = Field(50, ge=1, le=500, description="at most this many reminders")
    lease_seconds: int = Field(300, ge=1, le=3600, description="how long the claim holds them")
    tenant: str | None = Field(None, min_length=1, max_length=200, description="only this tenant's reminders")


class ClaimedReminder(BaseModel):
    reminder_id: UUID
    user_id: str
    lease_id: UUID
    lease_until: datetime
    invoice_id: UUID
    invoice_number: str | None
    amount_due: Decimal | None = Field(description="the invoice's balance")
    currency_code: str | None
    due_date: date | None
    customer_id: UUID | None
    customer_name: str | None
    phone: str | None = Field(description="E.164: where to send it")
    scheduled_for: date
    offset_days: int
    attempts: int = Field(description="failed send attempts so far")


class ClaimResponse(BaseModel):
    lease_id: UUID | None = Field(description="the lease of this claim (null when nothing was due)")
    lease_until: datetime | None
    reminders: list[ClaimedReminder]


class SentRequest(_Body):
    lease_id: UUID = Field(description="the lease of the claim that returned the reminder")
    provider: str = Field(min_length=1, max_length=100)
    provider_message_id: str = Field(min_length=1, max_length=200)


class FailedRequest(_Body):
    lease_id: UUID
    error: str = Field(min_length=1, max_length=2000)
    retryable: bool = Field(description="true: back in the queue after a back-off (at most 5 attempts); "
                                        "false: failed for good (reason send_failed)")


class ReminderState(BaseModel):
    reminder_id: UUID
    user_id: str | None
    status: str | None
    reason: str | None
    lease_id: UUID | None
    claimed_by: str | None
    lease_until: datetime | None
    attempts: int | None
    next_attempt_at: datetime | None
    sent_at: datetime | None
    provider: str | None
    provider_message_id: str | None
    last_error: str | None


class MarkResponse(BaseModel):
    outcome: Literal["ok", "unchanged"] = Field(description="ok: recorded now; unchanged: the same mark again")
    message: str
    reminder: ReminderState


class Refusal(BaseModel):
    detail: str
    reminder: ReminderState | None = None


def _send_tenants(caller: Caller, tenant: str | None = None) -> list[str] | None:
    if tenant is not None:
        return [caller.require_tenant(tenant, write=True)]
    tenants = caller.tenants(write=True)
    if tenants == []:
        raise HTTPException(403, f"user {caller.username!r} may not send for any tenant: grant one with "
                                 f"python -m zoho.api.grants grant {caller.username} TENANT --send")
    return tenants


@router.post("/claim", response_model=ClaimResponse, responses={403: {"model": Refusal}, 404: {"model": Refusal}})
def claim(body: ClaimRequest, caller: Caller = Depends(access.caller)) -> ClaimResponse:
    tenants = _send_tenants(caller, body.tenant)
    sender = f"{caller.username}/{body.sender}" if body.sender else caller.username
    rows = db.call(load_sql("claim"), {"sender": sender, "batch_size": body.batch_size,
                                       "lease_seconds": body.lease_seconds, "tenants": tenants})
    return ClaimResponse(lease_id=rows[0]["lease_id"] if rows else None,
                         lease_until=rows[0]["lease_until"] if rows else None,
                         reminders=[ClaimedReminder(**row) for row in rows])


def _answer(row: dict) -> MarkResponse | JSONResponse:
    state = {k: row[k] for k in ReminderState.model_fields}
    if row["outcome"] == "not_found":
        return JSONResponse({"detail": f"reminder_id: {row['message']}"}, status_code=404)
    if row["outcome"] == "conflict":
        return JSONResponse(Refusal(detail=row["message"], reminder=ReminderState(**state)).model_dump(mode="json"),
                            status_code=409)
    return MarkResponse(outcome=row["outcome"], message=row["message"], reminder=ReminderState(**state))


MARK_RESPONSES = {404: {"model": Refusal}, 409: {"model": Refusal, "description": "refused: see detail"}}


@router.post("/{reminder_id}/sent", response_model=MarkResponse, responses=MARK_RESPONSES)
def sent(reminder_id: UUID, body: SentRequest, caller: Caller = Depends(access.caller)):
    (row,) = db.call(load_sql("mark_sent"), {
        "reminder_id": reminder_id, "lease_id": body.lease_id, "provider": body.provider,
        "provider_message_id": body.provider_message_id, "tenants": _send_tenants(caller)})
    return _answer(row)


@router.post("/{reminder_id}/failed", response_model=MarkResponse, responses=MARK_RESPONSES)
def failed(reminder_id: UUID, body: FailedRequest, caller: Caller = Depends(access.caller)):
    (row,) = db.call(load_sql("mark_failed"), {
        "reminder_id": reminder_id, "lease_id": body.lease_id, "error": body.error,
        "retryable": body.retryable, "tenants": _send_tenants(caller)})
    return _answer(row)
