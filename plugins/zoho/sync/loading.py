"""Set-based loading into the raw tables: COPY a batch into a session temp table, one upsert.

Never a round trip per row. The caller owns the transaction boundaries (one commit per batch).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

import psycopg
from psycopg import sql

from zoho.sync.records import ContactRow, InvoiceRow, PersonRow, Rejected, dump_payload, storable_text
from zoho.warehouse.sqlfiles import sql_files

load_sql = sql_files(__file__)


ENTITY_TABLES = {  # entity -> (raw table, id column); fixed identifiers, never input
    "contacts": ("contacts", "contact_id"),
    "invoices": ("invoices", "invoice_id"),
}


class RawLoader:
    """Loads one tenant's records on one connection (its temp tables live in that session)."""

    def __init__(self, conn: psycopg.Connection, user_id: str):
        self.conn = conn
        self.user_id = user_id
        with conn.cursor() as cur:
            cur.execute(load_sql("stage_tables"))

    def _copy(self, table: str, columns: Sequence[str], rows: Iterable[tuple]) -> None:
        with self.conn.cursor() as cur:
            cur.execute(sql.SQL("truncate {}").format(sql.Identifier(table)))
            stmt = sql.SQL("copy {} ({}) from stdin").format(
                sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns)))
            with cur.copy(stmt) as copy:
                for row in rows:
                    copy.write_row(row)

    def _upsert(self, name: str, params: dict | None = None) -> int:
        with self.conn.cursor() as cur:
            cur.execute(load_sql(name), {"user_id": self.user_id, **(params or {})})
            return cur.rowcount

    def load_contacts(self, rows: Sequence[ContactRow]) -> int:
        """Upsert contacts; returns how many rows were inserted or changed."""
        if not rows:
            return 0
        self._copy("stage_contacts",
                   ("contact_id", "contact_type", "last_modified_time", "mobile_e164", "phone_e164",
                    "payload", "payload_hash"),
                   ((r.contact_id, r.contact_type, r.last_modified_time, r.mobile_e164, r.phone_e164,
                     r.payload_json, r.payload_hash) for r in rows))
        return self._upsert("upsert_contacts")

    def changed_contact_ids(self, rows: Sequence[ContactRow]) -> set[str]:
        """Ids among ``rows`` whose persons must be read again — before loading: new contacts,
        contacts whose persons were never read or that come back from deletion, contacts Zoho
        modified (``last_modified_time``), and contacts whose own mobile or phone (in a list record,
        the primary person's) reads differently.

        Not every payload change: a list record also carries derived fields that move without a new
        ``last_modified_time`` (``outstanding_receivable_amount`` changes with every invoice paid)
        and say nothing about the persons; re-reading the persons costs one API call per contact,
        so a nightly run would otherwise re-read them for every customer that paid an invoice
        (BENCHMARKS.md, "API calls")."""
        if not rows:
            return set()
        with self.conn.cursor() as cur:
            cur.execute(
                "select s.id from unnest(%s::text[], %s::timestamptz[], %s::text[], %s::text[]) "
                "as s(id, modified, mobile, phone) "
                "left join zoho_raw.contacts c on c.user_id = %s and c.contact_id = s.id "
                "where c.contact_id is null or c.persons_synced_at is null or c.is_deleted "
                "or c.last_modified_time is distinct from s.modified "
                "or c.mobile_e164 is distinct from s.mobile or c.phone_e164 is distinct from s.phone",
                ([r.contact_id for r in rows], [r.last_modified_time for r in rows],
                 [r.mobile_e164 for r in rows], [r.phone_e164 for r in rows], self.user_id))
            return {r[0] for r in cur.fetchall()}

    def replace_persons(self, contact_ids: Sequence[str], rows: Sequence[PersonRow]) -> int:
        """Replace the persons of ``contact_ids`` (all fetched) with ``rows``."""
        if not contact_ids:
            return 0
        self._copy("stage_contact_persons",
                   ("contact_id", "contact_person_id", "position", "is_primary_contact", "mobile_e164",
                    "phone_e164", "payload", "payload_hash"),
                   ((r.contact_id, r.contact_person_id, r.position, r.is_primary_contact, r.mobile_e164,
                     r.phone_e164, r.payload_json, r.payload_hash) for r in rows))
        return self._upsert("replace_contact_persons", {"contact_ids": list(contact_ids)})

    def load_invoices(self, rows: Sequence[InvoiceRow]) -> int:
        if not rows:
            return 0
        self._copy("stage_invoices",
                   ("invoice_id", "customer_id", "last_modified_time", "payload", "payload_hash"),
                   ((r.invoice_id, r.customer_id, r.last_modified_time, r.payload_json, r.payload_hash)
                    for r in rows))
        return self._upsert("upsert_invoices")

    # ------------------------------------------------------------------ sweeps: seen, unseen, deleted
    def _entity_sql(self, name: str, entity: str) -> sql.Composed:
        table, id_column = ENTITY_TABLES[entity]
        return sql.SQL(load_sql(name)).format(table=sql.Identifier(table), id_column=sql.Identifier(id_column))

    def mark_seen(self, entity: str, ids: Sequence[str], generation: int) -> None:
        """Rows seen alive by sweep ``generation`` (or a run during it)."""
        if ids:
            with self.conn.cursor() as cur:
                cur.execute(self._entity_sql("mark_seen", entity),
                            {"user_id": self.user_id, "ids": list(ids), "generation": generation})

    def unseen(self, entity: str, generation: int, limit: int) -> list[str]:
        """Live rows that sweep ``generation`` has neither listed nor confirmed by id."""
        with self.conn.cursor() as cur:
            cur.execute(self._entity_sql("sweep_unseen", entity),
                        {"user_id": self.user_id, "generation": generation, "limit": limit})
            return [r[0] for r in cur.fetchall()]

    def flag_deleted(self, entity: str, ids: Sequence[str]) -> int:
        """Flag as deleted the rows Zoho answered "does not exist" for by id."""
        if not ids:
            return 0
        with self.conn.cursor() as cur:
            cur.execute(self._entity_sql("flag_deleted", entity), {"user_id": self.user_id, "ids": list(ids)})
            return cur.rowcount

    def open_invoices_unseen(self, seen: Sequence[str], open_statuses: Sequence[str],
                             due_range: tuple[int, int], today: date) -> list[str]:
        """Invoices held as open and due in ``due_range`` (days from ``today``, Zoho's date) that
        tonight's listing of those invoices did not return."""
        with self.conn.cursor() as cur:
            cur.execute(load_sql("open_invoices_unseen"), {
                "user_id": self.user_id, "seen": list(seen), "open_statuses": list(open_statuses),
                "due_from": due_range[0], "due_to": due_range[1], "today": today})
            return [r[0] for r in cur.fetchall()]

    # ------------------------------------------------------------------ contact persons still to read
    def set_persons_pending(self, ids: Sequence[str], pending: bool) -> None:
        if ids:
            with self.conn.cursor() as cur:
                cur.execute(load_sql("persons_pending"), {"user_id": self.user_id, "ids": list(ids), "pending": pending})

    def pending_persons(self, limit: int, open_statuses: Sequence[str], due_range: tuple[int, int],
                        today: date) -> list[str]:
        """Contacts whose persons are still to be read, by dunning value (``persons_by_value.sql``)."""
        with self.conn.cursor() as cur:
            cur.execute(load_sql("persons_by_value"), {
                "user_id": self.user_id, "limit": limit, "open_statuses": list(open_statuses),
                "due_from": due_range[0], "due_to": due_range[1], "today": today})
            return [r[0] for r in cur.fetchall()]

    # ------------------------------------------------------------------ missing customers
    def unknown_customer_ids(self) -> list[str]:
        """Customers referenced by the tenant's invoices that are neither landed nor known missing."""
        with self.conn.cursor() as cur:
            cur.execute(load_sql("unknown_customers"), {"user_id": self.user_id})
            return [r[0] for r in cur.fetchall()]

    def record_missing(self, contact_ids: Sequence[str]) -> None:
        with self.conn.cursor() as cur:
            cur.execute("insert into zoho_raw.missing_contacts (user_id, contact_id) "
                        "select %s, unnest(%s::text[]) on conflict (user_id, contact_id) "
                        "do update set checked_at = now()", (self.user_id, list(contact_ids)))

    def forget_missing(self, contact_ids: Sequence[str]) -> None:
        with self.conn.cursor() as cur:
            cur.execute("delete from zoho_raw.missing_contacts where user_id = %s and contact_id = any(%s)",
                        (self.user_id, list(contact_ids)))

    # ------------------------------------------------------------------ quarantine
    def reject(self, rejected: Sequence[Rejected], run_id: str | None) -> int:
        """Quarantine unreadable records (idempotent: the same record and reason is kept once)."""
        if not rejected:
            return 0
        rows = []
        for r in rejected:
            payload = r.payload if isinstance(r.payload, (dict, list)) else {"raw": r.payload}
            text, digest = dump_payload(payload)
            rows.append((self.user_id, r.entity, r.zoho_id, storable_text(str(r.reason)), text, digest, run_id))
        with self.conn.cursor() as cur:
            cur.executemany(
                "insert into zoho_sync.rejected_records "
                "(user_id, entity, zoho_id, reason, payload, payload_hash, run_id) "
                "values (%s, %s, %s, %s, %s::jsonb, %s, %s) "
                "on conflict (user_id, entity, payload_hash, reason) do nothing", rows)
        return len(rows)
