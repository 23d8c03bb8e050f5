"""The Customer sync page end to end: a real Airflow API server with the plugin, a
warehouse filled by a real ``zoho_sync_nightly`` run (``dag.test()``) against the Zoho Books
sandbox, driven in headless Chromium (Debian's chromium + chromium-driver, W3C WebDriver over HTTP).

The run and the API server use an Airflow metadata database of their own (created and migrated here),
so the runs the page shows are exactly this test's. Every figure checked on a page is recomputed here
from the warehouse tables with independent SQL. Screenshots go to docs/screenshots/ (the README shows
them).
"""
from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
import requests

from tests.apiserver import ApiServer, api_server_env
from tests.helpers import run_dag
from tests.ui import browser as chromium
from zoho.warehouse import connection as warehouse

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
# The README's screenshots are refreshed with UPDATE_SCREENSHOTS=1; other runs write them under .local
# so that a test run leaves the checkout clean.
SHOTS = ROOT / "docs" / "screenshots" if os.environ.get("UPDATE_SCREENSHOTS") == "1" else ROOT / ".local" / "screenshots"
SHOTS.mkdir(parents=True, exist_ok=True)
SIZE = {"seed": 31, "orgs": 2, "contacts_per_org": 40, "invoices_per_org": 200}
OPEN = ("sent", "viewed", "overdue", "partially_paid", "unpaid")
PREFIX = "/customer-sync"

FIELDS_JS = """
const fieldsOf = (el) => {
  const out = {};
  el.querySelectorAll('[data-field]').forEach(f => {
    if (!(f.dataset.field in out)) out[f.dataset.field] = f.textContent.trim();
    if (f.tagName === 'A' && !((f.dataset.field + '@href') in out)) out[f.dataset.field + '@href'] = f.getAttribute('href');
  });
  return out;
};
"""
ROWS_JS = FIELDS_JS + """
return Array.from(document.querySelectorAll(arguments[0])).map(el => ({data: Object.assign({}, el.dataset), f: fieldsOf(el)}));
"""
OVERVIEW_JS = FIELDS_JS + """
const byKey = (root, sel, key) => Object.fromEntries(Array.from(root.querySelectorAll(sel)).map(e => [e.dataset[key], fieldsOf(e)]));
return {
  gate: fieldsOf(document.querySelector('[data-section=quality-gate]')),
  tenants: Array.from(document.querySelectorAll('section.tenant')).map(s => ({
    tenant: s.dataset.tenant,
    entities: byKey(s, 'tr[data-entity]', 'entity'),
    runs: byKey(s, '[data-run]', 'run'),
    cards: byKey(s, '[data-card]', 'card'),
    text: s.innerText,
  })),
};
"""


# --------------------------------------------------------------------------- helpers
def rows(uri, sql, *params):
    with warehouse.connect(uri) as conn:
        return conn.execute(sql, params).fetchall()


def scalar(uri, sql, *params):
    return rows(uri, sql, *params)[0][0]


def num(text: str) -> int:
    return int(text.replace(",", "").strip())


def money(value) -> str:
    return f"{Decimal(value):,.2f}"


def minute(value: datetime | None) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M") if value else "–"


def run_link(dag_id: str, run_id: str) -> str:
    return f"/dags/{quote(dag_id, safe='')}/runs/{quote(run_id, safe='')}"


def today() -> "datetime.date":
    return datetime.now(timezone.utc).date()


@dataclass
class Stack:
    base: str
    uri: str
    sb: object
    run_id: str
    token: str
    elapsed: dict


