"""The API budget of an organisation, kept in the warehouse (``zoho.sync.budget``): the connection's
``daily_budget`` / ``budget_reserve``, and the ledger every run and worker draws from, over real
sockets (the sandbox's plans and Zoho days) and a real Postgres."""
from __future__ import annotations

import threading

import pytest

from tests.helpers import client_for, rows, scalar, sync
from zoho.books import ratelimit
from zoho.books.errors import BudgetStop, ConfigurationError
from zoho.sync.budget import DEFAULT_RESERVE, BudgetSettings, WarehouseBudget, budget_settings, org_key
from zoho.sync.extract import Tenant, sync_tenant

pytestmark = [pytest.mark.integration]


# --------------------------------------------------------------------------- the settings
@pytest.mark.parametrize("extra,field,message", [
    ({"daily_budget": -5}, "daily_budget", "must not be negative"),
    ({"daily_budget": "lots"}, "daily_budget", "must be a whole number"),
    ({"daily_budget": 99.5}, "daily_budget", "must be a whole number"),
    ({"daily_budget": True}, "daily_budget", "must be a whole number"),
    ({"daily_budget": 0}, "daily_budget", "must be at least 1"),
    ({"budget_reserve": -1}, "budget_reserve", "must not be negative"),
    ({"daily_budget": 500, "budget_reserve": 500}, "budget_reserve", "must be below 'daily_budget'"),
])
def test_bad_budget_values_are_a_clear_error_naming_the_tenant_and_the_field(extra, field, message):
    with pytest.raises(ConfigurationError) as err:
        budget_settings(extra, "acme")
    assert "[tenant acme]" in str(err.value) and field in str(err.value) and message in str(err.value)


def test_budget_defaults_follow_the_plan_and_keep_a_reserve_for_incremental_runs():
    unset = budget_settings({"daily_budget": "", "budget_reserve": None}, "acme")
    assert unset == BudgetSettings(None, None)
    assert unset.share(None, "sweep") is None  # nothing known before Zoho's first answer
    # incremental runs may spend all but the last call, which is kept for a sweep's look at a new day
    assert unset.share(1000, "incremental") == 999 and unset.share(1000, "sweep") == 1000 - DEFAULT_RESERVE
    assert unset.share(150, "sweep") == 150 - 30  # the default reserve is at most a fifth of the budget
    given = budget_settings({"daily_budget": "900", "budget_reserve": 100}, "acme")
    assert (given.share(1000, "sweep"), given.share(1000, "incremental")) == (800, 899)
    assert given.share(500, "incremental") == 499  # a budget above the plan is capped to it


# --------------------------------------------------------------------------- the ledger
@pytest.fixture
def small_plan(sandbox_factory, make_database):
    """One organisation on a 60-calls-a-day plan; 150 customers, 900 invoices (about 60 calls for a
    first sync); its own warehouse."""
    ratelimit.reset_shared_limiters()
    sb = sandbox_factory(seed=23, orgs=1, plans={0: 60}, per_minute_limit=None, max_concurrent=None)
    return sb, make_database("budget"), sb.organizations[0]


def history(sb, org):
    return sb.day_history(org)


