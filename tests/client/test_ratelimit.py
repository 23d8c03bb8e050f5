"""The per-organisation limiter, on an injected clock (no real waiting) and with real threads."""
from __future__ import annotations

import threading
import time

import pytest

from zoho.books.ratelimit import DailyBudget, RateLimiter, backoff_delay, reset_shared_limiters, shared_limiter


class FakeClock:
    """Monotonic clock that jumps forward by exactly the time a waiter asks to wait."""

    def __init__(self) -> None:
        self.now = 0.0
        self.waits: list[float] = []

    def __call__(self) -> float:
        return self.now

    def wait(self, cond, timeout):
        assert timeout is not None, "single-threaded test should never wait for a release"
        self.waits.append(timeout)
        self.now += timeout


@pytest.fixture
def clock():
    return FakeClock()


def test_acquire_admits_a_burst_up_to_the_limit_without_waiting(clock):
    limiter = RateLimiter(5, 60.0, 10, clock=clock, wait=clock.wait)
    waited = [limiter.acquire().waited for _ in range(5)]
    assert waited == [0.0] * 5 and clock.waits == []


def test_acquire_waits_exactly_until_the_oldest_start_leaves_the_window(clock):
    limiter = RateLimiter(3, 10.0, 10, clock=clock, wait=clock.wait)
    for t in (0.0, 1.0, 2.0):
        clock.now = t
        limiter.release(limiter.acquire())
    waited = limiter.acquire().waited
    assert waited == pytest.approx(8.0)  # the request of t=0 leaves the window at t=10
    assert clock.now == pytest.approx(10.0)


def test_request_counts_in_the_window_until_a_window_after_it_finished(clock):
    limiter = RateLimiter(1, 10.0, 10, clock=clock, wait=clock.wait)
    slot = limiter.acquire()
    clock.now = 3.0  # the answer took 3 s: Zoho may have counted it as late as t=3
    limiter.release(slot)
    assert limiter.acquire().waited == pytest.approx(10.0)  # admitted at t=13, not t=10


def test_acquire_never_exceeds_the_limit_in_any_rolling_window(clock):
    limiter = RateLimiter(10, 60.0, 10, clock=clock, wait=clock.wait)
    starts = []
    for _ in range(101):
        slot = limiter.acquire()
        starts.append(clock.now)
        limiter.release(slot)
    for i, t in enumerate(starts):
        assert sum(1 for s in starts if t <= s < t + 60.0) <= 10, i
    # 101 starts = 10 full windows + 1: the achieved rate is the configured one
    assert starts[-1] == pytest.approx(600.0)


def test_pause_holds_every_caller_back_until_it_ends(clock):
    limiter = RateLimiter(100, 60.0, 10, clock=clock, wait=clock.wait)
    limiter.pause(7.5)
    assert limiter.acquire().waited == pytest.approx(7.5)


def test_acquire_caps_requests_in_flight_across_threads():
    limiter = RateLimiter(1000, 60.0, 2)
    errors = []

    def work():
        try:
            with limiter.slot():
                time.sleep(0.03)
        except Exception as exc:  # pragma: no cover - surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert limiter.peak_in_flight == 2
    assert time.monotonic() - started >= 0.03 * 4 * 0.9  # 8 slots of 30 ms, 2 at a time


def test_shared_limiter_is_one_per_organisation():
    reset_shared_limiters()
    a = shared_limiter(("https://api", "1"), 90, 60.0, 5)
    b = shared_limiter(("https://api", "1"), 90, 60.0, 5)
    c = shared_limiter(("https://api", "2"), 90, 60.0, 5)
    assert a is b and a is not c


def test_shared_limiter_applies_the_latest_limits_to_all_clients():
    reset_shared_limiters()
    a = shared_limiter(("https://api", "1"), 90, 60.0, 5)
    shared_limiter(("https://api", "1"), 50, 60.0, 3)
    assert (a.requests_per_window, a.max_concurrent) == (50, 3)


def test_daily_budget_refuses_once_remaining_reaches_zero():
    now = [1000.0]
    budget = DailyBudget(wall_clock=lambda: now[0])
    budget.update(1000, 2, 3600)
    assert budget.try_reserve() == (True, 4600.0)
    assert budget.try_reserve() == (True, 4600.0)
    assert budget.try_reserve() == (False, 4600.0)


def test_daily_budget_reopens_after_the_reset():
    now = [1000.0]
    budget = DailyBudget(wall_clock=lambda: now[0])
    budget.update(1000, 0, 60)
    assert budget.try_reserve()[0] is False
    now[0] += 61
    assert budget.try_reserve()[0] is True


def test_daily_budget_ignores_a_stale_higher_remaining_within_the_period():
    now = [0.0]
    budget = DailyBudget(wall_clock=lambda: now[0])
    budget.update(1000, 10, 3600)
    budget.update(1000, 50, 3599)
    assert budget.remaining == 10


def test_backoff_delay_grows_exponentially_with_bounded_jitter():
    for attempt in range(6):
        ceiling = min(30.0, 0.5 * 2**attempt)
        for _ in range(20):
            assert ceiling / 2 <= backoff_delay(attempt, 0.5, 30.0) <= ceiling
