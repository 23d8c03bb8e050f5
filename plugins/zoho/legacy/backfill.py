"""Legacy migration (docs/CONTRACT.md "Legacy migration"): the old invoice table that copied the customer's
name, phone and email onto every invoice row, turned into the new model. No Airflow import here:
the DAG file ``dags/zoho_legacy_backfill.py`` is the Airflow-facing layer.

Two steps around the dbt build of the marts:

1. ``land_legacy``: reads the source table (default ``legacy.invoices_cache``; a schema-qualified
   name, validated and used only as a quoted identifier) once, set-based, in one transaction:
   unreadable rows (no tenant, no invoice id, no customer id) go to ``zoho_sync.rejected_records``
   (entity ``legacy_invoices``) with their reason; the rest are landed as
   ``zoho_raw.legacy_customers`` (one per tenant and Zoho customer id, the latest row winning field
   by field, the phone normalised by ``zoho.rules.phones.normalize_phone`` with the tenant's default
   country) and ``zoho_raw.legacy_invoices`` (one per tenant and Zoho invoice id, with the customer
   of its latest row). Only changed rows are written, so a re-run writes nothing.
2. dbt (outside this module) unions the landed rows into ``customers_cache`` / ``invoices_cache``
   below Zoho's own records: Zoho wins, the legacy phone is the last candidate of the phone rule
   (``legacy.customer_phone``), ids stay ``md5(user_id|zoho_id)``.
3. ``integrity_report``: reads the source again and checks it against the landing tables, Zoho's
   raw tables and the marts; stores one row per run in ``zoho_sync.legacy_backfill_runs``; the
   caller fails the run when ``report.ok`` is false (an invoice unlinked without a reason, counts
   that do not reconcile).
"""
from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from zoho.warehouse import connection as warehouse
from zoho.rules.phones import normalize_phone
from zoho.warehouse.sqlfiles import sql_files

load_sql = sql_files(__file__)


DEFAULT_SOURCE_TABLE = "legacy.invoices_cache"
DEFAULT_COUNTRY = "US"
REJECTED_ENTITY = "legacy_invoices"
PHONE_SOURCE = "legacy.customer_phone"  # the phone rule's label for the legacy phone (ARCHITECTURE.md)
SOURCE_COLUMNS = ("user_id", "zoho_invoice_id", "zoho_customer_id", "customer_name", "customer_phone",
                  "customer_email", "updated_at")

# schema.table, each an unquoted Postgres identifier (at most 63 characters); quoting happens in SQL
SOURCE_TABLE_PATTERN = r"^[A-Za-z_][A-Za-z0-9_$]{0,62}\.[A-Za-z_][A-Za-z0-9_$]{0,62}$"
COUNTRY_PATTERN = r"^[A-Za-z]{2}$"
# reasons an invoice may stay without a customer (anything else fails the run)
EXPLAINED_UNLINKED = ("zoho_invoice_has_no_customer", "zoho_customer_does_not_exist",
                      "zoho_contact_is_not_a_customer", "legacy_row_has_no_customer_id")


class LegacySourceError(ValueError):
    """The source table name is not acceptable, or the table is missing or lacks a column."""




def parse_source_table(value: object) -> tuple[str, str]:
    """``"legacy.invoices_cache"`` -> ``("legacy", "invoices_cache")``; anything that is not a
    schema-qualified identifier (quotes, spaces, a third part, SQL) is refused."""
    text = str(value or "").strip()
    if not re.match(SOURCE_TABLE_PATTERN, text):
        raise LegacySourceError(f"source table {text[:80]!r} must be a schema-qualified name such as "
                                f"{DEFAULT_SOURCE_TABLE!r} (letters, digits, _ and $; no quotes)")
    schema_name, table_name = text.split(".")
    return schema_name, table_name


def parse_country(value: object) -> str:
    text = str(value or "").strip().upper()
    if not re.match(COUNTRY_PATTERN, text):
        raise LegacySourceError(f"default country {str(value)[:20]!r} must be an ISO 3166 alpha-2 code, e.g. 'US'")
    return text


