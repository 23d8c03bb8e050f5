"""No secret in any log, task output, XCom, Airflow metadata row or warehouse table, failures included.

The whole-DAG run of tests/reliability/dagrun.py uses known credential strings: every client secret
and refresh token, the revoked refresh token of the tenant whose sync fails, every access token the
sandbox issued during the run (those that expired mid-run included) and the warehouse password. The
run had failures on purpose (bad credentials, an HTTP 500 outage, a killed warehouse session, an
expired token), so error paths are covered. Searched:

- everything the run printed (``dag.test()`` writes the task logs to its output), and any task log
  file of the run under ``AIRFLOW_HOME/logs``;
- every row of the Airflow metadata DB that belongs to the run (every table with a ``run_id``: XCom,
  rendered template fields, task instances, the run itself, ...), and the ``connection`` and
  ``variable`` tables whole;
- every row of every table and view of the warehouse, all schemas, as text.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from psycopg import sql
from sqlalchemy import create_engine, text

from tests.reliability.dagrun import DAG_ID
from zoho.warehouse import connection as warehouse

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def found_in(blob: str, secrets: dict[str, str]) -> list[str]:
    return sorted(name for name, value in secrets.items() if value in blob)


def test_secrets_were_really_used_by_the_run(whole_run):
    """The search below is meaningful only if the secrets went through the run."""
    tokens = [k for k in whole_run.secrets if k.startswith("access_token")]
    assert len(tokens) >= 5  # four tenants, plus the refreshes after the token expired mid-run
    ran = [t for t in whole_run.task_instances if t["state"] in ("success", "failed")]
    assert len(ran) >= 12 and whole_run.output.count("[DAG TEST] end task") >= len(ran)  # every task's log is there


def test_no_secret_in_the_output_or_the_task_log_files(whole_run):
    assert found_in(whole_run.output, whole_run.secrets) == []
    logs = Path(os.environ.get("AIRFLOW_HOME", "")) / "logs"
    files = [p for p in logs.rglob("*") if p.is_file() and f"dag_id={DAG_ID}" in str(p)
             and f"run_id={whole_run.run_id}" in str(p)] if logs.is_dir() else []
    leaks = {str(p): found_in(p.read_text(errors="replace"), whole_run.secrets) for p in files}
    assert {p: names for p, names in leaks.items() if names} == {}
    # the failures are in the output, readable, and say whose sync failed
    assert "broken-tenant" in whole_run.output and "token refresh failed" in whole_run.output


def test_no_secret_in_xcom_or_any_metadata_row_of_the_run(whole_run):
    engine = create_engine(os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
    secrets = list(whole_run.secrets.values())
    leaks, xcoms = {}, 0
    try:
        with engine.connect() as conn:
            tables = [r[0] for r in conn.execute(text(
                "select table_name from information_schema.columns where table_schema = 'public' "
                "and column_name = 'run_id' and data_type in ('character varying', 'text')"))]
            assert "xcom" in tables
            for table in tables:
                hits = conn.execute(text(
                    f'select distinct s from public."{table}" t, unnest(cast(:secrets as text[])) s '
                    "where t.run_id = :run_id and strpos(cast(t as text), s) > 0"),
                    {"secrets": secrets, "run_id": whole_run.run_id}).fetchall()
                if hits:
                    leaks[table] = [h[0][:12] + "..." for h in hits]
            for table in ("connection", "variable"):
                hits = conn.execute(text(f'select count(*) from public."{table}" t, unnest(cast(:s as text[])) s '
                                         "where strpos(cast(t as text), s) > 0"), {"s": secrets}).scalar()
                if hits:
                    leaks[table] = hits
            xcoms = conn.execute(text("select count(*) from xcom where run_id = :r and dag_id = :d"),
                                 {"r": whole_run.run_id, "d": DAG_ID}).scalar()
            values = [r[0] for r in conn.execute(text("select value from xcom where run_id = :r and dag_id = :d"),
                                                 {"r": whole_run.run_id, "d": DAG_ID})]
    finally:
        engine.dispose()
    assert leaks == {}
    assert xcoms >= 5  # the extract results (with client stats), the tenants, the reminders summary, ...
    assert "o'brien" in json.dumps(values, default=str)  # the search read the run's values


def test_no_secret_in_any_table_of_the_warehouse(whole_run):
    secrets = list(whole_run.secrets.values())
    leaks = {}
    with warehouse.connect(whole_run.uri) as conn:
        relations = conn.execute(
            "select n.nspname, c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace "
            "where c.relkind in ('r', 'v', 'm', 'p') and n.nspname not in ('pg_catalog', 'information_schema') "
            "and n.nspname not like 'pg_toast%%' order by 1, 2").fetchall()
        assert ("zoho_raw", "contacts") in relations and ("analytics", "payment_reminders") in relations
        for schema_name, table in relations:
            hits = conn.execute(sql.SQL("select distinct s from {} t, unnest(%s::text[]) s "
                                        "where strpos(t::text, s) > 0").format(sql.Identifier(schema_name, table)),
                                (secrets,)).fetchall()
            if hits:
                leaks[f"{schema_name}.{table}"] = len(hits)
        # the search reads what it should: the failed tenant's error is in sync_metadata, without a secret
        error = conn.execute("select last_error from zoho_sync.sync_metadata where user_id = 'broken-tenant' "
                             "and entity = 'contacts'").fetchone()[0]
    assert leaks == {}
    assert "broken-tenant" in error and "invalid_code" in error


def test_the_hook_masks_the_connection_secrets_extras_included(sandbox, monkeypatch):
    """Airflow masks a connection's password and its extra as one whole string; the refresh token
    inside the extra, and each access token issued, are registered by the hook, so each is redacted
    wherever it appears on its own."""
    from airflow.sdk._shared.secrets_masker import redact

    from zoho.airflow.hooks import ZohoBooksHook

    conn = sandbox.airflow_connection(0)
    monkeypatch.setenv("AIRFLOW_CONN_ZOHO_MASKING_TEST", json.dumps(conn))
    issued = []
    issue = sandbox.tokens._issue
    monkeypatch.setattr(sandbox.tokens, "_issue", lambda owner, now: issued.append(issue(owner, now)) or issued[-1])
    client = ZohoBooksHook("zoho_masking_test", tenant="masking").get_client()
    ok, message = client.test_connection()
    assert ok, message
    assert issued, "no access token was issued"
    secrets = {"client secret": conn["password"], "refresh token": conn["extra"]["refresh_token"],
               "access token": issued[-1]["access_token"]}
    line = " | ".join(f"{name}={value}" for name, value in secrets.items())
    redacted = redact(line)
    assert found_in(str(redacted), secrets) == [], redacted
    assert str(redacted).count("***") == 3
    assert found_in(repr(client) + message, secrets) == []
