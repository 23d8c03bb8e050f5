"""Roles (migration 0003): ``zoho_pipeline`` writes, ``zoho_analyst`` reads ``analytics`` and nothing else.

On the warehouse of the whole-DAG run (marts, views and reminders built by a real run): a LOGIN user
that is a member of ``zoho_analyst`` reads every mart, view and the reminders, is refused the raw
payloads (``zoho_raw``), the sync state (``zoho_sync``), dbt's staging views and anything else, and
may write nothing in ``analytics``. After a dbt ``--full-refresh`` (dbt drops and recreates the
tables and views) the analyst still reads them: default privileges of the role that runs dbt.
"""
from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from zoho.warehouse import schema
from zoho.warehouse import connection as warehouse

pytestmark = [pytest.mark.integration]

ROOT = Path(__file__).resolve().parents[2]
ANALYTICS = ("analytics.customers_cache", "analytics.invoices_cache", "analytics.payment_reminders",
             "analytics.invoices_with_customer", "analytics.reminders_with_customer")
FORBIDDEN = ("zoho_raw.contacts", "zoho_raw.contact_persons", "zoho_raw.invoices", "zoho_raw.missing_contacts",
             "zoho_sync.sync_metadata", "zoho_sync.rejected_records", "zoho_sync.quality_results",
             "zoho_staging.stg_zoho_books__contacts", "public.x")
WRITES = (
    "insert into analytics.payment_reminders (id, user_id, invoice_id, offset_days, scheduled_for, status) "
    "values (gen_random_uuid(), 'x', gen_random_uuid(), 0, current_date, 'pending')",
    "update analytics.payment_reminders set status = 'sent'",
    "delete from analytics.customers_cache",
    "truncate analytics.invoices_cache",
    "create table analytics.analyst_scratch (x int)",
)


def as_user(uri: str, user: str) -> str:
    parts = urlsplit(uri)
    return urlunsplit((parts.scheme, f"{user}@{parts.hostname}:{parts.port}", parts.path, "", ""))


@pytest.fixture
def login_user(whole_run):
    """``login_user(group)``: a new LOGIN role, member of ``group``; dropped afterwards."""
    made = []

    def make(group: str) -> str:
        name = f"{group}_t_{uuid.uuid4().hex[:8]}"
        with warehouse.connect(whole_run.uri, autocommit=True) as conn:
            conn.execute(f'create role "{name}" login in role "{group}"')
        made.append(name)
        return as_user(whole_run.uri, name)

    yield make
    with warehouse.connect(whole_run.uri, autocommit=True) as conn:
        for name in made:
            conn.execute(f'drop role if exists "{name}"')


def check_analyst(uri: str) -> dict:
    """What the analyst can do: rows per analytics relation; every forbidden read and write refused."""
    counts = {}
    with psycopg.connect(uri, autocommit=True) as conn:
        for rel in ANALYTICS:
            counts[rel] = conn.execute(f"select count(*) from {rel}").fetchone()[0]
        for rel in FORBIDDEN:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f"select * from {rel} limit 1")
        for stmt in WRITES:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(stmt)
    return counts


def dbt_full_refresh(uri: str, target: Path) -> None:
    sys.path.insert(0, str(ROOT / "dbt_project"))
    from dbt_env import env_for_uri

    env = {**os.environ, **env_for_uri(uri), "DBT_THREADS": "2", "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
           "DO_NOT_TRACK": "1"}
    dbt = Path(sys.executable).with_name("dbt")
    proc = subprocess.run([str(dbt), "run", "--full-refresh", "--select", "path:models/marts",
                           "--project-dir", str(ROOT / "dbt_project"), "--profiles-dir", str(ROOT / "dbt_project"),
                           "--target-path", str(target), "--log-path", str(target / "logs")],
                          env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]


