"""The nightly pass of one tenant: the day's budget spent where the money is, the sweep resumed.

In this order, each step going as far as the nightly share of the budget allows:

1. the contact pages of the sweep (contacts land at once; the persons the phone rule needs are
   marked ``persons_pending``, not read yet), then the by-id confirmation of the contacts the
   listing did not return (the contacts' sweep completes once step 3 has read every pending person);
2. the open invoices due in the reminder window (a ``Status.Unpaid`` listing filtered by due date),
   and a by-id check of those the warehouse holds as open there but the listing did not return (a
   deleted one is flagged deleted tonight);
3. the pending contact persons, by dunning value (customers with a reminder in the window first,
   then other customers with an open balance, then the rest), stored as they arrive;
4. the invoice pages of the sweep, then the by-id confirmation of the invoices it did not return,
   then the customers invoices reference that no listing returned.

A budget stop ends the pass cleanly at any point (what landed is committed with its checkpoint);
the next nightly goes on from there (``zoho.sync.sweep``).
"""
from __future__ import annotations

import logging

from zoho.books import endpoints as ep
from zoho.books import errors
from zoho.sync.metadata import BATCH_SIZE, EntityResult, Metadata, batched
from zoho.sync.sweep import (BATCH_PAGES, CONFIRM_CHUNK, ENTITIES, LISTINGS, SweepState, confirm_by_id, due_filter,
                             zoho_today)

log = logging.getLogger(__name__)

PERSONS_CHUNK = 100  # pending persons read (and committed) per round


