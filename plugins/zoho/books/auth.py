"""OAuth 2.0 refresh-token grant against Zoho Accounts, with a token cache shared by threads.

Zoho issues at most 10 access tokens per 10 minutes per refresh token (docs/ZOHO_API.md §1.2), so the
token is cached until shortly before ``expires_in`` and refreshed by one thread at a time; the
others wait for that refresh instead of starting their own. ``shared_token_source`` gives every
client of the same credentials in the process the same cache.

Token endpoint facts handled here (docs/ZOHO_API.md §1.2):
- ``POST {accounts}/oauth/v2/token`` with a form body (never the query string: URLs end up in logs);
- errors come as JSON with an ``error`` key, often with HTTP 200 (``invalid_code``,
  ``invalid_client``, ``invalid_client_secret``; the throttle ``Access Denied``);
- ``expires_in`` is seconds, but old responses used milliseconds: above 86400 it is read as ms.
"""
from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import requests

from zoho.books.errors import AuthenticationError, InvalidCredentialsError, ZohoConnectionError
from zoho.books.ratelimit import backoff_delay
from zoho.rules.redaction import redact

TOKEN_PATH = "/oauth/v2/token"
ENDPOINT_NAME = "oauth token"
# Refresh this long before Zoho's expiry (capped at half the lifetime for short-lived tokens).
EXPIRY_MARGIN_SECONDS = 60.0
# Zoho's answers meaning "these credentials are wrong", as opposed to a transient refusal.
CREDENTIAL_ERRORS = {"invalid_code", "invalid_client", "invalid_client_secret", "invalid_token", "unauthorized_client"}


@dataclass(frozen=True)
class AccessToken:
    value: str
    expires_at: float  # monotonic clock
    api_domain: str | None = None

    def __repr__(self) -> str:  # never print the token
        return f"AccessToken(expires_at={self.expires_at:.0f})"


def expires_in_seconds(raw) -> float:
    """``expires_in`` in seconds; values above one day are milliseconds (old Zoho responses)."""
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return 3600.0
    if value > 86400:
        value /= 1000.0
    return max(value, 0.0)