@pytest.mark.slow
def test_the_analyst_reads_analytics_only_and_keeps_reading_after_a_full_refresh(whole_run, login_user, tmp_path):
    analyst = login_user("zoho_analyst")
    before = check_analyst(analyst)
    assert all(before.values()), before  # real rows everywhere

    def oids():
        with warehouse.connect(whole_run.uri) as conn:
            return {rel: conn.execute("select %s::regclass::oid", (rel,)).fetchone()[0] for rel in ANALYTICS}

    oids_before = oids()
    dbt_full_refresh(whole_run.uri, tmp_path)
    recreated = {rel for rel, oid in oids().items() if oid != oids_before[rel]}
    assert {"analytics.customers_cache", "analytics.invoices_cache"} <= recreated  # dbt built new tables
    assert check_analyst(analyst) == before


def test_the_pipeline_role_writes_raw_sync_and_analytics(whole_run, login_user):
    pipeline = login_user("zoho_pipeline")
    with psycopg.connect(pipeline) as conn:
        assert conn.execute("select count(*) from zoho_raw.contacts").fetchone()[0] > 0
        conn.execute("update zoho_sync.sync_metadata set last_error = last_error")
        conn.execute("update analytics.payment_reminders set updated_at = updated_at")
        conn.execute("insert into zoho_sync.rejected_records (user_id, entity, reason, payload, payload_hash) "
                     "values ('role-test', 'invoices', 'test', '{}', 'x')")  # bigserial: the sequence too
        conn.execute("create temp table scratch (x int)")
        conn.rollback()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("select * from public.x")


def _role_privileges(conn) -> int:
    """Privileges the two roles hold in this database (schemas, relations, defaults, the database)."""
    return conn.execute(
        """
        with r as (select oid from pg_roles where rolname in ('zoho_pipeline', 'zoho_analyst'))
        select (select count(*) from pg_namespace n, aclexplode(n.nspacl) a where a.grantee in (select oid from r))
             + (select count(*) from pg_class c, aclexplode(c.relacl) a where a.grantee in (select oid from r))
             + (select count(*) from pg_default_acl d, aclexplode(d.defaclacl) a where a.grantee in (select oid from r))
             + (select count(*) from pg_database d, aclexplode(d.datacl) a
                where d.datname = current_database() and a.grantee in (select oid from r))
        """).fetchone()[0]


def test_migration_creates_idempotently_and_the_downgrade_revokes_and_drops_when_unused(make_database):
    uri = make_database("roles")
    schema.upgrade(uri)  # again: a no-op
    with warehouse.connect(uri) as conn:
        roles = dict(conn.execute("select rolname, rolcanlogin from pg_roles "
                                  "where rolname in ('zoho_pipeline', 'zoho_analyst')").fetchall())
        assert roles == {"zoho_pipeline": False, "zoho_analyst": False}  # NOLOGIN group roles
        assert _role_privileges(conn) > 0
        assert conn.execute("select has_schema_privilege('zoho_analyst', 'zoho_raw', 'usage'), "
                            "has_schema_privilege('zoho_analyst', 'analytics', 'usage'), "
                            "has_table_privilege('zoho_analyst', 'analytics.payment_reminders', 'select'), "
                            "has_table_privilege('zoho_analyst', 'analytics.payment_reminders', 'update'), "
                            "has_table_privilege('zoho_pipeline', 'zoho_raw.invoices', 'insert')").fetchone() \
            == (False, True, True, False, True)

    schema.downgrade(uri, "0002")
    with warehouse.connect(uri) as conn:
        assert _role_privileges(conn) == 0  # everything it granted here is revoked
        for role in ("zoho_pipeline", "zoho_analyst"):
            row = conn.execute("select oid from pg_roles where rolname = %s", (role,)).fetchone()
            if row is not None:  # kept: only while another database or a member still uses it
                used = conn.execute("select exists (select 1 from pg_shdepend where refobjid = %s) "
                                    "or exists (select 1 from pg_auth_members where roleid = %s)",
                                    (row[0], row[0])).fetchone()[0]
                assert used, f"{role} is unused but was not dropped"
    schema.upgrade(uri)
    with warehouse.connect(uri) as conn:
        assert _role_privileges(conn) > 0