def test_a_sweep_stops_at_its_share_and_resumes_after_zoho_ends_the_day(small_plan):
    sb, uri, org = small_plan
    settings = BudgetSettings(daily_budget=50, budget_reserve=20)
    client = client_for(sb, org)
    first = sync_tenant(client, uri, Tenant(org.user_id, org.country), "full", run_id="day-1", budget=settings)
    assert first.stopped == "sweep_share_spent"
    assert first.budget["spent_today"] == 30 and first.budget["plan_limit"] == 60
    assert sb.usage(org)["today"] == 30 and sb.usage(org)["code_45"] == 0
    status, reason = rows(uri, "select status, stop_reason from zoho_sync.sync_metadata where user_id = %s "
                               "and entity = 'contacts'", org.user_id)[0]
    assert (status, reason) in {("stopped", "sweep_share_spent"), ("success", None)}
    assert scalar(uri, "select count(*) from zoho_raw.contacts where user_id = %s", org.user_id) > 0

    # the same Zoho day: a second sweep makes one call of the reserve to look for a new day, finds
    # none and stops; incremental runs may spend the reserve, all but the budget's last call
    again = sync_tenant(client_for(sb, org), uri, Tenant(org.user_id, org.country), "full", run_id="day-1b",
                        budget=settings)
    assert again.stopped == "sweep_share_spent" and sb.usage(org)["today"] == 31
    inc = sync_tenant(client_for(sb, org), uri, Tenant(org.user_id, org.country), "incremental", run_id="inc-1",
                      budget=settings)
    assert sb.usage(org)["today"] <= 49 and inc.budget["spent_today"] == sb.usage(org)["today"]

    # Zoho ends the day (no clock moves): the next sweep sees it in the headers and goes on
    days = 1
    while True:
        sb.end_day(org)
        days += 1
        result = sync_tenant(client_for(sb, org), uri, Tenant(org.user_id, org.country), "full",
                             run_id=f"day-{days}", budget=settings)
        if result.stopped is None:
            break
        assert days < 8, "the sweep never completed"
    spent = [d["calls"] for d in history(sb, org)]
    assert max(spent) <= 50 and all(d["code_45"] == 0 for d in history(sb, org))
    assert rows(uri, "select status from zoho_sync.sync_metadata where user_id = %s order by entity",
                org.user_id) == [("success",), ("success",)]


def test_two_workers_of_one_organisation_draw_from_one_budget(small_plan):
    """Two processes' worth of clients (separate limiters, separate connections) on one ledger."""
    sb, uri, org = small_plan
    settings = BudgetSettings(daily_budget=25, budget_reserve=5)
    key = org_key(sb.url, org.organization_id)
    gates = [WarehouseBudget(uri, key, tenant=org.user_id, settings=settings, purpose="incremental",
                             per_minute=1000) for _ in range(2)]
    admitted = [0, 0]
    stops: list[BudgetStop] = []

    def worker(i):
        client = client_for(sb, org)
        client.set_budget(gates[i])
        try:
            for _ in range(40):
                client.get_contact(sb.contact_ids(org)[i])
                admitted[i] += 1
        except BudgetStop as stop:
            stops.append(stop)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for gate in gates:
        gate.close()
    assert sum(admitted) == 24 == sb.usage(org)["today"]  # the budget but its last call (a sweep's day probe)
    assert len(stops) == 2 and {s.reason for s in stops} == {"budget_spent"}
    assert sb.usage(org)["code_45"] == 0


def test_someone_else_spent_the_day_the_run_stops_cleanly_without_a_code_45(small_plan):
    sb, uri, org = small_plan
    sync(sb, uri, org, "full")  # the ledger learns the plan and the reset moment from the headers
    sb.end_day(org)  # a new Zoho day, which another integration spends entirely
    sb.spend_daily(org, 60)
    result, client = sync(sb, uri, org, "incremental")
    # the first call of the day cannot know: Zoho refuses it (code 45), and that is the only one
    assert result.stopped == "zoho_budget_exhausted"
    assert sb.usage(org)["code_45"] <= 1
    calls = len(sb.calls)
    result, _ = sync(sb, uri, org, "incremental")
    assert result.stopped == "zoho_budget_exhausted" and len(sb.calls) == calls  # no request at all now
    assert scalar(uri, "select stop_reason from zoho_sync.api_budget") == "zoho_budget_exhausted"


def test_a_budget_above_the_plan_is_capped_with_a_warning(small_plan, caplog):
    sb, uri, org = small_plan
    settings = BudgetSettings(daily_budget=5000, budget_reserve=10)
    with caplog.at_level("WARNING"):
        result = sync_tenant(client_for(sb, org), uri, Tenant(org.user_id, org.country), "full", run_id="cap",
                             budget=settings)
    assert result.stopped == "sweep_share_spent" and sb.usage(org)["today"] == 50  # 60 - 10
    assert any("above the organisation's plan limit of 60" in r.getMessage() for r in caplog.records)
