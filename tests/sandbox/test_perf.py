"""Build time, memory and page latency with 250,000 invoices (printed; only correctness is asserted)."""
from __future__ import annotations

import os
import statistics
import time

import pytest

from tests.sandbox.helpers import Zoho
from zoho_sandbox import Sandbox

pytestmark = pytest.mark.slow


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def timed(fn, repeat: int = 1) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), result


def test_page_latency_with_250k_invoices(capsys):
    rss0 = rss_mb()
    t0 = time.perf_counter()
    sb = Sandbox(seed=1, orgs=1, contacts_per_org=25_000, invoices_per_org=250_000, per_minute_limit=None,
                 daily_limit=None, max_concurrent=None)
    build_s = time.perf_counter() - t0
    grown = rss_mb() - rss0
    rows = []
    with sb:
        z = Zoho(sb)
        one_id = sb.invoice_ids(0)[123_456]
        lmt_from = "2000-01-01T00:00:00+0000"
        probes = [
            ("invoices p1 default sort (cold: filter+sort 250k)", lambda: z.ok("/invoices"), 1),
            ("invoices p1 default sort (cached)", lambda: z.ok("/invoices"), 5),
            ("invoices p1000 (cached)", lambda: z.ok("/invoices", page=1000), 5),
            ("invoices last_modified_time filter p1 (cold)",
             lambda: z.ok("/invoices", last_modified_time=lmt_from, sort_column="last_modified_time",
                          sort_order="A"), 1),
            ("invoices last_modified_time filter p2 (cached)",
             lambda: z.ok("/invoices", last_modified_time=lmt_from, sort_column="last_modified_time",
                          sort_order="A", page=2), 5),
            ("invoices status=overdue p1 (cold)", lambda: z.ok("/invoices", status="overdue"), 1),
            ("contacts p1 (cold)", lambda: z.ok("/contacts"), 1),
            ("contacts p2 (cached)", lambda: z.ok("/contacts", page=2), 5),
            ("one invoice", lambda: z.ok(f"/invoices/{one_id}"), 5),
        ]
        for name, fn, repeat in probes:
            sb.reset_calls()
            ms, body = timed(fn, repeat)
            records = body.get("invoices", body.get("contacts"))
            if records is not None:
                assert len(records) == 200 and body["page_context"]["has_more_page"] is True
            server_ms = statistics.median(c.duration for c in sb.calls) * 1000
            rows.append((name, ms, server_ms))
        total = z.ok("/invoices", per_page=1, response_option=1)["page_context"]["total"]
        assert total == 250_000
    with capsys.disabled():
        print(f"\n[sandbox perf] build 1 org x (25,000 contacts + 250,000 invoices): {build_s:.1f}s, "
              f"RSS +{grown:.0f} MB")
        print("[sandbox perf] median ms: server = request in to JSON bytes out; round trip = in-process client,"
              " incl. its JSON parsing")
        for name, ms, server_ms in rows:
            print(f"[sandbox perf] {name:52s} server {server_ms:7.1f}   round trip {ms:7.1f}")
