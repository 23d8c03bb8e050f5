"""The quality gate on the marts (docs/CONTRACT.md "Validate"), with Great Expectations 1.x.

``run_quality_gate(warehouse_uri, run_id)`` validates ``analytics.customers_cache`` and
``analytics.invoices_cache`` in an ephemeral GX context (nothing written to disk, no data docs),
stores one row per expectation in ``zoho_sync.quality_results`` (the rows of the same ``run_id`` are
replaced, so a re-run is idempotent) and returns a ``GateResult`` whose ``summary()`` is written to
the task log. ``gate_passed(conn, run_id)`` is what the reminder step asks: true only when the
run's rows exist and all succeeded.

The expectations (``EXPECTATIONS``): ids and natural keys not null; natural keys unique (compound);
``primary_phone`` E.164 (nulls allowed: a customer may have no phone); customer status
active/inactive; invoice status one of Zoho's; ``balance`` between 0 and ``total``; no orphan
``invoices_cache.customer_id`` (GX has no cross-table expectation: an ``UnexpectedRowsExpectation``
with a SQL query). Column expectations run with result format SUMMARY (counts and a few example
values); the query expectation with COMPLETE (GX fetches at most 200 rows; a few are kept).

Stored details are a short summary: the expectation's arguments, counts, up to ``MAX_EXAMPLES``
unexpected values or rows, and an exception message if the expectation could not run. The
warehouse password is never stored or logged (it is masked in any text that could carry it).

Great Expectations is imported when a gate runs, not when this module is imported (the import
takes seconds), so ``gate_passed`` and DAG parsing stay cheap.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

import psycopg
from psycopg.types.json import Jsonb

from zoho.reminders.policy import ZOHO_INVOICE_STATUSES
from zoho.rules.jsondata import jsonable
from zoho.rules.redaction import redact
from zoho.warehouse import connection as warehouse

log = logging.getLogger(__name__)

MARTS_SCHEMA = "analytics"
CUSTOMERS = "customers_cache"
INVOICES = "invoices_cache"
E164 = r"^\+[1-9][0-9]{6,14}$"
CUSTOMER_STATUSES = ("active", "inactive")
MAX_EXAMPLES = 5
MAX_TEXT = 300  # characters of an exception message kept

# Orphans: a non-null customer_id without its customer (of the same tenant) in customers_cache.
# GX puts the invoices_cache batch, already aliased, in place of {batch}; it runs the text through
# sqlalchemy.text (no "::" casts).
ORPHAN_CUSTOMERS_QUERY = f"""
select invoices.user_id, invoices.zoho_invoice_id, invoices.customer_id
from (select user_id, zoho_invoice_id, customer_id from {{batch}}) as invoices
where invoices.customer_id is not null
  and not exists (
      select 1 from {MARTS_SCHEMA}.{CUSTOMERS} as customers
      where customers.id = invoices.customer_id and customers.user_id = invoices.user_id
  )