# --------------------------------------------------------------------------- the deployment
@pytest.fixture(scope="module")
def stack(sandbox_factory, make_database, pg_server_uri, tmp_path_factory):
    """Sandbox + fresh warehouse + own Airflow metadata DB; the API server (started while the nightly
    run fills the warehouse); a JWT for admin."""
    elapsed = {}
    t0 = time.monotonic()
    tmp = tmp_path_factory.mktemp("customer_sync_ui")
    sb = sandbox_factory(**SIZE)
    uri = make_database("ui")
    env = api_server_env(make_database, tmp, "uiaf", base_env={**os.environ, **sb.airflow_env()},
                         AIRFLOW_CONN_WAREHOUSE_DEFAULT=uri)
    env.pop("AIRFLOW_VAR_ZOHO_REMINDER_POLICY", None)
    with ApiServer(env, tmp) as server:  # starts while the nightly run fills the warehouse
        subprocess.run(["airflow", "pools", "set", "dbt_warehouse", "1", "dbt tasks"], env=env, check=True,
                       capture_output=True, timeout=120)
        elapsed["metadata_db"] = time.monotonic() - t0
        t1 = time.monotonic()
        result, output = run_dag(env, "zoho_sync_nightly", datetime.now(timezone.utc).replace(microsecond=0),
                                 timeout=900)
        elapsed["nightly_run"] = time.monotonic() - t1
        assert result["state"] == "success", output[-5000:]
        server.wait_ready()
        elapsed["ready"] = time.monotonic() - t0
        yield Stack(base=server.base, uri=uri, sb=sb, run_id=result["run_id"], token=server.token,
                    elapsed=elapsed)
    print(f"\n[ui] timings: {', '.join(f'{k} {v:.0f} s' for k, v in elapsed.items())}")


@pytest.fixture(scope="module")
def browser(stack):
    if not chromium.available():
        pytest.skip(f"headless Chromium is not installed (needs {chromium.CHROMIUM} and {chromium.CHROMEDRIVER}): "
                    f"{chromium.INSTALL_HINT}")
    with chromium.Browser() as b:
        yield b


def page(b: chromium.Browser, stack: Stack, path: str, ready: str = "main") -> None:
    b.get(stack.base + PREFIX + path)
    b.wait_for(ready)


def submit_filters(b: chromium.Browser, ready: str, timeout: float = 20.0) -> None:
    """Submit the filter form and wait for the page it loads (the old page has the same table, so
    waiting for the table alone could read the old page)."""
    b.js("window.__before_submit = true")
    b.click(b.find("form.filters button[type=submit]"))
    deadline = time.monotonic() + timeout
    while b.js("return window.__before_submit === true") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not b.js("return window.__before_submit === true"), "the filter form did not load a new page"
    b.wait_for(ready)


