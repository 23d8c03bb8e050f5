"""One tenant's sync: Zoho listings → raw tables, watermarks, deletions, missing customers.

Usable without Airflow: ``sync_tenant(client, warehouse_uri, tenant, mode)``.

- ``incremental``: contacts, then invoices, from the watermark minus ``OVERLAP`` (while a first
  sweep has not set a watermark yet: from Zoho's clock when the sweep started); never infers
  deletions. Batches are committed as they land (nothing loaded is lost by a later failure); the
  watermark of ``zoho_sync.sync_metadata`` advances only once the listing completed.
- ``full``: the nightly pass (``zoho.sync.nightly``): the sweep, resumable across runs and days
  (``zoho.sync.sweep``), in the order that gets reminders right first.
- Contact persons are read only where the phone rule needs them and the contact changed (or its
  persons were never read); until they are, the contact is ``persons_pending``.
- Unreadable records go to ``zoho_sync.rejected_records``; the rest loads.
- Two runs of the same kind never sync a tenant at once (an advisory lock per tenant and kind); an
  incremental run may overlap a long nightly sweep: both draw from the organisation's one budget.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg

from zoho.books import errors
from zoho.rules.phones import needs_contact_persons
from zoho.sync.budget import BudgetSettings, WarehouseBudget, org_key
from zoho.sync.loading import RawLoader
from zoho.sync.metadata import BATCH_SIZE, EntityResult, Metadata, TenantResult, batched
from zoho.sync.nightly import NightlyPass
from zoho.sync.records import ContactRow, InvoiceRow, PersonRow, Rejected, read_contact, read_invoice, read_person
from zoho.sync.sweep import SweepLedger, confirm_by_id
from zoho.warehouse import connection as warehouse
from zoho.warehouse.sqlfiles import sql_files

load_sql = sql_files(__file__)

log = logging.getLogger(__name__)

OVERLAP = timedelta(minutes=5)
MODES = ("incremental", "full")
LOOKUP_CHUNK = 25  # missing customers asked for by id per transaction
INCREMENTAL_LOOKUPS = 25  # at most this many per incremental run; the nightly asks about the rest
DEFAULT_DUE_RANGE = (-16, 4)  # due dates (days from today) that can have a reminder in the default policy's window


class TenantBusyError(RuntimeError):
    """Another run holds the tenant's sync lock."""


@dataclass
class Tenant:
    user_id: str
    default_country: str | None = None


def _lock_key(user_id: str, mode: str) -> str:
    """One lock per tenant and run kind: a nightly sweep and an incremental run may overlap."""
    return f"zoho_sync:{user_id}:{mode}"