class TokenSource:
    """Issues access tokens from a refresh token; thread-safe, one refresh at a time."""

    def __init__(
        self,
        *,
        accounts_url: str,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        tenant: str | None = None,
        timeout: float = 30.0,
        max_retries: int = 3,
        backoff_base: float = 1.0,
        session_factory: Callable[[], requests.Session] = requests.Session,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] = time.sleep,
        on_new_token: Callable[[str], object] | None = None,
    ) -> None:
        self.token_url = accounts_url.rstrip("/") + TOKEN_PATH
        self._client_id = client_id
        self._client_secret = client_secret
        self._refresh_token = refresh_token
        self.tenant = tenant
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self._session_factory = session_factory
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._token: AccessToken | None = None
        self.refresh_count = 0
        # called with every newly issued access token (the Airflow hook registers it with the
        # secrets masker); errors in the callback never break the sync
        self.on_new_token = on_new_token

    def __repr__(self) -> str:
        return f"TokenSource(token_url={self.token_url!r}, tenant={self.tenant!r})"

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every secret this source knows (for scrubbing error messages)."""
        values = [self._client_secret, self._refresh_token]
        if self._token is not None:
            values.append(self._token.value)
        return tuple(v for v in values if v)

    def get(self, tenant: str | None = None) -> tuple[str, bool]:
        """Return ``(access_token, refreshed)``; ``refreshed`` is True when this call fetched it.

        ``tenant`` labels errors (the source may be shared by clients of several labels)."""
        with self._lock:
            token = self._token
            if token is not None and self._clock() < token.expires_at:
                return token.value, False
            self._token = self._fetch(tenant or self.tenant)
            self.refresh_count += 1
            if self.on_new_token is not None:
                try:
                    self.on_new_token(self._token.value)
                except Exception:  # noqa: BLE001 - masking is best effort, never fatal
                    pass
            return self._token.value, True

    def invalidate(self, rejected: str) -> None:
        """The API refused ``rejected`` (401 / code 57): drop it unless another thread already
        replaced it, so a burst of 401s costs one refresh, not one each."""
        with self._lock:
            if self._token is not None and self._token.value == rejected:
                self._token = None

    def _error(self, cls, detail: str, tenant: str | None, **kwargs):
        return cls(redact(detail, self.secrets), tenant=tenant, endpoint=ENDPOINT_NAME, **kwargs)

    def _fetch(self, tenant: str | None) -> AccessToken:
        form = {
            "refresh_token": self._refresh_token,
            "client_id": self._client_id,
            "client_secret": self._client_secret,
            "grant_type": "refresh_token",
        }
        attempt = 0
        with self._session_factory() as session:
            while True:
                try:
                    resp = session.post(self.token_url, data=form, timeout=self.timeout)
                except (requests.ConnectionError, requests.Timeout) as exc:
                    if attempt < self.max_retries:
                        self._sleep(backoff_delay(attempt, self.backoff_base))
                        attempt += 1
                        continue
                    raise self._error(
                        ZohoConnectionError, f"token endpoint unreachable: {type(exc).__name__}", tenant
                    ) from None
                if resp.status_code >= 500 and attempt < self.max_retries:
                    self._sleep(backoff_delay(attempt, self.backoff_base))
                    attempt += 1
                    continue
                return self._parse(resp, tenant)

    def _parse(self, resp: requests.Response, tenant: str | None) -> AccessToken:
        try:
            body = json.loads(resp.text)
        except ValueError:
            raise self._error(
                AuthenticationError,
                f"token endpoint returned an unreadable body: {resp.text[:200]!r}",
                tenant,
                status=resp.status_code,
            ) from None
        if not isinstance(body, dict):
            raise self._error(
                AuthenticationError, "token endpoint returned an unexpected body", tenant, status=resp.status_code
            )
        error = body.get("error")
        if error:
            description = body.get("error_description") or ""
            cls = InvalidCredentialsError if str(error) in CREDENTIAL_ERRORS else AuthenticationError
            hint = {
                "invalid_code": "refresh token revoked, wrong, or from another data centre",
                "invalid_client": "client id unknown (or wrong data centre)",
                "invalid_client_secret": "client secret wrong",
            }.get(str(error), description or "token request refused")
            raise self._error(cls, f"token refresh failed: {error} ({hint})", tenant, status=resp.status_code)
        value = body.get("access_token")
        if resp.status_code >= 400 or not value:
            cls = InvalidCredentialsError if resp.status_code in (400, 401, 403) else AuthenticationError
            raise self._error(cls, "token endpoint issued no access token", tenant, status=resp.status_code)
        lifetime = expires_in_seconds(body.get("expires_in"))
        margin = min(EXPIRY_MARGIN_SECONDS, lifetime / 2)
        return AccessToken(str(value), self._clock() + lifetime - margin, body.get("api_domain"))


_SOURCES: dict[str, TokenSource] = {}
_SOURCES_LOCK = threading.Lock()


def shared_token_source(**kwargs) -> TokenSource:
    """One ``TokenSource`` per (accounts server, client id, secret, refresh token) in the process.

    Keyed by a hash, so the registry holds no secret as a key. Timeouts and retry settings come
    from the first client to ask; each client passes its own tenant label to ``get``.
    """
    material = "\x00".join(
        str(kwargs.get(k, "")) for k in ("accounts_url", "client_id", "client_secret", "refresh_token")
    )
    key = hashlib.sha256(material.encode()).hexdigest()
    with _SOURCES_LOCK:
        source = _SOURCES.get(key)
        if source is None:
            source = TokenSource(**kwargs)
            _SOURCES[key] = source
        elif kwargs.get("on_new_token") is not None:
            source.on_new_token = kwargs["on_new_token"]
        return source


def reset_shared_token_sources() -> None:
    """Forget every cached token (tests)."""
    with _SOURCES_LOCK:
        _SOURCES.clear()
