"""Zoho plans per organisation, other integrations' spending, ending a Zoho day at once, the day
history and code-45 counts, and the per-minute window set at run time (docs/ZOHO_API.md §7)."""
from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests

from tests.sandbox.helpers import Zoho, cli_sandbox, first_contacts_page

ROOT = Path(__file__).resolve().parents[2]
RATE_HEADERS = ("X-Rate-Limit-Limit", "X-Rate-Limit-Remaining", "X-Rate-Limit-Reset")
TINY = {"contacts_per_org": 10, "invoices_per_org": 20, "per_minute_limit": None}


def body_45(limit: int) -> dict:
    return {"code": 45, "message": f"The API call for this organization has exceeded the maximum call rate limit of {limit}."}


def seconds_to_local_midnight(sb, org, days_ahead: int = 1) -> float:
    """Seconds from the sandbox clock's now to the org-local midnight ``days_ahead`` dates on."""
    tz = ZoneInfo(sb.org(org).time_zone)
    now = dt.datetime.fromtimestamp(sb.clock.time(), tz)
    midnight = dt.datetime.combine(now.date() + dt.timedelta(days=days_ahead), dt.time(), tz)
    return midnight.timestamp() - sb.clock.time()  # in UTC: right across a DST change too


def remaining(response) -> int:
    assert response.status_code == 200, (response.status_code, response.text[:200])
    return int(response.headers["X-Rate-Limit-Remaining"])


# ------------------------------------------------------------------------------------------ the plans
def test_each_plan_sends_its_daily_limit_in_the_headers(sandbox_factory):
    sb = sandbox_factory(orgs=6, daily_limit=777, max_concurrent=None, **TINY,
                         plans={0: "free", 1: "standard", 2: "professional", "koala-au": "Premium", 4: 250})
    expected = [1000, 2000, 5000, 10000, 250, 777]  # org 5 has no plan: the sandbox's daily_limit
    for i, limit in enumerate(expected):
        r = Zoho(sb, i).get("/contacts", per_page=1)
        assert r.headers["X-Rate-Limit-Limit"] == str(limit)
        assert r.headers["X-Rate-Limit-Remaining"] == str(limit - 1)
        assert abs(int(r.headers["X-Rate-Limit-Reset"]) - seconds_to_local_midnight(sb, i)) <= 2  # per org zone
    assert [sb.plan(i) for i in range(6)] == ["free", "standard", "professional", "premium", 250, None]
    assert [p["daily_limit"] for p in sb.plans().values()] == expected
    assert sb.info()["settings"]["plans"][sb.organizations[0].organization_id]["plan"] == "free"


def test_free_org_answers_code_45_at_call_1001_while_a_premium_org_goes_on(sandbox_factory):
    sb = sandbox_factory(daily_limit=None, **TINY, plans={0: "free", 1: "premium"})
    free, premium = Zoho(sb, 0), Zoho(sb, 1)
    assert sb.spend_daily(0, 999) == 999 and sb.spend_daily(1, 1000) == 1000  # calls 1..999 (1..1000)
    assert remaining(free.get("/contacts", per_page=1)) == 0  # call 1,000
    r = free.get("/contacts", per_page=1)  # call 1,001
    assert r.status_code == 429 and r.json() == body_45(1000)
    assert not any(h in r.headers for h in RATE_HEADERS)  # 429s carry no rate headers by default
    assert remaining(premium.get("/contacts", per_page=1)) == 10000 - 1001  # call 1,001 of 10,000
    assert sb.usage(0)["code_45"] == 1 and sb.usage(1)["code_45"] == 0


def test_a_small_explicit_limit_binds_per_organisation_and_code_45s_are_counted(sandbox_factory):
    sb = sandbox_factory(daily_limit=1000, **TINY, plans={"acme-us": 30})
    z, other = Zoho(sb, 0), Zoho(sb, 1)
    assert [remaining(z.get("/invoices", per_page=1)) for _ in range(30)] == list(range(29, -1, -1))
    for _ in range(3):
        r = z.get("/invoices", per_page=1)
        assert r.status_code == 429 and r.json() == body_45(30)
    assert remaining(other.get("/invoices", per_page=1)) == 999  # the other org's own default budget
    assert sb.usage(0) | {"reset": None} == {
        "last_minute": 30, "today": 30, "in_flight": 0, "code_45": 3, "day": 1, "plan": 30, "limit": 30,
        "remaining": 0, "reset": None}
    assert sb.day_history(0) == [{"day": 1, "calls": 30, "limit": 30, "code_45": 3}]
    assert sb.day_history(1) == [{"day": 1, "calls": 1, "limit": 1000, "code_45": 0}]


