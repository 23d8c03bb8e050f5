"""The Alembic migrations on a real database: upgrade, downgrade, upgrade again."""
from __future__ import annotations

from zoho.warehouse import schema
from zoho.warehouse import connection as warehouse

OWNED_TABLES = {
    "zoho_raw.contacts", "zoho_raw.contact_persons", "zoho_raw.invoices", "zoho_raw.missing_contacts",
    "zoho_sync.sync_metadata", "zoho_sync.rejected_records", "zoho_sync.quality_results",
    "analytics.payment_reminders",
    "zoho_raw.legacy_customers", "zoho_raw.legacy_invoices", "zoho_sync.legacy_backfill_runs",
    "zoho_sync.api_budget", "zoho_sync.api_calls", "zoho_sync.sweeps",
    "zoho_sync.budget_planner",  # a view (information_schema.tables lists views too)
    "analytics.payment_reminder_events", "zoho_sync.api_grants",  # 0007
    "zoho_sync.tenant_roles",  # 0008
}


def _tables(uri: str) -> set[str]:
    with warehouse.connect(uri) as conn:
        rows = conn.execute(
            "select table_schema || '.' || table_name from information_schema.tables "
            "where table_schema in ('zoho_raw', 'zoho_sync', 'analytics')").fetchall()
    return {r[0] for r in rows} - {"zoho_sync.alembic_version"}


def test_upgrade_downgrade_upgrade_round_trips(make_database):
    uri = make_database("mig", migrate=False)
    assert _tables(uri) == set()
    schema.upgrade(uri)
    assert _tables(uri) == OWNED_TABLES
    assert schema.current_revision(uri) is not None
    schema.downgrade(uri, "base")
    assert _tables(uri) == set()
    assert schema.current_revision(uri) is None
    schema.upgrade(uri)
    assert _tables(uri) == OWNED_TABLES


def test_upgrade_is_idempotent(make_database):
    uri = make_database("mig", migrate=False)
    schema.upgrade(uri)
    head = schema.current_revision(uri)
    schema.upgrade(uri)
    assert schema.current_revision(uri) == head
    assert _tables(uri) == OWNED_TABLES


def test_cli_reads_the_airflow_connection_variable(make_database, monkeypatch, capsys):
    uri = make_database("mig", migrate=False)
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE_DEFAULT", uri.replace("postgresql://", "postgres://"))
    schema.main(["upgrade"])
    assert "warehouse schema at" in capsys.readouterr().out
    assert _tables(uri) == OWNED_TABLES


def test_the_budget_planner_migration_downgrades_and_upgrades_alone(make_database):
    uri = make_database("mig", migrate=False)
    schema.upgrade(uri)
    head = schema.current_revision(uri)

    def planner_objects() -> list[str]:
        with warehouse.connect(uri) as conn:
            return list(conn.execute(
                "select coalesce(to_regclass('zoho_sync.budget_planner')::text, '-'), "
                "coalesce(to_regclass('zoho_raw.contacts_persons_pending')::text, '-')").fetchone())

    assert planner_objects() == ["zoho_sync.budget_planner", "zoho_raw.contacts_persons_pending"]
    schema.downgrade(uri, "0005")
    assert schema.current_revision(uri) == "0005" and planner_objects() == ["-", "-"]
    assert "zoho_sync.sweeps" in _tables(uri)
    schema.upgrade(uri)
    assert schema.current_revision(uri) == head and planner_objects()[0] == "zoho_sync.budget_planner"
