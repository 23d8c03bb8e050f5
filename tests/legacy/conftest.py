"""Fixtures for the legacy migration: the sandbox (Zoho), two warehouses (one per order of runs),
the generated legacy table, and whole-DAG runs with ``dag.test()``."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from psycopg.rows import dict_row

from tests.legacy import data
from zoho.warehouse import connection as warehouse

ROOT = Path(__file__).resolve().parents[2]
SIZE = {"seed": 31, "orgs": 2, "contacts_per_org": 40, "invoices_per_org": 150,
        "per_minute_limit": None, "daily_limit": None, "max_concurrent": None}
DEFAULT_SOURCE = "legacy.invoices_cache"
OTHER_SOURCE = "old_system.invoice_rows"  # order B reads the same rows from a table of another name


def load_dags() -> dict:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "dags"))
    assert bag.import_errors == {}
    return bag.dags


def rows(uri: str, query: str, *params) -> list[dict]:
    with warehouse.connect(uri) as conn, conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(query, params).fetchall()


def scalar(uri: str, query: str, *params):
    with warehouse.connect(uri) as conn:
        return conn.execute(query, params).fetchone()[0]


SNAPSHOT_QUERIES = {
    "customers": "select * from analytics.customers_cache order by user_id, zoho_customer_id",
    "invoices": "select * from analytics.invoices_cache order by user_id, zoho_invoice_id",
    "legacy_customers": "select * from zoho_raw.legacy_customers order by user_id, customer_id",
    "legacy_invoices": "select * from zoho_raw.legacy_invoices order by user_id, invoice_id",
    "rejected": "select user_id, entity, zoho_id, reason, payload, payload_hash from zoho_sync.rejected_records "
                "where entity = 'legacy_invoices' order by user_id, payload_hash, reason",
    "reports": "select * from zoho_sync.legacy_backfill_runs order by started_at",
}


def snapshot(uri: str) -> dict[str, list[dict]]:
    out = {}
    for name, query in SNAPSHOT_QUERIES.items():
        try:
            out[name] = rows(uri, query)
        except Exception:  # noqa: BLE001 - the marts do not exist before the first dbt run
            out[name] = []
    return out


@dataclass
class Run:
    dag_id: str
    state: str
    states: dict[str, str]
    run_id: str
    seconds: float


@dataclass
class Deployment:
    sb: object
    table: data.LegacyTable
    uri_a: str
    uri_b: str
    mp: pytest.MonkeyPatch
    started: datetime = field(default_factory=lambda: datetime.now(timezone.utc).replace(microsecond=0))
    runs: list[Run] = field(default_factory=list)
    _n: int = 0
    _dags: dict = field(default_factory=dict)

    def dag(self, dag_id: str, uri: str):
        """The DAG as parsed for one warehouse. In a deployment every task parses its DAG afresh; in
        this one process, cosmos keeps the connection it first read in the parsed DAG's profile
        mapping, so each warehouse gets its own parse."""
        if uri not in self._dags:
            self._dags[uri] = load_dags()
        return self._dags[uri][dag_id]

    def run(self, dag_id: str, uri: str, conf: dict | None = None, task_ids: list[str] | None = None) -> Run:
        """One whole-DAG run against the warehouse ``uri`` (each run gets its own logical date);
        ``task_ids``: only those tasks (a partial run, e.g. the report alone)."""
        self.mp.setenv("AIRFLOW_CONN_WAREHOUSE_DEFAULT", uri)
        dag = self.dag(dag_id, uri)
        if task_ids:
            dag = dag.partial_subset(task_ids=task_ids, include_upstream=False)
        self._n += 1
        when = self.started + timedelta(minutes=self._n)
        t0 = time.monotonic()
        dr = dag.test(logical_date=when, run_after=when, run_conf=conf)
        states = {ti.task_id + (f"[{ti.map_index}]" if ti.map_index >= 0 else ""): ti.state
                  for ti in dr.get_task_instances()}
        run = Run(dag.dag_id, dr.state, states, dr.run_id, round(time.monotonic() - t0, 1))
        self.runs.append(run)
        print(f"{run.dag_id} on {uri.rsplit('/', 1)[-1]}: {run.state} in {run.seconds} s")
        return run


@pytest.fixture(scope="module")
def deployment(sandbox_factory, make_database):
    """Sandbox (limits off: speed) + two fresh warehouses holding the same legacy table (under two names),
    wired through AIRFLOW_* variables as a deployment would be."""
    sb = sandbox_factory(**SIZE)
    table = data.build(sb)
    uri_a, uri_b = make_database("legacy_a"), make_database("legacy_b")
    with warehouse.connect(uri_a, autocommit=True) as conn:
        data.create_table(conn, DEFAULT_SOURCE, table)
    with warehouse.connect(uri_b, autocommit=True) as conn:
        data.create_table(conn, OTHER_SOURCE, table)
    mp = pytest.MonkeyPatch()
    for key, value in sb.airflow_env().items():
        mp.setenv(key, value)
    mp.delenv("AIRFLOW_VAR_ZOHO_REMINDER_POLICY", raising=False)
    yield Deployment(sb, table, uri_a, uri_b, mp)
    mp.undo()


def tenant_countries(sb) -> dict[str, str]:
    return {**{o.user_id: o.country for o in sb.organizations}, data.UNCONFIGURED_TENANT: "US"}


def sync_directly(sb, uri: str, dbt_target: Path) -> float:
    """A first Zoho sync without Airflow: the extract the sync DAGs' tasks run, for every tenant, then
    one ``dbt build`` (the same models the DAGs' dbt tasks build)."""
    from tests.dbt.conftest import Dbt
    from zoho.books.client import ZohoBooksClient
    from zoho.sync.extract import Tenant, sync_tenant

    t0 = time.monotonic()
    for org in sb.organizations:
        conn = sb.airflow_connection(org)
        client = ZohoBooksClient.from_connection_fields(
            conn["login"], conn["password"], {**conn["extra"], "requests_per_minute": 100_000, "max_concurrent": 8},
            tenant=org.user_id)
        sync_tenant(client, uri, Tenant(org.user_id, org.country), "full", run_id="direct-full-sync")
    Dbt(uri, dbt_target)("build")
    return round(time.monotonic() - t0, 1)