class TenantSync:
    def __init__(self, client, conn: psycopg.Connection, tenant: Tenant, mode: str, run_id: str | None,
                 due_range: tuple[int, int] = DEFAULT_DUE_RANGE):
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
        self.client, self.conn, self.tenant, self.mode, self.run_id = client, conn, tenant, mode, run_id
        self.due_range = due_range
        self.loader = RawLoader(conn, tenant.user_id)
        self.sweeps = SweepLedger(conn, tenant.user_id)
        self.sweeps.read()
        self.budget_stop: errors.BudgetStop | None = None  # a stop met inside a batch (persons lookups)
        self.last_result: EntityResult | None = None  # the entity being synced (kept when the budget stops it)
        conn.commit()

    def generation(self, entity: str) -> int:
        """The sweep generation a record seen alive now is marked with."""
        return self.sweeps.states[entity].generation

    @property
    def calls_made(self) -> int:
        return self.client.stats.total_calls

    def label(self, entity: str) -> str:
        return f"tenant {self.tenant.user_id!r} {entity}"

    def _since(self, meta: Metadata) -> datetime | None:
        """Where an incremental listing starts: the watermark, else (a first sweep still running)
        Zoho's clock when the sweep started; minus ``OVERLAP``. None: the whole listing."""
        start = meta.watermark() or self.sweeps.states[meta.entity].zoho_started_at
        return start - OVERLAP if start else None

    # ------------------------------------------------------------------ one entity
    def _sync_entity(self, entity: str, listing: Callable[..., Iterable[dict]],
                     land: Callable[[list[dict], EntityResult], list],
                     after_listing: Callable[[EntityResult], object] | None = None) -> EntityResult:
        """The incremental listing of one entity into the raw tables, batch by batch, with its
        ``sync_metadata``.

        ``land(batch, result)`` reads and upserts one batch of API records and returns the rows it
        wrote; ``after_listing(result)`` runs once the listing completed and its rows were
        committed, before the watermark moves.
        """
        meta = Metadata(self.conn, self.tenant.user_id, entity)
        result = self.last_result = EntityResult(entity, self.mode)
        since = self._since(meta)
        watermark = meta.watermark()
        meta.start(self.mode, self.run_id)
        with self.track(meta, result) as settle:
            log.info("%s: %s listing%s", self.label(entity), self.mode,
                     f" since {since.isoformat()}" if since else " (all records)")
            for batch in batched(listing(modified_since=since), BATCH_SIZE):
                result.fetched += len(batch)
                rows = land(batch, result)
                watermark = self.max_modified(rows, watermark)
                self.conn.commit()
                self.log_progress(entity, result)
                if self.budget_stop is not None:  # met by a persons lookup: the batch is landed, stop now
                    raise self.budget_stop
            if after_listing is not None:
                after_listing(result)
            result.watermark = watermark.isoformat() if watermark else None
            settle()
            meta.finish(result, watermark)
            if self.budget_stop is not None:  # met by the missing-customer lookups, after the listing
                raise self.budget_stop
        return result

    @contextmanager
    def track(self, meta: Metadata, result: EntityResult):
        """Count the calls of ``result``'s work and record how it ended in ``sync_metadata``: a budget
        stop (what landed is kept; not a failure) or an error; success is the caller's ``finish``,
        after ``settle()`` (the block's calls so far added to ``result.api_calls``)."""
        mark = [self.calls_made]

        def settle() -> None:
            now = self.calls_made
            result.api_calls += now - mark[0]
            mark[0] = now

        try:
            yield settle
        except errors.BudgetStop as stop:
            self.conn.rollback()  # only an unfinished statement; every landed batch is committed
            settle()
            result.stopped = stop.reason
            meta.stop(result, stop)
            log.warning("%s: stopped by the API budget after %d records (%d calls): %s; what landed is kept, the "
                        "next run goes on", self.label(result.entity), result.fetched, result.api_calls, stop.detail)
            raise
        except BaseException as exc:
            settle()
            meta.fail(result, exc)
            raise
        settle()

    def log_progress(self, entity: str, result: EntityResult, what: str = "") -> None:
        persons = f"{result.person_calls} person calls, " if entity == "contacts" else ""
        log.info("%s: %s%d fetched, %d written, %s%d rejected so far", self.label(entity), what,
                 result.fetched, result.upserted, persons, result.rejected)

    def _read(self, batch: list, reader: Callable[[Any], Any], result: EntityResult) -> list[tuple[Any, Any]]:
        """``(row, record)`` for each readable API record; unreadable ones are quarantined and counted."""
        read, rejects = [], []
        for record in batch:
            row = reader(record)
            if isinstance(row, Rejected):
                rejects.append(row)
            else:
                read.append((row, record))
        result.rejected += self.loader.reject(rejects, self.run_id)
        return read

    # ------------------------------------------------------------------ contacts
    def sync_contacts(self) -> EntityResult:
        return self._sync_entity("contacts", self.client.iter_contacts, self.land_contact_batch)

    def land_contact_batch(self, batch: list, result: EntityResult) -> list[ContactRow]:
        read = self._read(batch, lambda record: read_contact(record, self.tenant.default_country), result)
        rows = [row for row, _ in read]
        self._land_contacts(rows, {row.contact_id: record for row, record in read}, result)
        self.loader.mark_seen("contacts", [r.contact_id for r in rows], self.generation("contacts"))
        return rows

    def _land_contacts(self, rows: list[ContactRow], records: dict, result: EntityResult) -> None:
        """Upsert contacts, then the persons of changed contacts that need them: those a record
        carries are stored at once; the others are read now (incremental run) or later, by dunning
        value (nightly: ``read_pending_persons``), and are ``persons_pending`` until then."""
        changed = self.loader.changed_contact_ids(rows)
        result.upserted += self.loader.load_contacts(rows)
        self.loader.forget_missing([r.contact_id for r in rows])
        need = [cid for cid in changed
                if needs_contact_persons(records[cid], self.tenant.default_country)]
        inline = {cid: records[cid]["contact_persons"] for cid in need
                  if isinstance(records[cid].get("contact_persons"), list)}
        to_fetch = [cid for cid in need if cid not in inline]
        self.loader.set_persons_pending([cid for cid in changed if cid not in to_fetch], False)
        self.loader.set_persons_pending(to_fetch, True)
        self._store_persons(inline, result)
        if self.mode == "incremental":
            self.read_persons(to_fetch, result)

    def read_persons(self, contact_ids: list[str], result: EntityResult) -> None:
        """Read and store the persons of ``contact_ids`` (one call each)."""
        fetched, gone, attempted = self._fetch_persons(contact_ids)
        result.person_calls += attempted
        self._store_persons(fetched, result)
        self.loader.set_persons_pending(gone, False)  # deleted since the listing: the next sweep flags it

    def _store_persons(self, persons: dict[str, list], result: EntityResult) -> None:
        person_rows: list[PersonRow] = []
        rejects: list[Rejected] = []
        for cid, plist in persons.items():
            for pos, p in enumerate(plist):
                row = read_person(p, cid, pos, self.tenant.default_country)
                (rejects if isinstance(row, Rejected) else person_rows).append(row)
        self.loader.replace_persons(list(persons), person_rows)
        result.rejected += self.loader.reject(rejects, self.run_id)

    def _fetch_persons(self, contact_ids: list[str]) -> tuple[dict[str, list], list[str], int]:
        """The persons of each contact (one call each), the contacts Zoho no longer has, and how many
        lookups were made: after a budget stop the remaining ones are left for a later run (they
        stay ``persons_pending``)."""
        if not contact_ids:
            return {}, [], 0
        skipped: list[str] = []
        gone: list[str] = []

        def fetch(cid: str) -> tuple[str, list | None]:
            if self.budget_stop is not None:
                skipped.append(cid)
                return cid, None
            try:
                return cid, list(self.client.list_contact_persons(cid))
            except errors.NotFoundError:  # deleted between the listing and this call
                gone.append(cid)
                return cid, None
            except errors.BudgetStop as stop:  # what was fetched is stored; the rest waits for a later run
                self.budget_stop = stop
                skipped.append(cid)
                return cid, None

        workers = max(1, min(int(getattr(self.client, "max_concurrent", 4) or 4), 8))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="persons") as pool:
            persons = {cid: plist for cid, plist in pool.map(fetch, contact_ids) if plist is not None}
        return persons, gone, len(contact_ids) - len(skipped)

    # ------------------------------------------------------------------ invoices
    def sync_invoices(self) -> EntityResult:
        return self._sync_entity("invoices", self.client.iter_invoices, self.land_invoice_batch,
                                 after_listing=self.resolve_missing_customers)

    def land_invoice_batch(self, batch: list, result: EntityResult) -> list[InvoiceRow]:
        rows = [row for row, _ in self._read(batch, read_invoice, result)]
        result.upserted += self.loader.load_invoices(rows)
        self.loader.mark_seen("invoices", [r.invoice_id for r in rows], self.generation("invoices"))
        return rows

    def resolve_missing_customers(self, result: EntityResult) -> None:
        """Fetch by id the customers invoices reference but the contact listing did not return;
        count the tenant's invoices whose customer Zoho says does not exist. Not while the first
        sweep of the contacts is still listing: most customers are simply not read yet. Answers
        are stored chunk by chunk (a budget stop keeps what was asked); an incremental run asks
        about at most ``INCREMENTAL_LOOKUPS`` (its reserve is for the day's changes), the nightly
        about the rest. A budget stop is left in ``budget_stop`` for the caller to raise once the
        completed listing is recorded (its watermark moves)."""
        contacts = self.sweeps.states["contacts"]
        first_listing = contacts.last_completed_at is None and contacts.phase == "listing"
        unknown = [] if first_listing else self.loader.unknown_customer_ids()
        if self.mode == "incremental":
            unknown = unknown[:INCREMENTAL_LOOKUPS]
        found = missing = 0
        for start in range(0, len(unknown), LOOKUP_CHUNK):
            answered, gone, stop = confirm_by_id(self.client, "contacts", unknown[start:start + LOOKUP_CHUNK])
            landed = EntityResult("contacts", self.mode)
            rows = self.land_contact_batch(list(answered.values()), landed)
            result.rejected += landed.rejected
            self.loader.record_missing(gone)
            self.conn.commit()
            found, missing = found + len(rows), missing + len(gone)
            if stop is not None:  # the listing is complete: the caller records it, then the stop
                self.budget_stop = stop
                break
        if unknown:
            log.info("%s: %d referenced customers were not synced: %d fetched by id, %d do not exist in Zoho",
                     self.label("invoices"), len(unknown), found, missing)
        row = self.conn.execute(load_sql("count_invoices_missing_customer"),
                                {"user_id": self.tenant.user_id}).fetchone()
        result.missing_customers = int(row[0])

    @staticmethod
    def max_modified(rows, current: datetime | None) -> datetime | None:
        stamps = [r.last_modified_time for r in rows if r.last_modified_time is not None]
        if not stamps:
            return current
        newest = max(stamps)
        return newest if current is None or newest > current else current