def _source_statement(source_table: str) -> sql.Composed:
    schema_name, table_name = parse_source_table(source_table)
    return sql.SQL(load_sql("source_rows")).format(source=sql.Identifier(schema_name, table_name))


def check_source(conn: psycopg.Connection, source_table: str) -> None:
    """Raise ``LegacySourceError`` naming what is wrong when the table or one of its columns is missing."""
    schema_name, table_name = parse_source_table(source_table)
    found = {r[0] for r in conn.execute(
        "select column_name from information_schema.columns where table_schema = %s and table_name = %s",
        (schema_name, table_name)).fetchall()}
    if not found:
        raise LegacySourceError(f"source table {source_table} does not exist (or is not readable)")
    missing = [c for c in SOURCE_COLUMNS if c not in found]
    if missing:
        raise LegacySourceError(f"source table {source_table} lacks column(s) {', '.join(missing)} "
                                f"(expected {', '.join(SOURCE_COLUMNS)})")


def _read_source(conn: psycopg.Connection, source_table: str) -> None:
    check_source(conn, source_table)
    conn.execute("set local timezone = 'UTC'")  # a naive updated_at is read as UTC
    conn.execute(_source_statement(source_table))


# --------------------------------------------------------------------------- landing
@dataclass
class LandingResult:
    source_table: str
    rows_read: int = 0
    rows_rejected: int = 0
    rejected_by_reason: dict = field(default_factory=dict)
    rows_accepted: int = 0
    customers_found: int = 0
    invoices_found: int = 0
    invoices_with_conflicting_customers: int = 0
    tenants: int = 0
    phones_valid: int = 0
    phones_invalid: int = 0
    phones_missing: int = 0
    rejected_recorded: int = 0
    customers_written: int = 0
    invoices_written: int = 0
    countries: dict = field(default_factory=dict)
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items()}


def land_legacy(uri: str, source_table: str, run_id: str, countries: Mapping[str, str | None] | None = None,
                default_country: str = DEFAULT_COUNTRY) -> LandingResult:
    """Land the source table's customers and invoices (one transaction); see the module docstring.

    ``countries``: tenant ``user_id`` -> ISO country for numbers without a country code (the
    tenant's Zoho connection's ``default_country``); tenants not in it use ``default_country``.
    """
    started = time.monotonic()
    default_country = parse_country(default_country)
    countries = {k: v for k, v in (countries or {}).items() if v}
    result = LandingResult(source_table=source_table)
    with warehouse.connect(uri) as conn:
        with conn.transaction():
            _read_source(conn, source_table)
            with conn.cursor() as cur:
                cur.execute(load_sql("reject"), {"run_id": run_id})
                result.rejected_recorded = cur.rowcount
                pairs = cur.execute(load_sql("phones_to_normalize")).fetchall()
                cur.execute("create temp table legacy_phones (user_id text, raw text, e164 text) on commit drop")
                used: dict[str, str] = {}
                with cur.copy("copy legacy_phones (user_id, raw, e164) from stdin") as copy:
                    for user_id, raw in pairs:
                        country = countries.get(user_id) or default_country
                        used[user_id] = country
                        copy.write_row((user_id, raw, normalize_phone(raw, country)))
                result.countries = dict(sorted(used.items()))
                cur.execute(load_sql("upsert_customers"), {"source_table": source_table})
                result.customers_written = cur.rowcount
                cur.execute(load_sql("upsert_invoices"), {"source_table": source_table})
                result.invoices_written = cur.rowcount
            with conn.cursor(row_factory=dict_row) as cur:
                counts = cur.execute(load_sql("landing_counts")).fetchone()
            for key, value in counts.items():
                setattr(result, key, value)
            _save_landing(conn, run_id, result)
    result.seconds = round(time.monotonic() - started, 2)
    return result


