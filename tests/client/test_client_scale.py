"""Listings at scale: memory stays flat whatever the size; throughput with the limits off.

The sandboxes run in their own processes here, so that tracemalloc sees the client's memory only
(the in-process sandbox would add its own per-request bookkeeping) and the client gets a core of
its own for the throughput figure.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import tracemalloc
from itertools import islice
from pathlib import Path

import pytest

from zoho.books.client import ZohoBooksClient

ROOT = Path(__file__).resolve().parents[2]


class ExternalSandbox:
    """``python -m zoho_sandbox`` in a child process, limits off, one organisation."""

    def __init__(self, tmp_path: Path, invoices: int) -> None:
        self.info_file = tmp_path / f"sandbox-{invoices}.json"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "zoho_sandbox", "--no-limits", "--orgs", "1", "--contacts", "50",
             "--invoices", str(invoices), "--info-file", str(self.info_file)],
            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        self.info: dict | None = None

    def wait_ready(self, timeout: float = 60.0) -> dict:
        deadline = time.monotonic() + timeout
        while self.info is None:
            if self.process.poll() is not None:
                raise RuntimeError("sandbox process exited")
            if self.info_file.exists():
                self.info = json.loads(self.info_file.read_text())
                break
            if time.monotonic() > deadline:
                raise TimeoutError("sandbox did not start")
            time.sleep(0.05)
        return self.info

    def client(self, **overrides) -> ZohoBooksClient:
        info = self.wait_ready()
        org = info["organizations"][0]
        return ZohoBooksClient(
            client_id=org["client_id"], client_secret=org["client_secret"], refresh_token=org["refresh_token"],
            organization_id=org["organization_id"], api_base_url=info["url"], accounts_url=info["url"],
            tenant=org["user_id"], requests_per_minute=1_000_000, max_concurrent=10, **overrides,
        )

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


@pytest.fixture(scope="module")
def external_sandboxes(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sandboxes")
    made = {n: ExternalSandbox(tmp, n) for n in (10_000, 100_000)}  # both build in parallel
    yield made
    for sandbox in made.values():
        sandbox.stop()


def peak_while_listing(client: ZohoBooksClient) -> tuple[int, int]:
    """(records, tracemalloc peak in bytes) for one full invoice listing."""
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    count = 0
    for _ in client.iter_invoices():
        count += 1
    return count, tracemalloc.get_traced_memory()[1] - base


@pytest.mark.slow
def test_listing_memory_stays_flat_from_10k_to_100k_records(external_sandboxes):
    small, large = external_sandboxes[10_000].client(), external_sandboxes[100_000].client()
    for client in (small, large):  # warm up: token, session, imports outside the measurement
        list(islice(client.iter_invoices(), 1))
    tracemalloc.start()
    try:
        small_count, small_peak = peak_while_listing(small)
        large_count, large_peak = peak_while_listing(large)
    finally:
        tracemalloc.stop()
    print(f"\ntracemalloc peak: {small_count} records {small_peak / 1e6:.2f} MB; "
          f"{large_count} records {large_peak / 1e6:.2f} MB")
    assert (small_count, large_count) == (10_000, 100_000)
    assert large_peak < small_peak * 1.25  # ten times the records, the same memory


@pytest.mark.slow
def test_listing_throughput_with_limits_off(external_sandboxes):
    client = external_sandboxes[10_000].client()
    list(islice(client.iter_invoices(), 1))
    started = time.perf_counter()
    count = sum(1 for _ in client.iter_invoices())
    elapsed = time.perf_counter() - started
    pages = client.stats.calls_by_endpoint["invoices"] - 1
    print(f"\nthroughput, limits off: {count} invoices in {elapsed:.1f} s = {count / elapsed:,.0f} records/s "
          f"({pages / elapsed:.1f} pages/s of 200)")
    assert count == 10_000