def _record_failure_on_new_connection(uri: str, user_id: str, run_id: str | None, error: BaseException) -> None:
    """The sync's own session died (killed, network): mark what this run left ``running`` in
    ``sync_metadata`` as failed, from a new session, so the table does not show a dead run as running.
    Best effort: the warehouse may be unreachable altogether."""
    try:
        with warehouse.connect(uri, connect_timeout=10) as conn:
            conn.execute(
                "update zoho_sync.sync_metadata set status = 'failed', finished_at = now(), last_error = %s "
                "where user_id = %s and status = 'running' and last_run_id is not distinct from %s",
                (f"{type(error).__name__}: {error}"[:2000], user_id, run_id))
    except Exception:  # noqa: BLE001 - the original error is what the task reports
        log.warning("could not record the failure of tenant %r in sync_metadata either", user_id, exc_info=True)


def _budget_gate(client, warehouse_uri: str, tenant: Tenant, mode: str,
                 settings: BudgetSettings | None) -> WarehouseBudget:
    """The organisation's ledger in the warehouse, asked by the client before every request."""
    limiter = client.limiter
    return WarehouseBudget(warehouse_uri, org_key(client.api_base_url, client.organization_id),
                           tenant=tenant.user_id, settings=settings or BudgetSettings(),
                           purpose="sweep" if mode == "full" else "incremental",
                           per_minute=limiter.requests_per_window, window_seconds=limiter.window_seconds)


