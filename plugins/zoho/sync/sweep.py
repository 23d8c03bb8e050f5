"""Sweeps: the nightly pass over a tenant's listings, resumable across runs and Zoho days.

A sweep has a generation (``zoho_sync.sweeps``, one row per tenant and entity) and three phases:

1. ``listing``: the pages of the listing in ``created_time`` order from the checkpoint on. Each
   batch of pages lands with its checkpoint (``next_page``) in one transaction, so a budget stop or
   a killed worker pays again at most the pages of one unfinished batch, and nothing landed is lost
   or duplicated (the upserts are idempotent). A resumed listing starts one page before the
   checkpoint: a deletion in Zoho since the last run shifts later records back by one.
2. ``confirming``: the tenant's live rows that this generation did not see (listing, incremental run
   during the sweep, or earlier confirmation) are asked for by id. "Does not exist" flags the row
   deleted; an answer keeps it (a record that shifted past the checkpoint, or a customer no listing
   returns but Zoho answers by id). So a live record is never flagged deleted, and nothing is
   flagged after a partial sweep.
3. ``complete``: (for contacts, once every pending contact person is read too) the sweep's cost,
   persons included, is kept for the planner. A new generation starts (for every
   entity of the tenant at once) only when all the tenant's sweeps are complete.

Besides the sweep, every nightly run checks the open invoices due in the reminder window (a
``Status.Unpaid`` listing filtered by due date, then a by-id check of what the warehouse holds as
open there and the listing did not return), so a deleted open invoice loses its pending reminder the
same night even while a complete sweep takes days.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import psycopg
from psycopg.rows import dict_row

from zoho.books import endpoints as ep
from zoho.books import errors
from zoho.warehouse.sqlfiles import sql_files

load_sql = sql_files(__file__)
log = logging.getLogger(__name__)

ENTITIES = ("contacts", "invoices")
LISTINGS = {"contacts": ep.CONTACTS, "invoices": ep.INVOICES}
BY_ID = {"contacts": "get_contact", "invoices": "get_invoice"}  # the client's one-record reads
BATCH_PAGES = 10  # pages landed (and checkpointed) per transaction: 2,000 records
RESUME_OVERLAP_PAGES = 1
CONFIRM_CHUNK = 25  # by-id confirmations per transaction


@dataclass
class SweepState:
    entity: str
    generation: int = 0
    phase: str = "complete"
    next_page: int = 1
    pages_done: int = 0
    pages_total: int | None = None
    records_seen: int = 0
    confirmed_live: int = 0
    flagged_deleted: int = 0
    calls_spent: int = 0
    runs: int = 0
    max_modified: datetime | None = None
    started_at: datetime | None = None
    zoho_started_at: datetime | None = None
    last_completed_at: datetime | None = None

    @property
    def resume_page(self) -> int:
        return max(1, self.next_page - RESUME_OVERLAP_PAGES) if self.next_page > 1 else 1

    def progress(self) -> str:
        total = f" of {self.pages_total}" if self.pages_total else ""
        return (f"sweep {self.generation} {self.phase}: page {self.pages_done}{total}, {self.records_seen} records, "
                f"{self.calls_spent} calls over {self.runs} run(s)")


class SweepLedger:
    """``zoho_sync.sweeps`` for one tenant, on the sync's connection (the caller commits)."""

    def __init__(self, conn: psycopg.Connection, user_id: str):
        self.conn, self.user_id = conn, user_id
        self.states: dict[str, SweepState] = {}

    def read(self) -> dict[str, SweepState]:
        """The sweeps as they stand (no lock): an incremental run marks what it sees with the
        generation in progress, and starts from the sweep's start while it has no watermark."""
        rows = self.conn.execute(load_sql("sweep_generations"), {"user_id": self.user_id}).fetchall()
        self.states = {e: SweepState(e) for e in ENTITIES}
        for entity, generation, phase, zoho_started_at, last_completed_at in rows:
            self.states[entity] = SweepState(entity, generation, phase, zoho_started_at=zoho_started_at,
                                             last_completed_at=last_completed_at)
        return self.states

    def open(self, run_id: str | None) -> dict[str, SweepState]:
        """Continue the sweep in progress, or start the next generation when every entity's is complete."""
        cur = self.conn.cursor(row_factory=dict_row)
        rows = {r["entity"]: r for r in cur.execute(load_sql("sweep_load"), {"user_id": self.user_id})}
        if all(rows.get(e, {}).get("phase", "complete") == "complete" for e in ENTITIES):
            cur.execute(load_sql("sweep_begin"), {"user_id": self.user_id, "entities": list(ENTITIES)})
        cur.execute(load_sql("sweep_run"), {"user_id": self.user_id, "run_id": run_id})
        rows = {r["entity"]: r for r in cur.execute(load_sql("sweep_load"), {"user_id": self.user_id})}
        self.conn.commit()
        self.states = {e: SweepState(**rows[e]) for e in ENTITIES}
        return self.states

    def checkpoint(self, state: SweepState, *, next_page: int, pages_total: int | None, records: int, calls: int,
                   max_modified: datetime | None, zoho_now: datetime | None, listing_done: bool) -> None:
        self.conn.execute(load_sql("sweep_checkpoint"), {
            "user_id": self.user_id, "entity": state.entity, "next_page": next_page, "pages_total": pages_total,
            "records": records, "calls": calls, "max_modified": max_modified, "listing_done": listing_done})
        if zoho_now is not None and state.zoho_started_at is None:
            self.conn.execute(load_sql("sweep_zoho_start"), {"user_id": self.user_id, "zoho_now": zoho_now})
            for other in self.states.values():
                if other.phase != "complete":
                    other.zoho_started_at = other.zoho_started_at or zoho_now
        state.next_page, state.pages_done = next_page, max(state.pages_done, next_page - 1)
        state.pages_total = pages_total or state.pages_total
        state.records_seen += records
        state.calls_spent += calls
        if max_modified is not None and (state.max_modified is None or max_modified > state.max_modified):
            state.max_modified = max_modified
        if listing_done:
            state.phase = "confirming"

    def confirmed(self, state: SweepState, *, live: int, deleted: int, calls: int) -> None:
        self.conn.execute(load_sql("sweep_confirmed"), {"user_id": self.user_id, "entity": state.entity,
                                                        "live": live, "deleted": deleted, "calls": calls})
        state.confirmed_live += live
        state.flagged_deleted += deleted
        state.calls_spent += calls

    def complete(self, state: SweepState) -> datetime | None:
        """Mark the sweep complete; returns the watermark it guarantees: the newest modification it
        read when it ran in one run, else no later than Zoho's clock when it started (a record
        modified on a page already read is the incremental runs' to catch)."""
        self.conn.execute(load_sql("sweep_complete"), {"user_id": self.user_id, "entity": state.entity})
        state.phase = "complete"
        if state.runs <= 1 or state.max_modified is None:
            return state.max_modified
        if state.zoho_started_at is None:
            return None
        return min(state.max_modified, state.zoho_started_at)

    def fixed_calls(self, calls: int) -> None:
        self.conn.execute(load_sql("sweep_fixed_calls"), {"user_id": self.user_id, "calls": calls})


