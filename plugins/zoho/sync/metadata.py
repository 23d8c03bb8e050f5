"""What a run records of its work per tenant and entity: ``EntityResult``/``TenantResult`` (the task's
return value and log) and ``zoho_sync.sync_metadata`` (``Metadata``), and the batching of listings."""
from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime

import psycopg

from zoho.books import errors
from zoho.warehouse.sqlfiles import sql_files

load_sql = sql_files(__file__)
log = logging.getLogger(__name__)

BATCH_SIZE = 2000  # records landed (and committed) per transaction


@dataclass
class EntityResult:
    entity: str
    mode: str
    fetched: int = 0
    upserted: int = 0
    deleted: int = 0
    rejected: int = 0
    api_calls: int = 0
    person_calls: int = 0
    missing_customers: int = 0
    watermark: str | None = None
    stopped: str | None = None  # why the budget stopped the listing (``BudgetStop.reason``), else None


@dataclass
class TenantResult:
    user_id: str
    mode: str
    entities: list[EntityResult] = field(default_factory=list)
    seconds: float = 0.0
    stopped: str | None = None  # the budget stopped the sync (the reason); not a failure
    budget: dict = field(default_factory=dict)  # the organisation's ledger after the run

    def as_dict(self) -> dict:
        return asdict(self)


def batched(items: Iterable, size: int) -> Iterator[list]:
    """Lists of ``size`` items. When the listing ends early (the budget stopped it, or Zoho failed
    after the client's retries), the records already paid for are yielded first (to be landed, with
    a sweep's checkpoint), then the error goes on."""
    batch: list = []
    try:
        for item in items:
            batch.append(item)
            if len(batch) == size:
                yield batch
                batch = []
    except errors.ZohoError:  # BudgetStop included
        if batch:
            yield batch
        raise
    if batch:
        yield batch


class Metadata:
    """``zoho_sync.sync_metadata`` for one (tenant, entity)."""

    def __init__(self, conn: psycopg.Connection, user_id: str, entity: str):
        self.conn, self.user_id, self.entity = conn, user_id, entity

    def watermark(self) -> datetime | None:
        row = self.conn.execute("select watermark from zoho_sync.sync_metadata where user_id = %s and entity = %s",
                                (self.user_id, self.entity)).fetchone()
        return row[0] if row else None

    def start(self, mode: str, run_id: str | None) -> None:
        self.conn.execute(load_sql("metadata_start"), {"user_id": self.user_id, "entity": self.entity,
                                                       "mode": mode, "run_id": run_id})
        self.conn.commit()

    def finish(self, r: EntityResult, watermark: datetime | None) -> None:
        """The entity's work of this run completed (the watermark only moves forward)."""
        self.conn.execute(load_sql("metadata_finish"), {
            "user_id": self.user_id, "entity": self.entity, "watermark": watermark,
            "fetched": r.fetched, "upserted": r.upserted, "deleted": r.deleted, "rejected": r.rejected,
            "api_calls": r.api_calls, "person_calls": r.person_calls,
            "missing_customers": r.missing_customers})
        self.conn.commit()

    def sweep_complete(self, watermark: datetime | None) -> None:
        """A sweep of the entity completed: ``last_full_sync_at`` (the caller commits, with the sweep row)."""
        self.conn.execute(load_sql("metadata_sweep_complete"), {
            "user_id": self.user_id, "entity": self.entity, "watermark": watermark})

    def stop(self, r: EntityResult, stop: errors.BudgetStop) -> None:
        """The budget stopped the listing: what landed is committed, the watermark stays (the listing
        did not complete), and the row says why and how far it got. Not a failure."""
        self.conn.execute(load_sql("metadata_stop"), {
            "user_id": self.user_id, "entity": self.entity, "reason": stop.reason, "detail": str(stop)[:2000],
            "fetched": r.fetched, "upserted": r.upserted, "rejected": r.rejected,
            "api_calls": r.api_calls, "person_calls": r.person_calls})
        self.conn.commit()

    def fail(self, r: EntityResult, error: BaseException) -> None:
        try:
            self.conn.rollback()
            self.conn.execute(load_sql("metadata_fail"), {
                "user_id": self.user_id, "entity": self.entity, "error": f"{type(error).__name__}: {error}"[:2000],
                "fetched": r.fetched, "upserted": r.upserted, "rejected": r.rejected,
                "api_calls": r.api_calls, "person_calls": r.person_calls})
            self.conn.commit()
        except psycopg.Error:  # the connection itself may be what failed
            log.exception("could not record the failure of %s/%s in sync_metadata", self.user_id, self.entity)