class NightlyPass:
    def __init__(self, sync):
        self.sync = sync  # a ``zoho.sync.extract.TenantSync`` in ``full`` mode
        self.conn, self.client, self.loader, self.ledger = sync.conn, sync.client, sync.loader, sync.sweeps
        user_id = sync.tenant.user_id
        self.results = {e: EntityResult(e, "full") for e in ENTITIES}
        self.metas = {e: Metadata(self.conn, user_id, e) for e in ENTITIES}
        self.watermarks: dict[str, object] = {}  # entity -> the watermark a sweep completed in this run guarantees
        self.finished: set[str] = set()

    def _today(self):
        return zoho_today(self.client.stats.server_time)

    def run(self) -> list[EntityResult]:
        """The pass; its entities' results (``BudgetStop`` goes on after they were recorded)."""
        states = self.ledger.open(self.sync.run_id)
        for entity, state in states.items():
            log.info("%s: %s", self.sync.label(entity), state.progress())
            self.metas[entity].start("full", self.sync.run_id)
        try:
            self._steps(states)
        except errors.BudgetStop as stop:  # the entities the stop did not meet inside their own work
            for entity, result in self.results.items():
                if result.stopped is None and entity not in self.finished:
                    result.stopped = stop.reason
                    self.metas[entity].stop(result, stop)
            raise
        return list(self.results.values())

    def _steps(self, states: dict[str, SweepState]) -> None:
        contacts, invoices = self.results["contacts"], self.results["invoices"]
        with self.sync.track(self.metas["contacts"], contacts):
            self._list("contacts", states["contacts"], self.sync.land_contact_batch)
            self._confirm("contacts", states["contacts"])
        with self.sync.track(self.metas["invoices"], invoices):
            calls0 = self.sync.calls_made
            self._check_open_invoices(invoices)
            self.ledger.fixed_calls(self.sync.calls_made - calls0)
            self.conn.commit()
        with self.sync.track(self.metas["contacts"], contacts) as settle:
            self._read_pending_persons(contacts, states["contacts"])
            self._complete("contacts", states["contacts"])
            settle()
            self._finish("contacts")
        with self.sync.track(self.metas["invoices"], invoices) as settle:
            self._list("invoices", states["invoices"], self.sync.land_invoice_batch)
            self._confirm("invoices", states["invoices"])
            self._complete("invoices", states["invoices"])
            self.sync.resolve_missing_customers(invoices)
            settle()
            self._finish("invoices")
            if self.sync.budget_stop is not None:  # met by the missing-customer lookups
                raise self.sync.budget_stop

    def _finish(self, entity: str) -> None:
        """The entity's work of this pass is done (its sweep may still go on in a later run)."""
        result, watermark = self.results[entity], self.watermarks.get(entity)
        result.watermark = watermark.isoformat() if watermark else None
        self.metas[entity].finish(result, watermark)
        self.finished.add(entity)

    # ------------------------------------------------------------------ the sweep's listing
    def _list(self, entity: str, state: SweepState, land) -> None:
        if state.phase != "listing":
            return
        result = self.results[entity]
        self.sync.last_result = result
        endpoint = LISTINGS[entity]
        log.info("%s: sweep %d listing from page %d", self.sync.label(entity), state.generation, state.resume_page)
        pages = self.client.iter_pages(endpoint, start_page=state.resume_page, params=endpoint.sweep_sort)
        calls = self.sync.calls_made
        for chunk in batched(pages, BATCH_PAGES):  # a budget stop yields the pages already paid for first
            records = [record for page in chunk for record in page.records]
            result.fetched += len(records)
            rows = land(records, result) if records else []
            last = chunk[-1]
            self.ledger.checkpoint(
                state, next_page=last.number + 1, pages_total=last.total_pages, records=len(records),
                calls=self.sync.calls_made - calls, max_modified=self.sync.max_modified(rows, None),
                zoho_now=self.client.stats.server_time, listing_done=not last.has_more)
            self.conn.commit()
            calls = self.sync.calls_made
            self.sync.log_progress(entity, result, f"sweep page {state.pages_done}"
                                   f"{f' of {state.pages_total}' if state.pages_total else ''}: ")

    # ------------------------------------------------------------------ the sweep's confirmations
    def _confirm(self, entity: str, state: SweepState) -> None:
        """Ask by id for the live rows the sweep did not see; flag deleted what Zoho says is gone."""
        if state.phase == "confirming":
            result = self.results[entity]
            self.sync.last_result = result
            while ids := self.loader.unseen(entity, state.generation, CONFIRM_CHUNK):
                calls = self.sync.calls_made
                live, gone, stop = confirm_by_id(self.client, entity, ids)
                self.loader.mark_seen(entity, list(live), state.generation)
                result.deleted += self.loader.flag_deleted(entity, gone)
                self.ledger.confirmed(state, live=len(live), deleted=len(gone), calls=self.sync.calls_made - calls)
                self.conn.commit()
                if stop is not None:
                    raise stop

    def _complete(self, entity: str, state: SweepState) -> None:
        """The sweep saw or confirmed every record (and, for contacts, read every pending person)."""
        if state.phase == "confirming":
            watermark = self.watermarks[entity] = self.ledger.complete(state)
            self.metas[entity].sweep_complete(watermark)
            self.conn.commit()
            log.info("%s: sweep %d complete: %d records listed, %d confirmed by id, %d flagged deleted, %d calls "
                     "over %d run(s)", self.sync.label(entity), state.generation, state.records_seen,
                     state.confirmed_live, state.flagged_deleted, state.calls_spent, state.runs)

    # ------------------------------------------------------------------ the open invoices
    def _check_open_invoices(self, result: EntityResult) -> None:
        self.sync.last_result = result
        seen: list[str] = []
        due_range, today = self.sync.due_range, self._today()
        listing = self.client.iter_endpoint(ep.INVOICES, params={**ep.OPEN_INVOICES, **due_filter(due_range, today)})
        for batch in batched(listing, BATCH_SIZE):
            result.fetched += len(batch)
            seen += [row.invoice_id for row in self.sync.land_invoice_batch(batch, result)]
            self.conn.commit()
        unseen = self.loader.open_invoices_unseen(seen, ep.OPEN_INVOICE_STATUSES, due_range, today)
        gone_total = 0
        for start in range(0, len(unseen), CONFIRM_CHUNK):
            _, gone, stop = confirm_by_id(self.client, "invoices", unseen[start:start + CONFIRM_CHUNK])
            gone_total += self.loader.flag_deleted("invoices", gone)
            self.conn.commit()
            if stop is not None:
                result.deleted += gone_total
                raise stop
        result.deleted += gone_total
        log.info("%s: open invoices due in the reminder window: %d listed, %d no longer listed as open, %d of them "
                 "deleted in Zoho", self.sync.label("invoices"), len(seen), len(unseen), gone_total)

    # ------------------------------------------------------------------ the pending persons
    def _read_pending_persons(self, result: EntityResult, sweep: SweepState) -> None:
        """The persons still to read, by dunning value; their calls count to the contacts' sweep."""
        self.sync.last_result = result
        total = 0
        while ids := self.loader.pending_persons(PERSONS_CHUNK, ep.OPEN_INVOICE_STATUSES, self.sync.due_range,
                                                 self._today()):
            calls = self.sync.calls_made
            self.sync.read_persons(ids, result)
            if sweep.phase != "complete":
                self.ledger.confirmed(sweep, live=0, deleted=0, calls=self.sync.calls_made - calls)
            self.conn.commit()
            total += len(ids)
            if self.sync.budget_stop is not None:
                raise self.sync.budget_stop
            log.info("%s: %d contacts' persons read by dunning value (%d person calls so far)",
                     self.sync.label("contacts"), total, result.person_calls)