def reminder_due_range(steps, window_days_before: int, window_days_after: int) -> tuple[int, int]:
    """The due dates (days from today) of invoices that can have a reminder scheduled in the window
    of a run today: ``scheduled_for = due_date + step`` within ``[today - before, today + after]``."""
    steps = list(steps) or [0]
    return -(max(steps) + window_days_before), -min(steps) + window_days_after


def zoho_today(server_time: datetime | None) -> date:
    """Zoho's date (UTC) from its clock when known, else the product's."""
    return (server_time or datetime.now().astimezone()).date()


def due_filter(due_range: tuple[int, int], today: date) -> dict[str, str]:
    """The listing's due-date filter, one day wider on each side than ``due_range`` (Zoho's date may
    be a day off the product's, across time zones): what the warehouse compares with is inside it."""
    return {"due_date_start": (today + timedelta(days=due_range[0] - 1)).isoformat(),
            "due_date_end": (today + timedelta(days=due_range[1] + 1)).isoformat()}


def confirm_by_id(client, entity: str, ids: list[str]) -> tuple[dict[str, dict], list[str], errors.BudgetStop | None]:
    """Ask Zoho for each record by id: ``(live, gone, stop)``, ``live`` mapping each id Zoho answered
    to its record. A budget stop ends the round early with what was answered so far (the caller
    lands it, then stops)."""
    live: dict[str, dict] = {}
    gone: list[str] = []
    read = getattr(client, BY_ID[entity])
    for zoho_id in ids:
        try:
            live[zoho_id] = read(zoho_id)
        except errors.NotFoundError:
            gone.append(zoho_id)
        except errors.BudgetStop as stop:
            return live, gone, stop
    return live, gone, None
