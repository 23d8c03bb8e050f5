"""Faults on demand: the next N matching requests fail in a chosen way."""
from __future__ import annotations

import threading
from dataclasses import asdict, dataclass

KINDS = {
    "http_500": "HTTP 500 {code 1000, Internal error}",
    "http_503": "HTTP 503 with a short non-JSON body, as a load balancer sends",
    "throttle_44": "HTTP 429 code 44 (per-minute block)",
    "throttle_1070": "HTTP 429 code 1070 (too many requests in flight)",
    "daily_45": "HTTP 429 code 45 (daily budget exhausted)",
    "slow": "answer normally after `delay` seconds (default 2), holding an in-flight slot",
    "drop": "close the connection without any response",
    "drop_mid_body": "send the headers and half of the body, then close the connection",
    "expire_tokens": "invalidate every issued access token now; this request gets 401 code 57",
}


@dataclass
class Fault:
    kind: str
    count: int | None  # remaining; None = until cleared
    path_prefix: str | None
    org_id: str | None
    delay: float | None
    after: int = 0  # matching requests still to let through before the fault starts
    fired: int = 0

    def matches(self, path: str, org_id: str | None) -> bool:
        if self.path_prefix is None:
            if not path.startswith("/books/"):  # untargeted faults hit the Books API, not the token endpoint
                return False
        elif not path.startswith(self.path_prefix):
            return False
        return self.org_id is None or self.org_id == org_id


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[Fault] = []

    def add(self, kind: str, count: int | None = 1, path_prefix: str | None = None, org_id: str | None = None,
            delay: float | None = None, after: int = 0) -> Fault:
        """Queue a fault for the next ``count`` matching requests (None: until cleared), after letting
        ``after`` matching requests through. ``path_prefix`` e.g. "/books/v3/invoices" or "/oauth" (the
        token endpoint is only hit by faults that target it); ``org_id`` limits it to one organisation."""
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; known: {', '.join(sorted(KINDS))}")
        if count is not None and count < 1:
            raise ValueError("count must be >= 1 or None")
        fault = Fault(kind, count, path_prefix, str(org_id) if org_id is not None else None,
                      float(delay) if delay is not None else None, int(after))
        with self._lock:
            self._rules.append(fault)
        return fault

    def take(self, path: str, org_id: str | None) -> Fault | None:
        """The first pending fault matching this request, consumed by one."""
        with self._lock:
            for fault in self._rules:
                if fault.matches(path, org_id):
                    if fault.after > 0:
                        fault.after -= 1
                        continue
                    fault.fired += 1
                    if fault.count is not None:
                        fault.count -= 1
                        if fault.count <= 0:
                            self._rules.remove(fault)
                    return fault
        return None

    def pending(self) -> list[dict]:
        with self._lock:
            return [asdict(f) for f in self._rules]

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()
