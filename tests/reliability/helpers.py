"""Shared helpers of the fault suite: row checksums, the tenant lock (clients on the sandbox, a
tenant's sync and queries are in tests/helpers.py, shared with tests/integration).

Row checksums: every row of a table is reduced to the md5 of its ``to_jsonb`` minus the columns
that legitimately differ between two runs over the same data (load timestamps such as
``_synced_at`` / ``updated_at``, and, when two tenants are compared, ``user_id`` and the uuids
derived from it). Two runs "converge" when the resulting ``{natural key: md5}`` maps are equal, so a
difference names the rows that differ.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from psycopg import sql

from zoho.warehouse import connection as warehouse

# Columns that record when a row was loaded, not what it says (``seen_generation``: which nightly
# sweep last saw the row, a count of the sweeps run).
LOAD_TIMESTAMPS = ("_synced_at", "persons_synced_at", "deleted_at", "checked_at", "rejected_at",
                   "updated_at", "created_at", "seen_generation")

# (table, natural key expression, columns left out) of the raw landing tables and the sync state.
RAW_TABLES = (
    ("zoho_raw.contacts", "contact_id", ("user_id",)),
    ("zoho_raw.contact_persons", "contact_person_id", ("user_id",)),
    ("zoho_raw.invoices", "invoice_id", ("user_id",)),
    ("zoho_raw.missing_contacts", "contact_id", ("user_id",)),
    ("zoho_sync.rejected_records", "entity || ':' || payload_hash || ':' || reason", ("id", "user_id", "run_id")),
)
# sync_metadata: what the state says (watermark, status, mode, error, missing customers); the
# counters describe one run's work (a retry upserts less than a first try) and are not compared.
METADATA_COLUMNS = ("entity", "watermark", "status", "last_mode", "last_error", "missing_customers")


def table_checksums(uri, table: str, key: str, user_id: str, drop: Iterable[str] = ()) -> dict[str, str]:
    """``{natural key: md5 of the row without the dropped columns and the load timestamps}`` for
    one tenant's rows of ``table`` (a fixed name from this file, never input)."""
    schema_name, table_name = table.split(".")
    stmt = sql.SQL("select ({key})::text, md5((to_jsonb(t) - %s::text[])::text) from {table} t "
                   "where t.user_id = %s").format(key=sql.SQL(key),
                                                   table=sql.Identifier(schema_name, table_name))
    with warehouse.connect(uri) as conn:
        return dict(conn.execute(stmt, (list(drop) + list(LOAD_TIMESTAMPS), user_id)).fetchall())


def raw_state(uri, user_id: str) -> dict[str, dict]:
    """The tenant's raw tables and sync state, as checksums (see the module docstring)."""
    state = {table: table_checksums(uri, table, key, user_id, drop) for table, key, drop in RAW_TABLES}
    cols = sql.SQL(", ").join(map(sql.Identifier, METADATA_COLUMNS))
    with warehouse.connect(uri) as conn:
        meta = conn.execute(sql.SQL("select {} from zoho_sync.sync_metadata where user_id = %s order by entity")
                            .format(cols), (user_id,)).fetchall()
    state["zoho_sync.sync_metadata"] = {m[0]: m[1:] for m in meta}
    return state


def assert_same_state(actual: dict, expected: dict) -> None:
    """Equal checksums table by table; on a difference, say which rows differ."""
    assert actual.keys() == expected.keys()
    for table in expected:
        got, want = actual[table], expected[table]
        if got != want:
            missing = sorted(set(want) - set(got))[:5]
            extra = sorted(set(got) - set(want))[:5]
            changed = sorted(k for k in set(got) & set(want) if got[k] != want[k])[:5]
            raise AssertionError(f"{table}: {len(got)} rows vs {len(want)} in the clean run; missing {missing}, "
                                 f"unexpected {extra}, different {changed}")


