"""Client-side rate limiting per Zoho organisation.

Zoho allows 100 requests per rolling minute per organisation, a daily budget per plan, and 5 (free)
or 10 (paid) requests in flight (docs/ZOHO_API.md §7). The client keeps below all three itself:

- ``RateLimiter``: at most ``requests_per_window`` requests in any rolling ``window_seconds``
  (default 90 per 60 s) and at most ``max_concurrent`` requests in flight (default 5). A request
  occupies the window from its start until ``window_seconds`` after it *finished*: Zoho counts it
  at some moment between the two, so the client's count is never below Zoho's, whatever the
  network latency. A caller that cannot start waits on a condition variable exactly until the
  oldest request leaves the window or a request in flight finishes; there is no fixed sleep.
  ``pause(seconds)`` holds every caller back after the server asked for it (``Retry-After``, a
  throttle code).
- ``DailyBudget``: the organisation's daily quota as last reported by ``X-Rate-Limit-Remaining`` /
  ``X-Rate-Limit-Reset``, decremented locally per request so parallel callers do not overshoot;
  at 0 the client refuses to call until the reset.
- ``shared_limiter(key, ...)``: one limiter per organisation per process, so every client of the
  same organisation (parallel tasks in one worker) shares the same budget.
- ``BudgetGate``: what a budget shared beyond the process (the warehouse ledger of
  ``zoho.sync.budget``) offers the client, which then asks it before each request instead of the
  in-process ``DailyBudget``.

``backoff_delay`` is the retry schedule (exponential with jitter) used by the client and the token
endpoint.
"""
from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from typing import Protocol

Clock = Callable[[], float]
Waiter = Callable[[threading.Condition, "float | None"], object]

DEFAULT_REQUESTS_PER_MINUTE = 90
DEFAULT_WINDOW_SECONDS = 60.0
DEFAULT_MAX_CONCURRENT = 5


def backoff_delay(attempt: int, base: float, cap: float = 60.0, rng: random.Random | None = None) -> float:
    """Delay before retry number ``attempt`` (0-based): ``base * 2**attempt`` capped, with "equal
    jitter" (half fixed, half random) so parallel clients do not retry in lockstep."""
    ceiling = min(cap, base * (2**attempt))
    return ceiling / 2 + (rng or random).uniform(0, ceiling / 2)


def _condition_wait(cond: threading.Condition, timeout: float | None) -> None:
    cond.wait(timeout)


class Slot:
    """One admitted request: ``waited`` is how long ``acquire`` blocked."""

    __slots__ = ("key", "waited")

    def __init__(self, key: int, waited: float) -> None:
        self.key = key
        self.waited = waited


class RateLimiter:
    """Rolling-window rate limit plus concurrency cap; thread-safe.

    ``clock`` (monotonic seconds) and ``wait`` (how to block on the condition for at most
    ``timeout`` seconds, None = until notified) are injectable so the schedule can be tested
    without real time passing.
    """

    def __init__(
        self,
        requests_per_window: int = DEFAULT_REQUESTS_PER_MINUTE,
        window_seconds: float = DEFAULT_WINDOW_SECONDS,
        max_concurrent: int = DEFAULT_MAX_CONCURRENT,
        *,
        clock: Clock = time.monotonic,
        wait: Waiter = _condition_wait,
    ) -> None:
        self._cond = threading.Condition()
        self._clock = clock
        self._wait = wait
        # request -> when it stops counting against the window (inf while in flight); at most
        # requests_per_window entries, so scanning it is cheap
        self._expiry: dict[int, float] = {}
        self._next_key = 0
        self._in_flight = 0
        self._paused_until = float("-inf")
        self.peak_in_flight = 0
        self.daily = DailyBudget()
        self.configure(requests_per_window, window_seconds, max_concurrent)

    def configure(self, requests_per_window: int, window_seconds: float, max_concurrent: int) -> None:
        if requests_per_window < 1 or window_seconds <= 0 or max_concurrent < 1:
            raise ValueError("rate limits must be positive")
        with self._cond:
            self.requests_per_window = int(requests_per_window)
            self.window_seconds = float(window_seconds)
            self.max_concurrent = int(max_concurrent)
            self._cond.notify_all()

    def _prune(self, now: float) -> None:
        for key in [k for k, expiry in self._expiry.items() if expiry <= now]:
            del self._expiry[key]

    def acquire(self) -> Slot:
        """Block until a request may start; the returned slot must be given back to ``release``."""
        start = self._clock()
        with self._cond:
            while True:
                now = self._clock()
                self._prune(now)
                timeout: float | None
                if self._paused_until > now:
                    timeout = self._paused_until - now
                elif len(self._expiry) >= self.requests_per_window:
                    soonest = min(self._expiry.values())
                    timeout = None if soonest == float("inf") else soonest - now
                elif self._in_flight >= self.max_concurrent:
                    timeout = None  # until a request in flight is released
                else:
                    key = self._next_key
                    self._next_key += 1
                    self._expiry[key] = float("inf")
                    self._in_flight += 1
                    self.peak_in_flight = max(self.peak_in_flight, self._in_flight)
                    return Slot(key, now - start)
                self._wait(self._cond, timeout)

    def release(self, slot: Slot) -> None:
        """The request is answered (or failed): it counts for one more window from now."""
        with self._cond:
            if slot.key in self._expiry:
                self._expiry[slot.key] = self._clock() + self.window_seconds
            self._in_flight = max(0, self._in_flight - 1)
            self._cond.notify_all()

    @contextmanager
    def slot(self) -> Iterator[Slot]:
        admitted = self.acquire()
        try:
            yield admitted
        finally:
            self.release(admitted)

    def pause(self, seconds: float) -> None:
        """Hold every caller back for ``seconds`` from now (server asked us to slow down)."""
        with self._cond:
            self._paused_until = max(self._paused_until, self._clock() + max(0.0, seconds))
            self._cond.notify_all()

    @property
    def in_flight(self) -> int:
        with self._cond:
            return self._in_flight

    def recent_requests(self) -> int:
        """Requests counting against the current window (diagnostics and tests)."""
        with self._cond:
            self._prune(self._clock())
            return len(self._expiry)


