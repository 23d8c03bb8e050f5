"""Zoho Accounts stand-in: the refresh-token grant, issued access tokens and their limits."""
from __future__ import annotations

import secrets
import threading
from collections import OrderedDict, deque

from .generator import Org

TOKEN_THROTTLED = {
    "error_description": "You have made too many requests continuously. Please try again after some time.",
    "error": "Access Denied", "status": "failure"}


class TokenRegistry:
    """Issues and checks access tokens.

    Zoho's documented limits are modelled: at most ``token_limit`` (10) new access tokens per refresh
    token per ``token_window`` (600 s), then "Access Denied" (HTTP 400, an assumption: the status is
    UNCONFIRMED); at most 30 live access tokens per refresh token (the 31st silently deletes the
    oldest). Errors of the grant come back with HTTP 200 and an ``error`` key, like Zoho's.
    """

    MAX_LIVE = 30

    def __init__(self, clock, orgs: list[Org], url_getter, ttl: int = 3600, token_limit: int | None = 10,
                 token_window: int = 600) -> None:
        self.clock = clock
        self.orgs = orgs
        self.url_getter = url_getter
        self.ttl = ttl
        self.token_limit = token_limit
        self.token_window = token_window
        self.requests = 0  # every call to the token endpoint
        self.issued = 0
        self._lock = threading.Lock()
        self._tokens: dict[str, tuple[str, float]] = {}  # access token -> (refresh token, expires at)
        self._live: dict[str, OrderedDict] = {}  # refresh token -> access tokens, oldest first
        self._recent: dict[str, deque] = {}  # refresh token -> issue times in the window

    def count_request(self) -> None:
        """A token request answered without a grant (an injected fault)."""
        with self._lock:
            self.requests += 1

    def _org_by_refresh(self, refresh_token: str) -> Org | None:
        return next((o for o in self.orgs if o.refresh_token == refresh_token), None)

    def grant(self, params: dict) -> tuple[int, dict]:
        """``POST /oauth/v2/token``: returns (HTTP status, JSON body)."""
        with self._lock:
            self.requests += 1
            if params.get("grant_type") != "refresh_token":
                return 200, {"error": "unsupported_grant_type"}
            client = next((o for o in self.orgs if o.client_id == params.get("client_id")), None)
            if client is None or not secrets.compare_digest(client.client_secret, params.get("client_secret") or ""):
                return 200, {"error": "invalid_client"}
            owner = self._org_by_refresh(params.get("refresh_token") or "")
            if owner is None or owner.client_id != client.client_id:
                return 200, {"error": "invalid_code"}
            now = self.clock.time()
            recent = self._recent.setdefault(owner.refresh_token, deque())
            while recent and recent[0] <= now - self.token_window:
                recent.popleft()
            if self.token_limit is not None and len(recent) >= self.token_limit:
                return 400, dict(TOKEN_THROTTLED)
            recent.append(now)
            return 200, self._issue(owner, now)

    def _issue(self, owner: Org, now: float) -> dict:
        token = f"1000.{secrets.token_hex(16)}.{secrets.token_hex(16)}"
        self._tokens[token] = (owner.refresh_token, now + self.ttl)
        live = self._live.setdefault(owner.refresh_token, OrderedDict())
        live[token] = True
        while len(live) > self.MAX_LIVE:
            old, _ = live.popitem(last=False)
            self._tokens.pop(old, None)
        self.issued += 1
        return {"access_token": token, "api_domain": self.url_getter(), "token_type": "Bearer",
                "expires_in": int(self.ttl)}

    def mint(self, org: Org) -> str:
        """A valid access token for tests, without a token request (not counted, not throttled)."""
        with self._lock:
            return self._issue(org, self.clock.time())["access_token"]

    def orgs_of(self, access_token: str) -> list[Org] | None:
        """The organisations a live access token may use; None if unknown or expired."""
        with self._lock:
            entry = self._tokens.get(access_token)
            if entry is None:
                return None
            refresh, expires_at = entry
            if self.clock.time() >= expires_at:
                return None
            owner = self._org_by_refresh(refresh)
            # One Zoho user per organisation here: the token's owner owns exactly that organisation.
            return [owner] if owner else None

    def expire_all(self) -> int:
        with self._lock:
            n = len(self._tokens)
            self._tokens.clear()
            self._live.clear()
            return n

    def reset_throttle(self) -> None:
        with self._lock:
            self._recent.clear()