def _save_landing(conn: psycopg.Connection, run_id: str, landing: LandingResult) -> None:
    conn.execute(
        """
        insert into zoho_sync.legacy_backfill_runs (run_id, source_table, status, landing)
        values (%s, %s, 'landed', %s)
        on conflict (run_id) do update set
            source_table = excluded.source_table, status = 'landed', started_at = now(), finished_at = null,
            landing = excluded.landing, report = null, failed_checks = null
        """,
        (run_id, landing.source_table, Jsonb(landing.as_dict())))


# --------------------------------------------------------------------------- report
@dataclass
class Report:
    run_id: str
    source_table: str
    counts: dict
    failed_checks: list[str]

    @property
    def ok(self) -> bool:
        return not self.failed_checks

    def table(self) -> str:
        """The report for the task log."""
        c = self.counts
        reasons = c.get("unlinked_by_reason") or {}
        lines = [
            f"legacy backfill integrity report, run {self.run_id}, source {self.source_table}",
            f"  legacy rows read                {c['rows_read']:>8}",
            f"  rows rejected (quarantined)     {c['rows_rejected']:>8}  "
            f"{json.dumps(c['rejected_by_reason'], sort_keys=True)}",
            f"  rows used                       {c['rows_accepted']:>8}",
            f"  customers found                 {c['customers_found']:>8}",
            f"  duplicates collapsed            {c['duplicates_collapsed']:>8}",
            f"  customers created (legacy only) {c['customers_created']:>8}  "
            f"({c['customers_created_flagged_deleted']} flagged deleted: Zoho does not have them as customers)",
            f"  customers already in Zoho       {c['customers_known_to_zoho']:>8}  (Zoho wins)",
            f"  invoices found                  {c['invoices_found']:>8}  "
            f"({c['invoices_known_to_zoho']} already synced from Zoho; "
            f"{c['invoices_customer_differs_in_zoho']} with another customer in Zoho: Zoho wins; "
            f"{c['invoices_only_in_rejected_rows']} more only in rejected rows)",
            f"  invoices linked to a customer   {c['invoices_linked']:>8}",
            f"  invoices without a customer     {c['invoices_unlinked']:>8}  {json.dumps(reasons, sort_keys=True)}",
            f"  phones valid / invalid / none   {c['phones_valid']:>8} / {c['phones_invalid']} / {c['phones_missing']}",
            f"  phones recovered                {c['phones_recovered']:>8}  "
            f"({c['phones_recovered_for_zoho_customers']} for customers Zoho has without a valid phone)",
        ]
        if self.failed_checks:
            lines.append("  FAILED checks:")
            lines += [f"    - {check}" for check in self.failed_checks]
            if c.get("problem_examples"):
                lines.append(f"    examples (user_id, invoice_id, reason): {c['problem_examples']}")
        else:
            lines.append("  all checks passed: every legacy invoice is linked or has a reason, counts reconcile")
        return "\n".join(lines)