# ------------------------------------------------------------------------------ marts, per tenant
# Columns derived from the user_id (the md5 uuids) or recording load time are left out; the rows are
# keyed by Zoho's ids, so two tenants holding the same Zoho data compare equal. The uuids themselves
# are checked against their formula separately (``assert_ids_follow_the_formula``).
MART_QUERIES = {
    "analytics.customers_cache": """
        select zoho_customer_id, md5((to_jsonb(t) - %(drop)s::text[])::text)
        from analytics.customers_cache t where user_id = %(user_id)s""",
    "analytics.invoices_cache": """
        select zoho_invoice_id, md5((to_jsonb(t) - %(drop)s::text[])::text)
        from analytics.invoices_cache t where user_id = %(user_id)s""",
    "analytics.payment_reminders": """
        select i.zoho_invoice_id || ':' || r.offset_days,
               md5((to_jsonb(r) - %(drop)s::text[]
                    || jsonb_build_object('zoho_invoice_id', i.zoho_invoice_id,
                                          'zoho_customer_id', c.zoho_customer_id))::text)
        from analytics.payment_reminders r
        join analytics.invoices_cache i on i.id = r.invoice_id
        left join analytics.customers_cache c on c.id = r.customer_id
        where r.user_id = %(user_id)s""",
    "analytics.invoices_with_customer": """
        select zoho_invoice_id, md5((to_jsonb(t) - %(drop)s::text[])::text)
        from analytics.invoices_with_customer t where user_id = %(user_id)s""",
    "analytics.reminders_with_customer": """
        select zoho_invoice_id || ':' || offset_days, md5((to_jsonb(t) - %(drop)s::text[])::text)
        from analytics.reminders_with_customer t where user_id = %(user_id)s""",
}
DERIVED_IDS = ("user_id", "id", "customer_id", "invoice_id")


def mart_state(uri, user_id: str) -> dict[str, dict]:
    drop = list(DERIVED_IDS) + list(LOAD_TIMESTAMPS)
    with warehouse.connect(uri) as conn:
        return {table: dict(conn.execute(q, {"drop": drop, "user_id": user_id}).fetchall())
                for table, q in MART_QUERIES.items()}


def assert_ids_follow_the_formula(uri, user_id: str) -> None:
    """The uuids are md5(user_id | zoho id) (docs/ARCHITECTURE.md "Ids"), for this tenant's rows."""
    checks = {
        "customers": "select count(*) from analytics.customers_cache where user_id = %(u)s "
                     "and id <> md5(user_id || '|' || zoho_customer_id)::uuid",
        "invoices": "select count(*) from analytics.invoices_cache where user_id = %(u)s "
                    "and (id <> md5(user_id || '|' || zoho_invoice_id)::uuid "
                    "or customer_id is distinct from (select c.id from analytics.customers_cache c "
                    "where c.user_id = invoices_cache.user_id and c.zoho_customer_id = invoices_cache.zoho_customer_id))",
        "reminders": "select count(*) from analytics.payment_reminders r join analytics.invoices_cache i "
                     "on i.id = r.invoice_id where r.user_id = %(u)s and i.user_id <> r.user_id",
    }
    with warehouse.connect(uri) as conn:
        bad = {name: conn.execute(q, {"u": user_id}).fetchone()[0] for name, q in checks.items()}
    assert bad == {name: 0 for name in checks}, bad


# ------------------------------------------------------------------------------ the tenant lock
def tenant_lock_pids(conn, user_id: str, modes=("full", "incremental")) -> list[int]:
    """Backends of this database holding the tenant's sync lock of one of ``modes`` (one lock per run
    kind; ``pg_advisory_lock(bigint)``: the key's high half is ``classid``, its low half ``objid``)."""
    return [r[0] for r in conn.execute(
        """
        with k as (select hashtextextended('zoho_sync:' || %s || ':' || m, 0) as key from unnest(%s::text[]) m)
        select l.pid from pg_locks l, k
        where l.locktype = 'advisory' and l.granted and l.objsubid = 1
          and l.database = (select oid from pg_database where datname = current_database())
          and l.classid::bigint = ((k.key >> 32) & 4294967295)
          and l.objid::bigint = (k.key & 4294967295)
        """, (user_id, list(modes))).fetchall()]


@dataclass
class BackendKiller:
    """A thread that ``pg_terminate_backend``s the session syncing ``user_id`` as soon as it is in
    one of ``states`` (e.g. ``idle in transaction``: a batch written but not committed) and
    ``ready()`` says the window is open. ``killed`` lists what it terminated (one backend at most)."""

    uri: str
    user_id: str
    states: tuple = ("idle in transaction",)
    ready: Callable[[], bool] = lambda: True
    timeout: float = 120.0
    killed: list = field(default_factory=list)

    def __post_init__(self):
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"killer-{self.user_id}", daemon=True)

    def start(self) -> "BackendKiller":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        deadline = time.monotonic() + self.timeout
        with warehouse.connect(self.uri, autocommit=True) as conn:
            while not self._stop.is_set() and time.monotonic() < deadline:
                if self.ready():
                    for pid in tenant_lock_pids(conn, self.user_id):
                        state = conn.execute("select state from pg_stat_activity where pid = %s", (pid,)).fetchone()
                        if state and state[0] in self.states:
                            conn.execute("select pg_terminate_backend(%s)", (pid,))
                            self.killed.append(pid)
                            return
                time.sleep(0.02)


def wait_until(predicate: Callable[[], bool], timeout: float = 30.0, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