def sync_tenant(client, warehouse_uri: str, tenant: Tenant, mode: str, run_id: str | None = None,
                lock_timeout_s: float = 600, budget: BudgetSettings | None = None,
                due_range: tuple[int, int] = DEFAULT_DUE_RANGE) -> TenantResult:
    """Sync one tenant under its advisory lock for the run kind, every call drawn from the
    organisation's budget in the warehouse. A budget stop is not an error: the result says
    ``stopped`` and what landed is kept. ``due_range``: the due dates (days from today) of invoices
    that can have a reminder in the policy's window (``zoho.sync.sweep.reminder_due_range``)."""
    started = time.monotonic()
    result = TenantResult(tenant.user_id, mode)
    gate = _budget_gate(client, warehouse_uri, tenant, mode, budget)
    client.set_budget(gate)
    try:
        _locked_sync(client, warehouse_uri, tenant, mode, run_id, lock_timeout_s, result, due_range)
    except errors.BudgetStop as stop:
        result.stopped = stop.reason
    finally:
        client.set_budget(None)
        try:
            result.budget = gate.status()
            gate.record_applied(result.budget.get("plan_limit"))
        except psycopg.Error:  # the warehouse may be what failed: the original error is what matters
            log.warning("could not read the API budget of tenant %r", tenant.user_id, exc_info=True)
        gate.close()
    result.seconds = round(time.monotonic() - started, 3)
    return result


def _locked_sync(client, warehouse_uri: str, tenant: Tenant, mode: str, run_id: str | None,
                 lock_timeout_s: float, result: TenantResult, due_range: tuple[int, int]) -> None:
    with warehouse.connect(warehouse_uri) as conn:
        conn.execute("select set_config('lock_timeout', %s, false)", (f"{int(lock_timeout_s * 1000)}ms",))
        try:
            conn.execute("select pg_advisory_lock(hashtextextended(%s, 0))", (_lock_key(tenant.user_id, mode),))
        except psycopg.errors.LockNotAvailable:
            raise TenantBusyError(
                f"tenant {tenant.user_id!r} is being synced by another {mode} run (waited {lock_timeout_s:.0f} s "
                f"for its lock); see zoho_sync.sync_metadata and pg_locks") from None
        conn.execute("select set_config('lock_timeout', '0', false)")
        conn.commit()
        try:
            sync = TenantSync(client, conn, tenant, mode, run_id, due_range)
            if mode == "full":
                nightly = NightlyPass(sync)
                try:
                    nightly.run()
                finally:
                    result.entities.extend(nightly.results.values())
                return
            for entity_sync in (sync.sync_contacts, sync.sync_invoices):
                try:
                    result.entities.append(entity_sync())
                except errors.BudgetStop:
                    result.entities.append(sync.last_result)
                    raise
        except BaseException as exc:
            if conn.closed or conn.broken:  # the failure could not be recorded on the dead session
                _record_failure_on_new_connection(warehouse_uri, tenant.user_id, run_id, exc)
            raise
        finally:
            if not conn.closed and not conn.broken:
                conn.rollback()
                conn.execute("select pg_advisory_unlock(hashtextextended(%s, 0))", (_lock_key(tenant.user_id, mode),))
                conn.commit()
