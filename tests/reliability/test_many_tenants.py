"""Twenty tenants in one run, with the sandbox enforcing each organisation's limits.

The DAG maps the extract task over the tenants with ``max_active_tis_per_dagrun=4``: at most four
tenants are synced at once, each by its own client, whose limiter keeps the organisation under
Zoho's limits. The test mirrors that with a pool of four threads calling ``sync_tenant`` (the pool
size is read from the DAG).

Zoho's limits are 100 requests per rolling 60 s, 10 in flight per organisation; the client's
defaults 90 per window and 5 in flight. Waiting whole minutes would make the test slow, so time is
scaled: the sandbox's window (``rate_window``) and the client's (``rate_window_seconds``) are 3 s,
with the same counts, and each tenant needs more than 90 requests, so every tenant hits its own
limit and must pace itself.

Checked: no request refused (no 429 at all), at most 90 requests per organisation in any rolling
window and at most 5 in flight (from the sandbox's record of every call), at most four tenants at
once, and the wall time within what the pool implies: with four workers taking tenants greedily,
``max(sum/4, longest) <= wall <= sum/4 + longest`` (list scheduling; ``sum`` = the tenants'
sync times added up), and each tenant's time is at least one window (it had to wait for its limit).
"""
from __future__ import annotations

import bisect
import math
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from zoho.books import ratelimit
from zoho.books.client import ZohoBooksClient
from zoho.sync.extract import Tenant, sync_tenant

from tests.helpers import scalar

pytestmark = [pytest.mark.integration, pytest.mark.slow]

WINDOW = 3.0  # seconds, standing for Zoho's minute
ZOHO_PER_WINDOW, ZOHO_IN_FLIGHT = 100, 10
CLIENT_PER_WINDOW, CLIENT_IN_FLIGHT = 90, 5
TENANTS = 20


@pytest.fixture(scope="module")
def pool_size():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(Path(__file__).resolve().parents[2] / "dags"))
    sizes = {bag.dags[d].get_task("extract").max_active_tis_per_dagrun
             for d in ("zoho_sync_nightly", "zoho_sync_incremental")}
    assert len(sizes) == 1
    return sizes.pop()


def max_in_window(starts: list[float], window: float) -> int:
    starts = sorted(starts)
    return max((bisect.bisect_left(starts, s + window) - i for i, s in enumerate(starts)), default=0)


def peak_overlap(spans: list[tuple[float, float]]) -> int:
    events = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans], key=lambda x: (x[0], x[1]))
    peak = current = 0
    for _, delta in events:
        current += delta
        peak = max(peak, current)
    return peak


def test_twenty_tenants_stay_within_their_limits_and_the_pool_bounds_the_wall_time(sandbox_factory, make_database,
                                                                                    pool_size):
    sb = sandbox_factory(seed=71, orgs=TENANTS, contacts_per_org=220, invoices_per_org=200,
                         per_minute_limit=ZOHO_PER_WINDOW, daily_limit=1000, max_concurrent=ZOHO_IN_FLIGHT,
                         rate_window=WINDOW)
    uri = make_database("many")
    ratelimit.reset_shared_limiters()
    sb.reset_calls()
    spans: dict[str, tuple[float, float]] = {}
    lock = threading.Lock()

    def run(org):
        conn = sb.airflow_connection(org)
        client = ZohoBooksClient.from_connection_fields(
            conn["login"], conn["password"],
            {**conn["extra"], "rate_window_seconds": WINDOW, "requests_per_minute": CLIENT_PER_WINDOW,
             "max_concurrent": CLIENT_IN_FLIGHT}, tenant=org.user_id)
        start = time.monotonic()
        sync_tenant(client, uri, Tenant(org.user_id, org.country), "full", run_id="twenty")
        with lock:
            spans[org.user_id] = (start, time.monotonic())
        return client.stats.total_calls

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=pool_size) as pool:
        calls = list(pool.map(run, sb.organizations))
    wall = time.monotonic() - started

    # every tenant landed, and every one needed more requests than one window allows
    assert scalar(uri, "select count(distinct user_id) from zoho_sync.sync_metadata where status = 'success'") == TENANTS
    assert min(calls) > CLIENT_PER_WINDOW, calls

    # no tenant over its limits: Zoho (the sandbox) refused nothing, and its record of every call
    # shows at most 90 per organisation in any rolling window and at most 5 in flight
    assert sb.call_count(status=429) == 0
    for org in sb.organizations:
        org_calls = sb.calls_matching("/books/", org_id=org.organization_id)
        assert len(org_calls) == calls[sb.organizations.index(org)]
        starts = [c.time - c.duration for c in org_calls]
        assert max_in_window(starts, WINDOW) <= CLIENT_PER_WINDOW, org.user_id
        assert peak_overlap([(c.time - c.duration, c.time) for c in org_calls]) <= CLIENT_IN_FLIGHT, org.user_id
        assert sb.usage(org)["in_flight"] == 0

    # the pool: at most `pool_size` tenants at once; the wall time as list scheduling implies
    durations = [end - start for start, end in spans.values()]
    total, longest = sum(durations), max(durations)
    assert peak_overlap(list(spans.values())) <= pool_size
    assert min(durations) >= WINDOW * (math.ceil(min(calls) / CLIENT_PER_WINDOW) - 1)  # paced by its limit
    assert max(total / pool_size, longest) <= wall + 0.01
    assert wall <= total / pool_size + longest + 1.0, (wall, total, longest)
    print(f"\n{TENANTS} tenants, pool of {pool_size}: wall {wall:.1f} s; per tenant {min(durations):.1f}-"
          f"{longest:.1f} s for {min(calls)}-{max(calls)} requests; bound sum/{pool_size} + longest = "
          f"{total / pool_size + longest:.1f} s")