def _checks(c: dict, landing: dict | None) -> list[str]:
    """The reconciliation: each failing equation as a readable line."""
    failed = []

    def expect(name: str, left: int, right: int) -> None:
        if left != right:
            failed.append(f"{name}: {left} != {right}")

    expect("rows read = rows rejected + rows used", c["rows_read"], c["rows_rejected"] + c["rows_accepted"])
    expect("rows rejected = rows in zoho_sync.rejected_records", c["rows_rejected"], c["rows_rejected_recorded"])
    expect("rows used = legacy rows behind the landed customers", c["rows_accepted"], c["landed_customer_rows"])
    expect("customers found = customers landed", c["customers_found"], c["customers_landed"])
    expect("customers found = customers in customers_cache", c["customers_found"], c["customers_in_mart"])
    expect("customers found = created + already in Zoho", c["customers_found"],
           c["customers_created"] + c["customers_known_to_zoho"])
    expect("customers with an id other than md5(user_id|zoho_customer_id)", c["customers_with_unstable_id"], 0)
    expect("invoices found = invoices landed", c["invoices_found"], c["invoices_landed"])
    expect("invoices found + invoices only in rejected rows = linked + without a customer",
           c["invoices_found"] + c["invoices_only_in_rejected_rows"], c["invoices_linked"] + c["invoices_unlinked"])
    expect("invoices without a customer and without a reason", c["invoices_unlinked_without_reason"], 0)
    expect("invoices linked to another customer than expected", c["invoices_linked_to_other_customer"], 0)
    expect("customers whose primary phone disagrees with the legacy phone", c["phone_mismatches"], 0)
    unexplained = set(c["unlinked_by_reason"]) - set(EXPLAINED_UNLINKED) - {"not_in_invoices_cache", "unexplained"}
    if unexplained:
        failed.append(f"unknown reasons for invoices without a customer: {sorted(unexplained)}")
    if landing:  # the source must not have changed between landing and the report
        for key in ("rows_read", "rows_rejected", "customers_found", "invoices_found"):
            expect(f"{key} at landing = {key} now", landing.get(key, -1), c[key])
    return failed


def integrity_report(uri: str, source_table: str, run_id: str) -> Report:
    """Check the end state against the source and store the report row (status success/failed)."""
    with warehouse.connect(uri) as conn:
        with conn.transaction():
            _read_source(conn, source_table)
            with conn.cursor(row_factory=dict_row) as cur:
                counts = dict(cur.execute(load_sql("report")).fetchone())
            landing = conn.execute("select landing from zoho_sync.legacy_backfill_runs where run_id = %s",
                                   (run_id,)).fetchone()
            landing = landing[0] if landing else None
            report = Report(run_id, source_table, counts, _checks(counts, landing))
            _save_report(conn, report)
    return report


def _save_report(conn: psycopg.Connection, report: Report) -> None:
    c = report.counts
    conn.execute(
        """
        insert into zoho_sync.legacy_backfill_runs (
            run_id, source_table, status, finished_at, rows_read, rows_rejected, customers_found,
            duplicates_collapsed, customers_created, customers_known_to_zoho, invoices_found, invoices_linked,
            invoices_unlinked, phones_valid, phones_invalid, phones_recovered, report, failed_checks)
        values (%(run_id)s, %(source_table)s, %(status)s, now(), %(rows_read)s, %(rows_rejected)s,
            %(customers_found)s, %(duplicates_collapsed)s, %(customers_created)s, %(customers_known_to_zoho)s,
            %(invoices_found)s, %(invoices_linked)s, %(invoices_unlinked)s, %(phones_valid)s, %(phones_invalid)s,
            %(phones_recovered)s, %(report)s, %(failed_checks)s)
        on conflict (run_id) do update set
            source_table = excluded.source_table, status = excluded.status, finished_at = excluded.finished_at,
            rows_read = excluded.rows_read, rows_rejected = excluded.rows_rejected,
            customers_found = excluded.customers_found, duplicates_collapsed = excluded.duplicates_collapsed,
            customers_created = excluded.customers_created,
            customers_known_to_zoho = excluded.customers_known_to_zoho, invoices_found = excluded.invoices_found,
            invoices_linked = excluded.invoices_linked, invoices_unlinked = excluded.invoices_unlinked,
            phones_valid = excluded.phones_valid, phones_invalid = excluded.phones_invalid,
            phones_recovered = excluded.phones_recovered, report = excluded.report,
            failed_checks = excluded.failed_checks
        """,
        {**{k: c[k] for k in ("rows_read", "rows_rejected", "customers_found", "duplicates_collapsed",
                              "customers_created", "customers_known_to_zoho", "invoices_found",
                              "invoices_linked", "invoices_unlinked", "phones_valid", "phones_invalid",
                              "phones_recovered")},
         "run_id": report.run_id, "source_table": report.source_table,
         "status": "success" if report.ok else "failed",
         "report": Jsonb(c), "failed_checks": Jsonb(report.failed_checks)})