class DailyBudget:
    """The organisation's daily request quota, as Zoho reports it in ``X-Rate-Limit-*`` headers.

    Unknown (None) until the first response carrying the headers. ``X-Rate-Limit-Reset`` is the
    number of seconds until the quota resets (docs/ZOHO_API.md §7); it is kept as an absolute wall-clock
    time. Within one period the remaining count only goes down, so a late response with a higher
    ``Remaining`` does not undo the local decrements of requests made since.
    """

    def __init__(self, wall_clock: Clock = time.time) -> None:
        self._lock = threading.Lock()
        self._wall = wall_clock
        self.limit: int | None = None
        self.remaining: int | None = None
        self.resets_at: float | None = None  # epoch seconds

    def _expire(self, now: float) -> None:
        if self.resets_at is not None and now >= self.resets_at:
            self.remaining = None
            self.resets_at = None

    def is_exhausted(self) -> tuple[bool, float | None]:
        """``(exhausted, resets_at)`` without counting a request."""
        with self._lock:
            self._expire(self._wall())
            return (self.remaining is not None and self.remaining <= 0), self.resets_at

    def try_reserve(self) -> tuple[bool, float | None]:
        """Count one request against the budget. Returns ``(allowed, resets_at)``."""
        with self._lock:
            self._expire(self._wall())
            if self.remaining is None:
                return True, self.resets_at
            if self.remaining <= 0:
                return False, self.resets_at
            self.remaining -= 1
            return True, self.resets_at

    def update(self, limit: int | None, remaining: int | None, reset_seconds: float | None) -> None:
        if remaining is None:
            return
        with self._lock:
            now = self._wall()
            self._expire(now)
            new_reset = now + reset_seconds if reset_seconds is not None else None
            new_period = (
                self.remaining is None
                or (new_reset is not None and self.resets_at is not None and new_reset > self.resets_at + 60)
            )
            if new_period:
                self.remaining = remaining
            else:
                self.remaining = min(self.remaining, remaining)
            if new_reset is not None:
                self.resets_at = new_reset
            if limit is not None:
                self.limit = limit

    def mark_exhausted(self, reset_seconds: float | None) -> float | None:
        """Zoho answered code 45. Returns the reset time (epoch) if known.

        Without a reset time the budget stays exhausted for an hour: the next attempt after that
        costs one request and either works or learns the reset time.
        """
        with self._lock:
            now = self._wall()
            self.remaining = 0
            if reset_seconds is not None:
                self.resets_at = now + reset_seconds
            elif self.resets_at is None or self.resets_at <= now:
                self.resets_at = now + 3600.0
                return None
            return self.resets_at

    def snapshot(self) -> tuple[int | None, float | None]:
        with self._lock:
            self._expire(self._wall())
            return self.remaining, self.resets_at


_REGISTRY: dict[Hashable, RateLimiter] = {}
_REGISTRY_LOCK = threading.Lock()


def shared_limiter(
    key: Hashable,
    requests_per_window: int = DEFAULT_REQUESTS_PER_MINUTE,
    window_seconds: float = DEFAULT_WINDOW_SECONDS,
    max_concurrent: int = DEFAULT_MAX_CONCURRENT,
) -> RateLimiter:
    """The process-wide limiter of one organisation (``key``, e.g. ``(api host, organization_id)``).

    Clients of the same organisation share it, so their requests add up against one budget. When a
    client asks for different limits, the latest configuration applies to all of them (the
    history of recent starts is kept, so reconfiguring never opens a burst).
    """
    with _REGISTRY_LOCK:
        limiter = _REGISTRY.get(key)
        if limiter is None:
            limiter = RateLimiter(requests_per_window, window_seconds, max_concurrent)
            _REGISTRY[key] = limiter
        elif (limiter.requests_per_window, limiter.window_seconds, limiter.max_concurrent) != (
            requests_per_window,
            float(window_seconds),
            max_concurrent,
        ):
            limiter.configure(requests_per_window, window_seconds, max_concurrent)
        return limiter


def reset_shared_limiters() -> None:
    """Forget every organisation's limiter (tests)."""
    with _REGISTRY_LOCK:
        _REGISTRY.clear()


class BudgetGate(Protocol):
    """What the client asks before each request and tells after it (``ZohoBooksClient.set_budget``)."""

    def admit(self, endpoint: str) -> None:
        """Return when a request may start; raise ``BudgetStop`` when none may today."""

    def observe(self, limit: int | None, remaining: int | None, reset_seconds: float | None) -> None:
        """Zoho's ``X-Rate-Limit-Limit``, ``-Remaining`` and ``-Reset`` of an answer."""

    def exhausted(self, reset_seconds: float | None) -> None:
        """Zoho answered code 45."""
