"""The Customer sync page's "API budget and sweep" section: a real Airflow API server with the plugin
(``tests/apiserver.py``) over a warehouse of hand-made planner rows (``tests/verify/planner_rows.py``).
Each tenant's section shows its row of ``zoho_sync.budget_planner``: every figure on the page is
compared with the view, read here with its own query."""
from __future__ import annotations

import os
from html.parser import HTMLParser

import pytest
import requests

from tests.apiserver import ApiServer, api_server_env
from tests.verify import planner_rows
from tests.verify.test_verify import _sync
from zoho.warehouse import connection as warehouse

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PREFIX = "/customer-sync"


class Sections(HTMLParser):
    """Per ``section.tenant``: the text of each ``data-field`` inside its ``[data-card=budget]``."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tenants: dict[str, dict[str, str]] = {}
        self.tenant: str | None = None
        self.depth = 0           # open elements inside the budget card (0: outside)
        self.fields: list[tuple[str, int, list[str]]] = []  # open data-field elements: (name, depth, text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section" and "data-tenant" in a:
            self.tenant = a["data-tenant"]
            self.tenants[self.tenant] = {}
        if self.depth or a.get("data-card") == "budget":
            self.depth += 1
            if "data-field" in a:
                self.fields.append((a["data-field"], self.depth, []))

    def handle_endtag(self, tag):
        if not self.depth:
            return
        if self.fields and self.fields[-1][1] == self.depth:
            name, _, text = self.fields.pop()
            self.tenants[self.tenant].setdefault(name, " ".join("".join(text).split()))
        self.depth -= 1

    def handle_data(self, data):
        for _, _, text in self.fields:
            text.append(data)


def num(value) -> str:
    return "–" if value is None else f"{int(value):,}"


@pytest.fixture(scope="module")
def server(make_database, tmp_path_factory):
    uri = make_database("uiplan")
    with warehouse.connect(uri, autocommit=True) as conn:
        planner_rows.fill(conn)
        for user_id in ("first", "slow", "never", "nototal"):  # the rest are known from the planner only
            for entity in ("contacts", "invoices"):
                _sync(conn, user_id, entity)
    tmp = tmp_path_factory.mktemp("budget_planner_ui")
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW_CONN_ZOHO")}
    env = api_server_env(make_database, tmp, "uiplanaf", base_env=base_env, AIRFLOW_CONN_WAREHOUSE_DEFAULT=uri)
    with ApiServer(env, tmp) as api:
        api.wait_ready()
        yield api, uri


@pytest.fixture(scope="module")
def shown(server) -> dict[str, dict[str, str]]:
    api, _ = server
    r = requests.get(api.base + PREFIX + "/", headers=api.auth(), timeout=60)
    assert r.status_code == 200, r.text[:2000]
    parser = Sections()
    parser.feed(r.text)
    return parser.tenants


def view(uri) -> dict[str, dict]:
    with warehouse.connect(uri) as conn, conn.cursor() as cur:
        cur.execute("select * from zoho_sync.budget_planner")
        names = [d.name for d in cur.description]
        return {r[0]: dict(zip(names, r)) for r in cur.fetchall()}


def test_every_tenant_with_a_ledger_or_a_sweep_has_a_section(shown):
    assert sorted(shown) == sorted(planner_rows.TENANTS)


def test_the_section_shows_the_planner_row(server, shown):
    _, uri = server
    for user_id, row in view(uri).items():
        f = shown[user_id]
        for key in ("effective_budget", "plan_limit", "sweep_share", "budget_reserve", "spent_today", "left_today",
                    "sweep_generation", "pages_done", "persons_pending", "calls_spent", "daily_sweep_calls"):
            assert f[key] == num(row[key]), (user_id, key)
        for key in ("pages_expected", "calls_left"):
            assert f[key] == ("unknown" if row[key] is None else num(row[key])), (user_id, key)
        needed = row["calls_needed_for_sweep"]
        assert f["calls_needed_for_sweep"] == ("an unknown number of calls" if needed is None
                                               else "~" + num(needed)), user_id
        assert f.get("fixed_calls") == (None if row["fixed_calls"] is None else num(row["fixed_calls"])), user_id
        assert f["sweep_phase"] == row["sweep_phase"] and f["verdict"] == row["verdict"], user_id
        assert f["progress_pct"] == ("progress unknown" if row["progress_pct"] is None
                                     else f"{row['progress_pct']:.1f} %"), user_id
        assert f["days_to_complete"] == ("unknown" if row["days_to_complete"] is None
                                         else num(row["days_to_complete"])), user_id
        if row["advice"]:
            assert f["advice"] == row["advice"], user_id
        else:
            assert "advice" not in f, user_id


def test_the_figures_a_user_reads(shown):
    slow = shown["slow"]
    assert (slow["spent_today"], slow["left_today"], slow["sweep_phase"], slow["progress_pct"]) == (
        "340", "10", "listing", "4.0 %")
    assert (slow["calls_left"], slow["days_to_complete"], slow["verdict"]) == ("2,900", "10", "slow")
    assert slow["advice"].startswith("The sweep needs ~2900 more calls; at 320 a day")
    assert "raise daily_budget from 500 to 595" in slow["advice"]
    never = shown["never"]
    assert (never["verdict"], never["days_to_complete"], never["daily_sweep_calls"]) == ("never", "unknown", "0")
    assert never["advice"].startswith("The nightly can spend nothing on the sweep")
    first = shown["first"]
    assert (first["persons_pending"], first["calls_left"], first["verdict"]) == ("3", "38", "on_track")
    assert (shown["done"]["progress_pct"], shown["done"]["verdict"]) == ("100.0 %", "complete")
    assert (shown["nototal"]["progress_pct"], shown["nototal"]["verdict"]) == ("progress unknown", "unknown")


def test_a_tenant_without_planner_rows_says_so(server):
    api, uri = server
    with warehouse.connect(uri, autocommit=True) as conn:
        _sync(conn, "newcomer", "contacts")
    try:
        r = requests.get(api.base + PREFIX + "/", headers=api.auth(), timeout=60)
        parser = Sections()
        parser.feed(r.text)
        assert parser.tenants["newcomer"] == {
            "planner-none": "No run has recorded this tenant's budget or sweep yet."}
    finally:
        with warehouse.connect(uri, autocommit=True) as conn:
            conn.execute("delete from zoho_sync.sync_metadata where user_id = 'newcomer'")