def test_set_plan_at_run_time(sandbox_factory):
    sb = sandbox_factory(daily_limit=40, **TINY)
    z = Zoho(sb, 0)
    assert z.get("/contacts", per_page=1).headers["X-Rate-Limit-Limit"] == "40"
    assert sb.set_plan(0, "Standard") == "standard"
    r = z.get("/contacts", per_page=1)
    assert (r.headers["X-Rate-Limit-Limit"], r.headers["X-Rate-Limit-Remaining"]) == ("2000", "1998")
    sb.spend_daily(0, 20)
    sb.set_plan(0, 20)  # below what the day has used: refused at once, with the new limit in the message
    assert z.get("/contacts").json() == body_45(20)
    sb.set_plan(0, None)  # back to the sandbox's daily_limit
    assert remaining(z.get("/contacts", per_page=1)) == 40 - 23
    sb.set_plan(None, "free")  # every organisation
    assert [sb.plan(i) for i in range(2)] == ["free", "free"]
    for bad in ("gold", 0, -5, True, "1.5"):
        with pytest.raises(ValueError):
            sb.set_plan(0, bad)
    with pytest.raises(KeyError):
        sb.set_plan("nobody", "free")
    assert sb.plan(0) == "free"

    base = sb.url + "/_sandbox"
    org_id = sb.organizations[1].organization_id
    r = requests.post(base + "/plans", json={"org_id": org_id, "plan": "premium"}, timeout=10)
    assert r.status_code == 200 and r.json()["plans"][org_id] == {"plan": "premium", "daily_limit": 10000,
                                                                  "max_concurrent": 10}
    assert Zoho(sb, 1).get("/contacts", per_page=1).headers["X-Rate-Limit-Limit"] == "10000"
    assert requests.get(base + "/plans", timeout=10).json()["plans"][org_id]["plan"] == "premium"
    assert requests.post(base + "/plans", json={"org_id": org_id, "plan": "gold"}, timeout=10).status_code == 400
    assert requests.post(base + "/plans", json={"org_id": org_id}, timeout=10).status_code == 400
    assert requests.post(base + "/settings", json={"plans": {"brit-gb": 25}}, timeout=10).status_code == 200
    assert sb.plan(1) == 25


