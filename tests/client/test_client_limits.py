"""The client's own limits against a sandbox that enforces Zoho's: in-flight cap, daily budget,
rolling-minute rate. No 429 should ever be provoked by the client."""
from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone

import pytest

from tests.client.conftest import settled
from zoho.books.errors import DailyBudgetExhaustedError

CONTACTS = "/books/v3/contacts"
INVOICES = "/books/v3/invoices"


def run_threads(target, args_list):
    errors: list[Exception] = []

    def wrapped(*args):
        try:
            target(*args)
        except Exception as exc:  # surfaced by the caller
            errors.append(exc)

    threads = [threading.Thread(target=wrapped, args=args) for args in args_list]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


@pytest.fixture
def three_in_flight(sb):
    """The sandbox refuses a 4th concurrent request (code 1070); every answer takes 0.2 s."""
    sb.max_concurrent = 3
    sb.faults.add("slow", count=None, path_prefix=CONTACTS, delay=0.2)
    yield sb
    sb.faults.clear()
    sb.max_concurrent = 10


def test_concurrency_cap_keeps_requests_in_flight_at_max_concurrent(three_in_flight, make_client):
    sb = three_in_flight
    client = make_client(sb, max_concurrent=3)
    client.get_contact(sb.contact_ids(0)[0])  # token fetched outside the measurement
    started = time.monotonic()
    errors = run_threads(client.get_contact, [(c,) for c in sb.contact_ids(0)[:9]])
    elapsed = time.monotonic() - started
    assert not errors
    assert client.limiter.peak_in_flight == 3
    assert settled(sb).call_count(CONTACTS, status=429) == 0 and client.stats.retries == 0
    assert elapsed >= 3 * 0.2 * 0.9  # 9 requests of 0.2 s, three at a time


def test_clients_of_one_organisation_share_the_concurrency_cap(three_in_flight, make_client):
    sb = three_in_flight
    a, b = make_client(sb, max_concurrent=3), make_client(sb, max_concurrent=3)
    assert a.limiter is b.limiter
    ids = sb.contact_ids(0)[:12]
    errors = run_threads(lambda i, c: (a if i % 2 else b).get_contact(c), list(enumerate(ids)))
    assert not errors and a.limiter.peak_in_flight == 3
    assert settled(sb).call_count(CONTACTS, status=429) == 0


def test_daily_budget_code_45_raises_with_resets_at_and_no_retry(sb, make_client):
    sb.rate_headers_on_429 = True
    try:
        client = make_client(sb)
        sb.faults.add("daily_45", count=1)
        with pytest.raises(DailyBudgetExhaustedError) as info:
            client.get_contact(sb.contact_ids(0)[0])
    finally:
        sb.rate_headers_on_429 = False
    err = info.value
    now = datetime.now(timezone.utc)
    assert err.code == 45 and err.status == 429
    assert now < err.resets_at <= now + timedelta(days=1, hours=1)
    assert settled(sb).call_count(CONTACTS) == 1 and client.stats.retries == 0


def test_daily_budget_exhausted_refuses_next_calls_without_a_request(sb, make_client):
    client = make_client(sb)
    sb.faults.add("daily_45", count=1)
    with pytest.raises(DailyBudgetExhaustedError):
        client.get_contact(sb.contact_ids(0)[0])
    before = settled(sb).call_count()
    with pytest.raises(DailyBudgetExhaustedError, match="no request made"):
        list(make_client(sb).iter_invoices())  # another client of the same organisation
    assert settled(sb).call_count() == before


def test_daily_budget_from_headers_stops_the_client_before_zoho_refuses(sb, make_client):
    sb.daily_limit = 5
    try:
        client = make_client(sb)
        for contact_id in sb.contact_ids(0)[:5]:
            client.get_contact(contact_id)
        assert client.stats.daily_remaining == 0
        with pytest.raises(DailyBudgetExhaustedError) as info:
            client.get_contact(sb.contact_ids(0)[5])
    finally:
        sb.daily_limit = 1000
    assert info.value.resets_at is not None and info.value.resets_at == client.stats.daily_resets_at
    assert settled(sb).call_count(CONTACTS) == 5 and sb.call_count(status=429) == 0


def test_stats_count_calls_by_endpoint_and_report_the_daily_budget(sb, make_client):
    client = make_client(sb)
    list(client.iter_invoices())
    client.get_contact(sb.contact_ids(0)[0])
    stats = client.stats.as_dict()
    assert stats["calls_by_endpoint"] == {"invoices": 5, "contact": 1}
    assert stats["total_calls"] == 6 and stats["token_refreshes"] == 1 and stats["retries"] == 0
    assert stats["daily_limit"] == 1000 and stats["daily_remaining"] == 1000 - 6
    assert datetime.fromisoformat(stats["daily_resets_at"]) > datetime.now(timezone.utc)


def max_in_window(times: list[float], window: float) -> int:
    times = sorted(times)
    best, lo = 0, 0
    for hi, t in enumerate(times):
        while times[lo] <= t - window:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


@pytest.mark.slow
def test_listing_of_101_pages_stays_under_zoho_rate_limit(sandbox_factory, make_client):
    """Zoho's 100 requests per rolling minute, enforced by the sandbox; the client is set to its
    default 90. 20,100 invoices need 101 pages: 90 at once, 11 more a minute later (~61 s)."""
    sb = sandbox_factory(orgs=1, contacts_per_org=20, invoices_per_org=20_100, per_minute_limit=100,
                         daily_limit=None, max_concurrent=10)
    client = make_client(sb, requests_per_minute=90)
    started = time.monotonic()
    count = sum(1 for _ in client.iter_invoices())
    elapsed = time.monotonic() - started
    calls = settled(sb).calls_matching(INVOICES)
    busiest = max_in_window([c.time for c in calls], 60.0)
    print(f"\n101-page listing: {len(calls)} requests in {elapsed:.1f} s; busiest rolling minute "
          f"{busiest} requests (client limit 90, Zoho 100); limiter wait {client.stats.limiter_wait_seconds:.1f} s")
    assert count == 20_100 and len(calls) == 101
    assert sb.call_count(status=429) == 0 and client.stats.retries == 0
    assert 81 <= busiest < 100  # within 10% of the configured 90, never at Zoho's limit
    assert 59 <= elapsed < 75