# --------------------------------------------------------------------------- auth and registration
def test_unauthenticated_requests_are_refused(stack):
    paths = ["/", "/customers?q=a", "/invoices", "/reminders?status=withheld", "/static/app.css",
             "/customers/00000000-0000-0000-0000-000000000000"]
    for path in paths:
        url = stack.base + PREFIX + path
        r = requests.get(url, timeout=30, allow_redirects=False)
        assert r.status_code == 401, (path, r.status_code, r.text[:200])
        assert "customer_name" not in r.text and "<table" not in r.text
        # a browser is sent to the login page, and back here afterwards
        r = requests.get(url, headers={"Accept": "text/html"}, timeout=30, allow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/auth/login?next="), (path, r.headers)
        assert quote(PREFIX, safe="") in r.headers["location"]
        # forged or foreign credentials
        for headers, cookies in [({}, {"_token": "not-a-jwt"}), ({"Authorization": "Bearer not-a-jwt"}, {})]:
            r = requests.get(url, headers=headers, cookies=cookies, timeout=30, allow_redirects=False)
            assert r.status_code in (401, 403), (path, r.status_code)
    import jwt

    forged = jwt.encode({"sub": "admin", "role": "ADMIN", "aud": "apache-airflow",
                         "exp": int(time.time()) + 600}, "another-secret", algorithm="HS512")
    r = requests.get(stack.base + PREFIX + "/", cookies={"_token": forged}, timeout=30, allow_redirects=False)
    assert r.status_code in (401, 403)


def test_logged_in_api_clients_read_it_and_nothing_writes(stack):
    auth = {"Authorization": f"Bearer {stack.token}"}
    r = requests.get(stack.base + PREFIX + "/", headers=auth, timeout=60)
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    assert "frame-ancestors 'self'" in r.headers["content-security-policy"]
    assert r.headers["cache-control"] == "no-store"
    r = requests.get(stack.base + PREFIX + "/", cookies={"_token": stack.token}, timeout=60)
    assert r.status_code == 200
    for method in ("post", "put", "delete"):
        assert getattr(requests, method)(stack.base + PREFIX + "/customers", headers=auth, timeout=30).status_code == 405
    assert requests.get(stack.base + PREFIX + "/customers/not-a-uuid", headers=auth, timeout=30).status_code == 404
    assert requests.get(stack.base + PREFIX + "/static/../app.py", headers=auth, timeout=30).status_code == 404


def test_the_plugin_registers_the_app_and_a_nav_entry(stack):
    r = requests.get(stack.base + "/api/v2/plugins", headers={"Authorization": f"Bearer {stack.token}"}, timeout=30)
    assert r.status_code == 200, r.text
    plugin = next(p for p in r.json()["plugins"] if p["name"] == "customer_sync")
    assert [a["url_prefix"] for a in plugin["fastapi_apps"]] == [PREFIX + "/api/v1", PREFIX]  # the API first
    view = plugin["external_views"][0]
    assert (view["name"], view["href"], view["destination"], view["url_route"]) == (
        "Customer sync", PREFIX + "/", "nav", "customer-sync")
    r = requests.get(stack.base + "/api/v2/plugins/importErrors", headers={"Authorization": f"Bearer {stack.token}"},
                     timeout=30)
    assert r.json()["total_entries"] == 0, r.text


def test_the_page_reads_through_a_read_only_session(stack, monkeypatch):
    import psycopg

    from zoho.ui import warehouse as ui_app

    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE_DEFAULT", stack.uri)
    monkeypatch.setattr(ui_app._UriCache, "value", None)
    with ui_app.read_only_connection() as conn:
        assert conn.execute("show statement_timeout").fetchone()[0] == "5s"
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("delete from analytics.payment_reminders")
    monkeypatch.setattr(ui_app._UriCache, "value", None)


# --------------------------------------------------------------------------- in the browser
def test_login_then_overview_shows_the_sync_state_of_every_tenant(stack, browser):
    b = browser
    b.get(stack.base + PREFIX + "/")
    user = b.wait_for("input[name=username]")  # not logged in: the login form, with next= this page
    assert "/auth/login" in b.url
    b.type(user, "admin")
    b.type(b.find("input[name=password]"), "admin")
    b.click(b.find("button[type=submit]"))
    b.wait_for("section.tenant")
    assert urlsplit(b.url).path == PREFIX + "/"
    assert any(c["name"] == "_token" for c in b.cookies())

    # two quarantined records for the first tenant (the sandbox's data has none)
    first = stack.sb.organizations[0].user_id
    with warehouse.connect(stack.uri) as conn:
        for i in range(2):
            conn.execute("insert into zoho_sync.rejected_records (user_id, entity, zoho_id, reason, payload, "
                         "payload_hash) values (%s, 'invoices', %s, 'date does not parse', '{}', %s)",
                         (first, f"bad-{i}", f"hash-{i}"))
    b.get(stack.base + PREFIX + "/")
    b.wait_for("section.tenant")
    shown = b.js(OVERVIEW_JS)
    meta = rows(stack.uri, "select user_id, entity, last_mode, status, finished_at, records_fetched, records_upserted, "
                           "records_deleted, records_rejected, api_calls, person_calls, missing_customers, last_run_id "
                           "from zoho_sync.sync_metadata order by 1, 2")
    assert sorted(t["tenant"] for t in shown["tenants"]) == sorted({m[0] for m in meta}) == sorted(
        o.user_id for o in stack.sb.organizations)
    d = today()
    since = d - timedelta(days=30)
    for t in shown["tenants"]:
        mine = [m for m in meta if m[0] == t["tenant"]]
        for (_, entity, mode, status, finished, fetched, upserted, deleted, rejected, calls, persons, missing,
             run_id) in mine:
            f = t["entities"][entity]
            assert (f["mode"], f["status"], f["finished_at"]) == (mode, status, minute(finished))
            assert [num(f[k]) for k in ("records_fetched", "records_upserted", "records_deleted", "records_rejected",
                                        "api_calls", "person_calls", "missing_customers")] == [
                fetched, upserted, deleted, rejected, calls, persons, missing]
            assert run_id == stack.run_id and f["run-link@href"] == run_link("zoho_sync_nightly", run_id)
        # the last nightly run, from Airflow's metadata: its records and API calls against the daily budget
        nightly = t["runs"]["full"]
        assert nightly["status"] == "success"
        assert nightly["run-link@href"] == run_link("zoho_sync_nightly", stack.run_id)
        assert num(nightly["fetched"]) == sum(m[5] for m in mine)
        assert num(nightly["written"]) == sum(m[6] for m in mine)
        assert num(nightly["api_calls"]) == sum(m[9] for m in mine)
        org = next(o for o in stack.sb.organizations if o.user_id == t["tenant"])
        assert num(nightly["daily_limit"]) == stack.sb.daily_limit
        assert num(nightly["daily_remaining"]) == stack.sb.daily_limit - stack.sb.usage(org)["today"]
        assert "No run of zoho_sync_incremental yet" in t["text"]
        # rejected records and the reminder counts
        assert num(t["cards"]["rejected"]["rejected-total"]) == scalar(
            stack.uri, "select count(*) from zoho_sync.rejected_records where user_id = %s", t["tenant"])
        counts = dict(rows(stack.uri, """
            select k, count(*) from (
                select case when status = 'pending' and scheduled_for < %s then 'pending_overdue'
                            when status = 'pending' and scheduled_for = %s then 'pending_today'
                            when status = 'pending' then 'pending_later'
                            when status in ('skipped', 'cancelled') then 'withheld' else status end as k
                from analytics.payment_reminders where user_id = %s and scheduled_for >= %s) x group by k""",
                           d, d, t["tenant"], since))
        card = t["cards"]["reminders"]
        assert num(card["pending_today"]) == counts.get("pending_today", 0)
        assert num(card["pending_from_today"]) == counts.get("pending_today", 0) + counts.get("pending_later", 0)
        assert num(card["pending_overdue"]) == counts.get("pending_overdue", 0)
        assert num(card["withheld"]) == counts.get("withheld", 0)
        assert (num(card["sent"]), num(card["failed"])) == (counts.get("sent", 0), counts.get("failed", 0))
    assert next(t for t in shown["tenants"] if t["tenant"] == first)["cards"]["rejected"]["rejected-invoices"] == "2"
    # the quality gate of the run
    n, failed = rows(stack.uri, "select count(*), count(*) filter (where not success) from zoho_sync.quality_results "
                                "where run_id = %s", stack.run_id)[0]
    assert (num(shown["gate"]["gate-expectations"]), num(shown["gate"]["gate-failed"])) == (n, failed)
    assert shown["gate"]["status"] == ("passed" if failed == 0 else "failed")
    assert shown["gate"]["gate-run@href"] == run_link("zoho_sync_nightly", stack.run_id)
    b.full_screenshot(SHOTS / "customer-sync-overview.png")


def test_customers_search_by_name_and_phone_with_open_invoices(stack, browser):
    b = browser
    cid, user_id, name, phone, source, n_open, open_balance = rows(stack.uri, f"""
        select c.id::text, c.user_id, c.customer_name, c.primary_phone, c.primary_phone_source, o.n, o.balance
        from analytics.customers_cache c
        cross join lateral (select count(*) as n, sum(i.balance) as balance from analytics.invoices_cache i
                            where i.customer_id = c.id and not i.is_deleted and i.balance > 0
                              and i.status in {OPEN!r}) o
        where not c.is_deleted and c.primary_phone is not null
        order by o.n desc, c.id limit 1""")[0]
    assert n_open >= 2
    word = name.split()[0]

    page(b, stack, "/customers", "input[name=q]")
    b.type(b.find("input[name=q]"), word)
    submit_filters(b, "table[data-table=customers]")
    shown = b.js(ROWS_JS, "table[data-table=customers] tr[data-customer-id]")
    like = "%" + word.replace("%", r"\%").replace("_", r"\_") + "%"
    expected = [r[0] for r in rows(stack.uri, "select id::text from analytics.customers_cache where not is_deleted and "
                                              "(customer_name ilike %s or company_name ilike %s) "
                                              "order by customer_name, id limit 50", like, like)]
    assert [s["data"]["customerId"] for s in shown] == expected
    row = next(s for s in shown if s["data"]["customerId"] == cid)
    assert (row["f"]["customer_name"], row["f"]["primary_phone"], row["f"]["primary_phone_source"]) == (name, phone, source)
    assert (num(row["f"]["open_invoices"]), row["f"]["open_balance"].split()[0]) == (n_open, money(open_balance))
    b.full_screenshot(SHOTS / "customer-sync-customers.png")

    # the same customer by phone, typed as people write it
    typed = f"{phone[:-7]} {phone[-7:-4]}-{phone[-4:]}"
    page(b, stack, "/customers", "input[name=q]")
    b.type(b.find("input[name=q]"), typed)
    submit_filters(b, "table[data-table=customers]")
    shown = b.js(ROWS_JS, "table[data-table=customers] tr[data-customer-id]")
    digits = "".join(ch for ch in phone if ch.isdigit())
    expected = [r[0] for r in rows(stack.uri, "select id::text from analytics.customers_cache where not is_deleted and "
                                              "(primary_phone = %s or primary_phone like %s) order by customer_name, id",
                                   "+" + digits, f"%{digits}%")]
    assert [s["data"]["customerId"] for s in shown] == expected and cid in expected

    # its page: the open invoices
    b.click(b.find(f"tr[data-customer-id='{cid}'] a[data-field=customer_name]"))
    b.wait_for("table[data-table=customer-invoices]")
    invoices = b.js(ROWS_JS, "table[data-table=customer-invoices] tr[data-invoice-id]")
    expected = rows(stack.uri, f"select zoho_invoice_id, balance from analytics.invoices_cache where customer_id = %s "
                               f"and not is_deleted and balance > 0 and status in {OPEN!r} order by due_date, id", cid)
    assert [(i["data"]["zohoId"], i["f"]["balance"].split()[0]) for i in invoices] == [
        (z, money(bal)) for z, bal in expected]
    facts = b.js(ROWS_JS, "dl.facts")[0]["f"]
    assert (facts["primary_phone"], facts["primary_phone_source"], num(facts["open_invoices"])) == (phone, source, n_open)
    b.full_screenshot(SHOTS / "customer-sync-customer.png")


def test_invoices_show_the_joined_customer_and_paginate(stack, browser):
    b = browser
    expected = rows(stack.uri, f"""
        select i.zoho_invoice_id, i.user_id, coalesce(c.customer_name, ''), coalesce(c.primary_phone, 'no phone'),
               i.balance
        from analytics.invoices_cache i left join analytics.customers_cache c on c.id = i.customer_id
        where i.status in {OPEN!r} and i.balance > 0 and not i.is_deleted
        order by i.due_date, i.id limit 101""")
    assert len(expected) > 50
    page(b, stack, "/invoices", "table[data-table=invoices]")
    shown = b.js(ROWS_JS, "table[data-table=invoices] tr[data-invoice-id]")

    def as_tuples(items):
        return [(s["data"]["zohoId"], s["f"]["user_id"],
                 "" if s["f"]["customer_name"].startswith("no customer") else s["f"]["customer_name"],
                 s["f"]["primary_phone"], s["f"]["balance"].split()[0]) for s in items]

    assert as_tuples(shown) == [(z, u, n, p, money(bal)) for z, u, n, p, bal in expected[:50]]
    b.full_screenshot(SHOTS / "customer-sync-invoices.png")
    b.click(b.find("nav.pager a[rel=next]"))
    b.wait_for("nav.pager a[rel=prev]")
    shown = b.js(ROWS_JS, "table[data-table=invoices] tr[data-invoice-id]")
    assert as_tuples(shown) == [(z, u, n, p, money(bal)) for z, u, n, p, bal in expected[50:100]]


def test_reminder_queue_upcoming_withheld_and_by_tenant(stack, browser):
    b = browser
    d = today()

    def shown_rows():
        return [(s["data"]["reminderId"], s["f"]["user_id"], s["f"]["status"], s["f"]["reason"], s["f"]["phone"],
                 s["f"]["primary_phone"], s["f"]["invoice_number"])
                for s in b.js(ROWS_JS, "table[data-table=reminders] tr[data-reminder-id]")]

    select = """
        select r.id::text, r.user_id, r.status, coalesce(r.reason, ''), coalesce(r.phone, '–'),
               coalesce(c.primary_phone, 'no phone'), coalesce(i.invoice_number, i.zoho_invoice_id, '–')
        from analytics.payment_reminders r
        left join analytics.invoices_cache i on i.id = r.invoice_id
        left join analytics.customers_cache c on c.id = r.customer_id"""
    # default: pending, today and later, soonest first
    page(b, stack, "/reminders", "table[data-table=reminders]")
    expected = rows(stack.uri, select + " where r.status = 'pending' and r.scheduled_for >= %s "
                                        "order by r.scheduled_for, r.id limit 50", d)
    assert expected and shown_rows() == [tuple(r) for r in expected]
    b.full_screenshot(SHOTS / "customer-sync-reminders.png")

    # withheld, any date, chosen in the form
    b.click(b.find("select[name=status] option[value=withheld]"))
    b.click(b.find("select[name=when] option[value=all]"))
    submit_filters(b, "select[name=status] option[value=withheld][selected]")
    expected = rows(stack.uri, select + " where r.status in ('skipped', 'cancelled') "
                                        "order by r.scheduled_for desc, r.id desc limit 50")
    got = shown_rows()
    assert expected and got == [tuple(r) for r in expected]
    assert all(reason for _, _, _, reason, *_ in got)  # every withheld reminder says why
    b.full_screenshot(SHOTS / "customer-sync-withheld.png")

    # one tenant, every status
    second = stack.sb.organizations[1].user_id
    page(b, stack, "/reminders?" + requests.compat.urlencode({"tenant": second, "status": "all", "when": "all"}),
         "table[data-table=reminders]")
    expected = rows(stack.uri, select + " where r.user_id = %s order by r.scheduled_for desc, r.id desc limit 50", second)
    got = shown_rows()
    assert got == [tuple(r) for r in expected] and {g[1] for g in got} == {second}


def test_the_page_is_in_the_airflow_navigation_and_links_to_the_dag_runs(stack, browser):
    b = browser
    b.get(stack.base + "/")
    nav = b.wait_for("a[href$='/plugin/customer-sync']")
    assert b.js("return arguments[0].innerText.trim()", {chromium.ELEMENT: nav}) == "Customer sync"
    b.click(nav)
    frame = b.wait_for("iframe[title='Customer sync']")
    # the UI keeps the frame's own path in its address (/plugin/customer-sync + the page's path)
    assert urlsplit(b.url).path.startswith("/plugin/customer-sync")
    b.frame(frame)
    b.wait_for("section.tenant")
    b.frame(None)
    # so a page of the frame can be linked to and reloaded: it opens in the frame again
    b.get(stack.base + "/plugin/customer-sync/customer-sync/customers")
    b.frame(b.wait_for("iframe[title='Customer sync']"))
    b.wait_for("table[data-table=customers]")
    assert b.js("return document.title") == "Customers · Customer sync"
    b.frame(None)
    b.get(stack.base + "/plugin/customer-sync")
    b.wait_for("iframe[title='Customer sync']")
    time.sleep(0.5)
    b.screenshot(SHOTS / "customer-sync-in-airflow.png")
    # a run link inside the frame opens the run in the Airflow UI itself (not nested in the frame)
    b.frame(b.find("iframe[title='Customer sync']"))
    b.click(b.find("section.tenant [data-run=full] a[data-field=run-link]"))
    b.frame(None)
    deadline = time.monotonic() + 20
    while urlsplit(b.url).path != run_link("zoho_sync_nightly", stack.run_id) and time.monotonic() < deadline:
        time.sleep(0.25)
    assert urlsplit(b.url).path == run_link("zoho_sync_nightly", stack.run_id)
    deadline = time.monotonic() + 20
    while stack.run_id not in b.js("return document.body.innerText") and time.monotonic() < deadline:
        time.sleep(0.25)
    assert stack.run_id in b.js("return document.body.innerText")


def test_every_value_is_escaped(stack, browser):
    b = browser
    payload = '<img src=x id=pwned onerror="document.title=\'pwned\'">Zz & "Co" <script>window.hit=1</script>'
    cid = rows(stack.uri, "select id::text from analytics.customers_cache where not is_deleted order by id limit 1")[0][0]
    with warehouse.connect(stack.uri) as conn:
        conn.execute("update analytics.customers_cache set customer_name = %s where id = %s", (payload, cid))
    page(b, stack, "/customers?" + requests.compat.urlencode({"q": "Zz & \"Co\""}), "table[data-table=customers]")
    shown = b.js(ROWS_JS, "table[data-table=customers] tr[data-customer-id]")
    assert [s["data"]["customerId"] for s in shown] == [cid]
    assert shown[0]["f"]["customer_name"] == payload  # shown as text
    assert b.js("return [document.getElementById('pwned'), window.hit === undefined, document.title]") == [
        None, True, "Customers · Customer sync"]
    # the search box echoes the query escaped too
    assert b.js("return document.querySelector('input[name=q]').value") == 'Zz & "Co"'
    page(b, stack, f"/customers/{cid}", "dl.facts")
    assert b.js("return [document.getElementById('pwned'), document.querySelector('h2').textContent]") == [None, payload]