def test_the_free_plan_allows_five_requests_in_flight(sandbox_factory):
    sb = sandbox_factory(daily_limit=None, max_concurrent=10, latency=0.6, **TINY, plans={0: "free"})
    results: dict[int, list] = {0: [], 1: []}

    def call(i):
        results[i].append(Zoho(sb, i).get("/contacts", per_page=1).json()["code"])

    threads = [threading.Thread(target=call, args=(i,)) for i in (0, 1) for _ in range(7)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert sorted(results[0]) == [0] * 5 + [1070] * 2  # Free: 5 (docs/ZOHO_API.md §7)
    assert results[1] == [0] * 7  # no plan: max_concurrent (10)


# ----------------------------------------------------------------------------- other integrations
def test_spend_daily_lowers_remaining_as_if_another_integration_called(sandbox_factory):
    sb = sandbox_factory(daily_limit=1000, **TINY, plans={0: 30})
    z = Zoho(sb, 0)
    assert remaining(z.get("/contacts", per_page=1)) == 29
    assert sb.spend_daily(0, 10) == 10
    assert remaining(z.get("/contacts", per_page=1)) == 18
    r = requests.post(sb.url + "/_sandbox/spend_daily", json={"org_id": "acme-us", "n": 5}, timeout=10)
    assert r.status_code == 200 and r.json()["spent"] == 5 and r.json()["usage"]["remaining"] == 13
    assert remaining(z.get("/contacts", per_page=1)) == 12
    assert sb.spend_daily(0, 50) == 12  # only what is left: Zoho would refuse the rest
    assert z.get("/contacts").json() == body_45(30)
    assert sb.usage(0)["last_minute"] == 3  # other integrations' calls do not fill this sync's minute window
    assert sb.day_history(0) == [{"day": 1, "calls": 30, "limit": 30, "code_45": 1}]
    with pytest.raises(ValueError):
        sb.spend_daily(0, -1)
    assert requests.post(sb.url + "/_sandbox/spend_daily", json={"org_id": "acme-us"}, timeout=10).status_code == 400


# -------------------------------------------------------------------------------------- ending a day
def test_end_day_restores_the_budget_without_moving_the_clock_and_keeps_the_history(sandbox_factory):
    sb = sandbox_factory(daily_limit=None, **TINY, plans={0: 30, 1: 30})
    z, other = Zoho(sb, 0), Zoho(sb, 1)
    for _ in range(29):
        z.get("/contacts", per_page=1)
    sb.spend_daily(0, 1)
    assert z.get("/contacts").json()["code"] == 45
    assert other.get("/contacts", per_page=1).status_code == 200
    offset = sb.clock.time() - time.time()

    assert sb.end_day(0) == {sb.organizations[0].organization_id: 2}
    assert abs(sb.clock.time() - time.time() - offset) < 0.5  # no clock moved
    r = z.get("/contacts", per_page=1)
    assert r.headers["X-Rate-Limit-Remaining"] == "29" and r.headers["X-Rate-Limit-Limit"] == "30"
    # the new day ends at the next reset moment: the org-local midnight after the one still ahead
    assert abs(int(r.headers["X-Rate-Limit-Reset"]) - seconds_to_local_midnight(sb, 0, days_ahead=2)) <= 2
    assert sb.day_history(0) == [{"day": 1, "calls": 30, "limit": 30, "code_45": 1},
                                 {"day": 2, "calls": 1, "limit": 30, "code_45": 0}]
    assert sb.day_history(1) == [{"day": 1, "calls": 1, "limit": 30, "code_45": 0}]  # untouched
    assert remaining(other.get("/contacts", per_page=1)) == 28

    assert sb.end_day() == {o.organization_id: n for o, n in zip(sb.organizations, (3, 2))}  # every org
    assert remaining(z.get("/contacts", per_page=1)) == 29
    assert remaining(other.get("/contacts", per_page=1)) == 29
    assert [d["day"] for d in sb.day_history(0)] == [1, 2, 3]


def test_an_ended_day_lasts_until_the_next_reset_moment_then_the_clock_ends_it(sandbox_factory):
    sb = sandbox_factory(daily_limit=30, **TINY)
    z = Zoho(sb, 1)
    sb.end_day(1)
    reset = int(z.get("/contacts", per_page=1).headers["X-Rate-Limit-Reset"])
    assert reset > seconds_to_local_midnight(sb, 1)  # the local midnight ahead no longer resets the budget
    sb.clock.advance(reset - 5)
    z.token = sb.access_token(1)  # hours passed: the old token expired
    assert remaining(z.get("/contacts", per_page=1)) == 28  # still day 2
    sb.clock.advance(10)
    assert remaining(z.get("/contacts", per_page=1)) == 29  # day 3, ended by the clock
    assert sb.day_history(1) == [{"day": 1, "calls": 0, "limit": 30, "code_45": 0},
                                 {"day": 2, "calls": 2, "limit": 30, "code_45": 0},
                                 {"day": 3, "calls": 1, "limit": 30, "code_45": 0}]
    sb.clock.advance(2 * 86400 + 3 * 3600)  # days without calls are listed too
    assert [(d["day"], d["calls"]) for d in sb.day_history(1)][2:] == [(3, 1), (4, 0), (5, 0)]


def test_simulated_days_of_a_small_plan_each_at_most_the_budget(sandbox_factory):
    """The shape of the budget-aware sync's test: several Zoho days in a second or so."""
    sb = sandbox_factory(daily_limit=None, **TINY, plans={0: 30})
    z = Zoho(sb, 0)
    for day, others in enumerate((0, 12, 25)):
        sb.spend_daily(0, others)
        while z.get("/invoices", per_page=1).status_code == 200:
            pass  # a careless client: spends until refused, once a day
        sb.end_day(0)
    history = sb.day_history(0)
    assert history == [{"day": 1, "calls": 30, "limit": 30, "code_45": 1},
                       {"day": 2, "calls": 30, "limit": 30, "code_45": 1},
                       {"day": 3, "calls": 30, "limit": 30, "code_45": 1},
                       {"day": 4, "calls": 0, "limit": 30, "code_45": 0}]
    assert all(d["calls"] <= d["limit"] for d in history)
    assert sb.call_count("/books/v3/invoices", org_id=0, status=200) == 30 + 18 + 5


def test_injected_daily_45_faults_are_counted_with_the_orgs_limit(sandbox_factory):
    sb = sandbox_factory(daily_limit=None, **TINY, plans={0: "standard"})
    sb.faults.add("daily_45", count=2, org_id=sb.organizations[0].organization_id)
    z = Zoho(sb, 0)
    assert z.get("/contacts").json() == body_45(2000)
    assert z.get("/contacts").json() == body_45(2000)
    assert remaining(z.get("/contacts", per_page=1)) == 1999  # faults are not counted as calls
    assert sb.usage(0)["code_45"] == 2 and sb.day_history(0)[-1]["code_45"] == 2


def test_rate_headers_on_every_answer_counted_against_the_budget(sandbox_factory):
    sb = sandbox_factory(daily_limit=None, **TINY, plans={0: 30})
    z = Zoho(sb, 0)
    assert z.get("/invoices/1").status_code == 404
    r = z.get("/contacts", per_page=1, sort_column="nope")
    assert r.status_code == 400 and r.json()["code"] == 2
    assert r.headers["X-Rate-Limit-Remaining"] == "28"  # the 404 and this 400 both counted
    r = z.get("/contacts", token="not-a-token")
    assert r.status_code == 401 and not any(h in r.headers for h in RATE_HEADERS)  # not counted, no headers


# ------------------------------------------------------------------------------------ HTTP control
def test_http_control_for_days_usage_and_history(sandbox_factory):
    sb = sandbox_factory(daily_limit=None, **TINY, plans={0: 30})
    base, org_id = sb.url + "/_sandbox", sb.organizations[0].organization_id
    z = Zoho(sb, 0)
    z.get("/contacts", per_page=1)
    requests.post(base + "/exhaust_daily", json={"org_id": org_id}, timeout=10)
    assert z.get("/contacts").json()["code"] == 45
    usage = requests.get(base + "/usage", params={"org_id": org_id}, timeout=10).json()
    assert (usage["today"], usage["remaining"], usage["code_45"], usage["plan"]) == (30, 0, 1, 30)
    r = requests.post(base + "/end_day", json={"org_id": org_id}, timeout=10)
    assert r.status_code == 200 and r.json() == {"days": {org_id: 2}}
    assert remaining(z.get("/contacts", per_page=1)) == 29
    days = requests.get(base + "/day_history", params={"org_id": "acme-us"}, timeout=10).json()
    assert days == {"organization_id": org_id, "days": [{"day": 1, "calls": 30, "limit": 30, "code_45": 1},
                                                         {"day": 2, "calls": 1, "limit": 30, "code_45": 0}]}
    assert requests.post(base + "/end_day", json={}, timeout=10).json()["days"] == {
        org_id: 3, sb.organizations[1].organization_id: 2}
    assert requests.get(base + "/day_history", params={"org_id": "nobody"}, timeout=10).status_code == 404
    assert requests.get(base + "/day_history", timeout=10).status_code == 400


# ---------------------------------------------------------------------------- the per-minute window
def test_the_per_minute_window_can_be_shortened_at_run_time(sandbox_factory):
    sb = sandbox_factory(contacts_per_org=10, invoices_per_org=20, per_minute_limit=3, daily_limit=None)
    z = Zoho(sb, 0)
    sb.configure(rate_window=0.6)
    assert sb.rate_window == 0.6 and sb.info()["settings"]["rate_window"] == 0.6
    assert [z.get("/contacts", per_page=1).status_code for _ in range(4)] == [200, 200, 200, 429]
    time.sleep(0.7)  # real time, no clock moved
    assert z.get("/contacts", per_page=1).status_code == 200
    r = requests.post(sb.url + "/_sandbox/settings", json={"rate_window": 30}, timeout=10)
    assert r.status_code == 200 and r.json()["rate_window"] == 30.0
    assert requests.post(sb.url + "/_sandbox/settings", json={"rate_window": 0}, timeout=10).status_code == 400


# ------------------------------------------------------------------------------------------ build options
def test_constructor_plans_for_every_org_or_invalid(sandbox_factory):
    sb = sandbox_factory(**TINY, plans="professional")
    assert [sb.plan(i) for i in range(2)] == ["professional"] * 2
    with pytest.raises(ValueError):
        sandbox_factory(**TINY, plans={0: "platinum"})
    with pytest.raises(KeyError):
        sandbox_factory(**TINY, plans={"nobody": "free"})


def test_cli_plan_options(tmp_path):
    with cli_sandbox(tmp_path / "info.json", "--orgs", "3", "--contacts", "5", "--invoices", "10",
                     "--plan", "free", "--plan", "1=premium", "--plan", "chai-in=30") as (proc, info):
        plans = requests.get(info["url"] + "/_sandbox/plans", timeout=10).json()["plans"]
        ids = [o["organization_id"] for o in info["organizations"]]
        assert [plans[i]["plan"] for i in ids] == ["free", "premium", 30]
        for org, limit in zip(info["organizations"], ("1000", "10000", "30")):
            assert first_contacts_page(info, org).headers["X-Rate-Limit-Limit"] == limit
    assert proc.returncode == 0

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    bad = subprocess.run([sys.executable, "-m", "zoho_sandbox", "--plan", "gold"], cwd=ROOT, env=env,
                         capture_output=True, timeout=30, check=False)
    assert bad.returncode == 2 and b"--plan gold" in bad.stderr