"""


@dataclass(frozen=True)
class Check:
    """One expectation: the table it runs on, the column(s) it is about, how to build it."""

    table: str
    column: str | None
    build: Callable[[object], object]  # gx.expectations module -> Expectation
    description: str
    query: bool = False  # an UnexpectedRowsExpectation (result format COMPLETE)


EXPECTATIONS: tuple[Check, ...] = (
    *(Check(CUSTOMERS, col, lambda gxe, col=col: gxe.ExpectColumnValuesToNotBeNull(column=col),
            f"{col} is never null") for col in ("id", "user_id", "zoho_customer_id")),
    Check(CUSTOMERS, "user_id,zoho_customer_id",
          lambda gxe: gxe.ExpectCompoundColumnsToBeUnique(column_list=["user_id", "zoho_customer_id"]),
          "one row per (user_id, zoho_customer_id)"),
    Check(CUSTOMERS, "primary_phone",
          lambda gxe: gxe.ExpectColumnValuesToMatchRegex(column="primary_phone", regex=E164),
          "primary_phone is E.164 (or null)"),
    Check(CUSTOMERS, "status",
          lambda gxe: gxe.ExpectColumnValuesToBeInSet(column="status", value_set=list(CUSTOMER_STATUSES)),
          "customer status is active or inactive"),
    *(Check(INVOICES, col, lambda gxe, col=col: gxe.ExpectColumnValuesToNotBeNull(column=col),
            f"{col} is never null") for col in ("id", "user_id", "zoho_invoice_id")),
    Check(INVOICES, "user_id,zoho_invoice_id",
          lambda gxe: gxe.ExpectCompoundColumnsToBeUnique(column_list=["user_id", "zoho_invoice_id"]),
          "one row per (user_id, zoho_invoice_id)"),
    Check(INVOICES, "status",
          lambda gxe: gxe.ExpectColumnValuesToBeInSet(column="status", value_set=list(ZOHO_INVOICE_STATUSES)),
          "invoice status is one of Zoho's (or null)"),
    Check(INVOICES, "balance",
          lambda gxe: gxe.ExpectColumnValuesToBeBetween(column="balance", min_value=0),
          "balance is not negative"),
    Check(INVOICES, "total,balance",
          lambda gxe: gxe.ExpectColumnPairValuesAToBeGreaterThanB(
              column_A="total", column_B="balance", or_equal=True, ignore_row_if="either_value_is_missing"),
          "balance is at most total"),
    Check(INVOICES, "customer_id",
          lambda gxe: gxe.UnexpectedRowsExpectation(unexpected_rows_query=ORPHAN_CUSTOMERS_QUERY),
          "every non-null customer_id is a customers_cache.id of the same tenant", query=True),
)


class QualityGateError(RuntimeError):
    """The gate could not run at all (marts missing, warehouse unreachable); message without secrets."""


@dataclass(frozen=True)
class ExpectationResult:
    expectation: str  # the GX expectation type, e.g. expect_column_values_to_match_regex
    table_name: str   # schema-qualified: analytics.invoices_cache
    column_name: str | None
    success: bool
    unexpected_count: int | None
    details: dict

    def line(self) -> str:
        count = "?" if self.unexpected_count is None else str(self.unexpected_count)
        text = (f"{self.table_name} [{self.column_name or '*'}] {self.expectation} "
                f"({self.details.get('description')}): {count} unexpected")
        if self.details.get("examples"):
            text += f", e.g. {self.details['examples']}"
        if self.details.get("exception"):
            text += f"; could not run: {self.details['exception']}"
        return text


@dataclass
class GateResult:
    run_id: str
    results: list[ExpectationResult] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def success(self) -> bool:
        return bool(self.results) and all(r.success for r in self.results)

    @property
    def failed(self) -> list[ExpectationResult]:
        return [r for r in self.results if not r.success]

    def summary(self) -> str:
        """For the task log: one line, then one line per failed expectation."""
        if self.success:
            return (f"quality gate {self.run_id}: PASSED, {len(self.results)} expectations "
                    f"in {self.seconds:.1f} s")
        lines = [f"quality gate {self.run_id}: FAILED, {len(self.failed)} of {len(self.results)} expectations "
                 f"failed in {self.seconds:.1f} s (reminders are withheld)"]
        lines += [f"  - {r.line()}" for r in self.failed]
        return "\n".join(lines)


# --- running ---------------------------------------------------------------------------------------

def upstream_failure(failed_tasks: list[str]) -> ExpectationResult:
    """A failed gate row for dbt models or tests that failed in the same run (their data is suspect)."""
    return ExpectationResult(
        expectation="dbt_models_and_tests_succeeded", table_name="dbt", column_name=None, success=False,
        unexpected_count=len(failed_tasks),
        details={"description": "every dbt model and test task of the run succeeded",
                 "examples": sorted(failed_tasks)[:MAX_EXAMPLES]})


def run_quality_gate(warehouse_uri: str, run_id: str, failed_dbt_tasks: list[str] | None = None) -> GateResult:
    """Validate the marts, store one row per expectation for ``run_id`` (replacing earlier ones).

    ``failed_dbt_tasks``: dbt model/test tasks of the run that did not succeed; any fails the gate.
    """
    started = time.monotonic()
    secrets = _secrets(warehouse_uri)
    try:
        results = _validate(warehouse_uri)
    except Exception as exc:  # GX wraps most failures; the message may carry the URL
        raise QualityGateError(f"quality gate {run_id} could not run: "
                               f"{redact(f'{type(exc).__name__}: {exc}', secrets)}") from None
    results = [_redact_result(r, secrets) for r in results]
    if failed_dbt_tasks:
        results.append(upstream_failure(failed_dbt_tasks))
    gate = GateResult(run_id=run_id, results=results, seconds=time.monotonic() - started)
    with warehouse.connect(warehouse_uri) as conn:
        store_results(conn, gate)
    log.info("%s", gate.summary())
    return gate


def _validate(warehouse_uri: str) -> list[ExpectationResult]:
    import great_expectations as gx
    import great_expectations.expectations as gxe
    from great_expectations.core.result_format import ResultFormat
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    datasource = context.data_sources.add_postgres(
        name="warehouse", connection_string=warehouse.sqlalchemy_url(warehouse_uri))
    try:
        batches = {}
        for table in (CUSTOMERS, INVOICES):
            asset = datasource.add_table_asset(name=table, table_name=table, schema_name=MARTS_SCHEMA)
            batches[table] = asset.add_batch_definition_whole_table(f"{table}_whole")

        # One suite per (table, result format): column checks summarised, query checks with rows.
        groups: dict[tuple[str, bool], list[int]] = {}
        for index, check in enumerate(EXPECTATIONS):
            groups.setdefault((check.table, check.query), []).append(index)
        results: dict[int, ExpectationResult] = {}
        for (table, query), indexes in groups.items():
            name = f"{table}_{'rows' if query else 'columns'}"
            suite = context.suites.add(gx.ExpectationSuite(name=name))
            for index in indexes:
                expectation = EXPECTATIONS[index].build(gxe)
                expectation.description = EXPECTATIONS[index].description
                expectation.meta = {"check": index}
                suite.add_expectation(expectation)
            definition = context.validation_definitions.add(
                gx.ValidationDefinition(name=name, data=batches[table], suite=suite))
            result_format = ({"result_format": ResultFormat.COMPLETE} if query else
                             {"result_format": ResultFormat.SUMMARY, "partial_unexpected_count": MAX_EXAMPLES})
            outcome = definition.run(result_format=result_format)
            for r in outcome.results:
                index = r.expectation_config.meta["check"]
                results[index] = _to_result(EXPECTATIONS[index], r)
        missing = [EXPECTATIONS[i].description for i in range(len(EXPECTATIONS)) if i not in results]
        if missing:
            raise RuntimeError(f"Great Expectations returned no result for: {missing}")
        return [results[i] for i in sorted(results)]
    finally:
        with contextlib.suppress(Exception):  # never hide the error that got us here
            datasource.get_engine().dispose()


def _to_result(check: Check, r) -> ExpectationResult:
    config = r.expectation_config
    res = dict(r.result or {})
    kwargs = {k: v for k, v in config.kwargs.items() if k not in ("batch_id", "unexpected_rows_query")}
    details: dict = {"description": check.description, "kwargs": jsonable(kwargs, _plain)}
    if check.query:
        unexpected = res.get("observed_value")
        rows = (res.get("details") or {}).get("unexpected_rows") or []
        examples = [jsonable(row, _plain) for row in rows[:MAX_EXAMPLES]]
    else:
        unexpected = res.get("unexpected_count")
        examples = [jsonable(v, _plain) for v in (res.get("partial_unexpected_list") or [])[:MAX_EXAMPLES]]
        for key in ("element_count", "missing_count", "unexpected_percent"):
            if res.get(key) is not None:
                details[key] = jsonable(res[key], _plain)
    if examples:
        details["examples"] = examples
    error = _exception_message(r.exception_info)
    if error:
        details["exception"] = error[:MAX_TEXT]
    return ExpectationResult(expectation=config.type, table_name=f"{MARTS_SCHEMA}.{check.table}",
                             column_name=check.column,
                             success=bool(r.success), unexpected_count=None if unexpected is None else int(unexpected),
                             details=details)


def _exception_message(info) -> str | None:
    """GX reports an exception either at the top of ``exception_info`` or per metric below it."""
    if not isinstance(info, dict):
        return None
    if info.get("raised_exception"):
        return str(info.get("exception_message"))
    for value in info.values():
        if isinstance(value, dict) and value.get("raised_exception"):
            return str(value.get("exception_message"))
    return None


def _plain(value):
    """A leaf of the stored details as a plain JSON value (``jsonable`` walks the dicts and lists):
    decimals, dates and UUIDs as text, NaN as null, a set as a list, anything unknown as its text."""
    if isinstance(value, set):
        return jsonable(list(value), _plain)
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, float) and value != value:  # NaN is not JSON
        return None
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


# --- secrets --------------------------------------------------------------------------------------

def _secrets(uri: str) -> list[str]:
    """What must never be stored or logged: the password (raw and URL-encoded)."""
    password = urlsplit(uri).password
    if not password:
        return []
    return sorted({password, unquote(password)}, key=len, reverse=True)


def _redact_result(result: ExpectationResult, secrets: list[str]) -> ExpectationResult:
    if not secrets:
        return result
    details = jsonable(result.details, lambda v: redact(v, secrets) if isinstance(v, str) else v)
    return ExpectationResult(result.expectation, result.table_name, result.column_name, result.success,
                             result.unexpected_count, details)


# --- storing and reading -----------------------------------------------------------------------------

def store_results(conn: psycopg.Connection, gate: GateResult) -> None:
    """Replace the rows of ``gate.run_id`` in ``zoho_sync.quality_results`` (one transaction)."""
    with conn.transaction(), conn.cursor() as cur:
        cur.execute("delete from zoho_sync.quality_results where run_id = %s", (gate.run_id,))
        cur.executemany(
            "insert into zoho_sync.quality_results "
            "(run_id, success, expectation, table_name, column_name, unexpected_count, details) "
            "values (%s, %s, %s, %s, %s, %s, %s)",
            [(gate.run_id, r.success, r.expectation, r.table_name, r.column_name,
              r.unexpected_count, Jsonb(r.details)) for r in gate.results])


def gate_passed(conn: psycopg.Connection, run_id: str) -> bool:
    """True only when the gate stored rows for ``run_id`` and every one of them succeeded."""
    row = conn.execute("select count(*) > 0 and bool_and(success) from zoho_sync.quality_results "
                       "where run_id = %s", (run_id,)).fetchone()
    return bool(row[0])
