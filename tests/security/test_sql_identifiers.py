"""Every SQL statement takes values as parameters and names as quoted identifiers.

End to end: the whole-DAG run of tests/reliability/dagrun.py syncs tenants named
``o'brien; drop table x;--``, ``Łódź-ü``, ``"quoted"`` and ``faulted; '--`` (a table ``public.x``
was created first, as a canary). Each must land, be modelled by dbt, pass the quality gate and get
its reminders under exactly its own name, and nothing else may change.

Statically: no statement of the product's Python code is built by string formatting.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.reliability.dagrun import BROKEN, CLEAN, FAULTED

from zoho.warehouse import connection as warehouse

ROOT = Path(__file__).resolve().parents[2]
TENANTS = CLEAN + FAULTED


@pytest.mark.integration
@pytest.mark.slow
def test_tenants_with_quotes_semicolons_and_unicode_sync_end_to_end(whole_run):
    sandboxes = whole_run.sandboxes
    with warehouse.connect(whole_run.uri) as conn:
        def one(query, *params):
            return conn.execute(query, params).fetchone()[0]

        assert one("select canary from public.x") == "still here"  # nothing was injected
        for table in ("zoho_raw.contacts", "zoho_raw.invoices", "zoho_sync.sync_metadata",
                      "analytics.customers_cache", "analytics.invoices_cache", "analytics.payment_reminders",
                      "analytics.invoices_with_customer", "analytics.reminders_with_customer"):
            names = {r[0] for r in conn.execute(f"select distinct user_id from {table}")}
            assert names <= set(TENANTS) | {BROKEN}, (table, names)  # exactly the names, never mangled
            if table != "zoho_sync.sync_metadata":
                assert names == set(TENANTS), (table, names)
        for user_id in TENANTS:
            sb = sandboxes["clean" if user_id in CLEAN else "faulted"]
            org = sb.org(user_id)
            customers = sum(1 for c in sb.contacts(org) if c["contact_type"] == "customer")
            assert one("select count(*) from analytics.customers_cache where user_id = %s", user_id) == customers
            assert one("select count(*) from analytics.invoices_cache where user_id = %s",
                       user_id) == len(sb.invoices(org))
            assert one("select count(*) from analytics.payment_reminders where user_id = %s", user_id) > 0
            statuses = conn.execute("select entity, status from zoho_sync.sync_metadata where user_id = %s "
                                    "order by entity", (user_id,)).fetchall()
            assert statuses == [("contacts", "success"), ("invoices", "success")]
        assert one("select count(*) from zoho_sync.quality_results where run_id = %s", whole_run.run_id) > 0
        assert one("select count(*) from zoho_sync.quality_results where run_id = %s and not success",
                   whole_run.run_id) == 0


SQL_CALLS = {"execute", "executemany", "copy", "text"}


def _is_formatted_string(node: ast.AST) -> bool:
    """An f-string, ``"..." % x``, ``"..." + x`` or ``"...".format(...)``: text built from values."""
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(v, ast.FormattedValue) for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mod, ast.Add)):
        return isinstance(node.left, (ast.Constant, ast.JoinedStr)) or _is_formatted_string(node.left)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        return isinstance(node.func.value, (ast.Constant, ast.JoinedStr))
    return False


def test_no_statement_of_the_product_is_built_by_string_formatting():
    """``execute``/``executemany``/``copy``/SQLAlchemy ``text`` and ``psycopg.sql.SQL`` only ever get
    fixed text: values travel as parameters, names as ``sql.Identifier``."""
    offences = []
    for path in sorted((ROOT / "plugins").rglob("*.py")) + sorted((ROOT / "dags").rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name in SQL_CALLS or name == "SQL":
                if _is_formatted_string(node.args[0]):
                    offences.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offences == []


@pytest.mark.parametrize("code, formatted", [
    ('cur.execute(f"select * from t where user_id = \'{user_id}\'")', True),
    ('cur.execute("select * from t where user_id = \'%s\'" % user_id)', True),
    ('cur.execute("select * from " + table)', True),
    ('cur.execute("select {}".format(x))', True),
    ('sql.SQL(f"select {x}")', True),
    ('cur.execute("select * from t where user_id = %s", (user_id,))', False),
    ('cur.execute(sql.SQL("select * from {}").format(sql.Identifier(table)))', False),
    ('cur.execute(load_sql("upsert_contacts"), params)', False),
])
def test_the_static_check_tells_formatting_from_parameters(code, formatted):
    call = ast.parse(code).body[0].value
    assert _is_formatted_string(call.args[0]) is formatted
