"""``ZohoBooksClient``: the Zoho Books API v3 client used by the extract tasks.

One request routine for every endpoint (``zoho.books.endpoints``): OAuth header, ``organization_id``,
client-side rate limiting (``zoho.books.ratelimit``), ``code == 0`` check, typed errors
(``zoho.books.errors``), bounded retries for what is transient and none for what is not. Listings are
generators that stream page by page, so memory stays flat whatever the number of records.

Retry policy (docs/ZOHO_API.md §1.5, §7, §8):

| answer | what the client does |
|---|---|
| 401 / code 57 | drop the token, refresh once, retry once; again -> ``InvalidCredentialsError`` |
| code 6041, code 2, code 1002 / 404, other codes | raise at once (``WrongOrganizationError``, ``BadParameterError``, ``NotFoundError``, ``ApiError``) |
| code 45 | raise ``DailyBudgetExhaustedError`` (``resets_at`` from ``X-Rate-Limit-Reset``); later calls are refused without a request until then |
| code 44 / 1070 / other 429 | pause the organisation's limiter (``Retry-After`` if sent, else backoff), retry, at most ``max_retries`` |
| 5xx / code 1000, connection errors, timeouts | backoff with jitter, retry, at most ``max_retries`` |
| body not JSON | ``UnreadableResponseError`` quoting the first 200 characters (a 5xx one is a retried ``ServerError``) |

Elsewhere: one answer read (``responses``), counters (``stats``), timestamps, connection settings.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from zoho.books import endpoints as ep
from zoho.books import regions
from zoho.books.auth import shared_token_source
from zoho.books.connection import client_settings
from zoho.books.endpoints import Endpoint
from zoho.books.pages import Page, paginate
from zoho.books.errors import (
    ApiError,
    ConfigurationError,
    DailyBudgetExhaustedError,
    InvalidCredentialsError,
    ThrottledError,
    ZohoConnectionError,
    ZohoError,
)
from zoho.books.ratelimit import (
    DEFAULT_MAX_CONCURRENT,
    DEFAULT_REQUESTS_PER_MINUTE,
    DEFAULT_WINDOW_SECONDS,
    backoff_delay,
    BudgetGate,
    shared_limiter,
)
from zoho.books.responses import TokenRejected, daily_budget, read_response, retry_after, server_time
from zoho.books.stats import ClientStats
from zoho.books.timestamps import epoch_to_utc, format_timestamp, parse_timestamp

__all__ = ["ClientStats", "ZohoBooksClient", "format_timestamp", "parse_timestamp"]

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------- client


class ZohoBooksClient:
    """Zoho Books API v3 client for one organisation.

    Thread-safe: threads may share one client (each gets its own HTTP session); the rate limiter
    and the token cache are shared by every client of the same organisation / credentials in the
    process.

    Settings: ``region`` (``com``, ``eu``, ``in``, ``com.au``, ``jp``, ``ca``, ``com.cn``, ``sa``)
    or the ``api_base_url`` / ``accounts_url`` roots; ``tenant`` labels errors and logs;
    ``requests_per_minute`` (90) requests per rolling ``rate_window_seconds`` (60) and
    ``max_concurrent`` (5) in flight, per organisation; ``timeout`` per request (s);
    ``max_retries`` for transient failures, with backoff ``backoff_base * 2**n`` (jittered, capped
    at ``backoff_cap``); a server-requested wait above ``max_retry_wait`` fails at once;
    ``on_new_token`` is called with each access token issued (the Airflow hook masks it).

    Public API: ``iter_contacts``, ``iter_invoices``, ``iter_endpoint``, ``iter_pages`` (generators),
    ``get_contact``, ``get_invoice``, ``list_contact_persons``, ``list_organizations``,
    ``test_connection``, ``stats``, ``close``.
    """

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        organization_id: str,
        region: str | None = regions.DEFAULT_REGION,
        api_base_url: str | None = None,
        accounts_url: str | None = None,
        tenant: str | None = None,
        requests_per_minute: int = DEFAULT_REQUESTS_PER_MINUTE,
        max_concurrent: int = DEFAULT_MAX_CONCURRENT,
        rate_window_seconds: float = DEFAULT_WINDOW_SECONDS,
        timeout: float = 30.0,
        max_retries: int = 4,
        backoff_base: float = 1.0,
        backoff_cap: float = 60.0,
        max_retry_wait: float = 300.0,
        on_new_token: Callable[[str], object] | None = None,
    ) -> None:
        self.organization_id = str(organization_id or "").strip()
        self.tenant = str(tenant) if tenant else (self.organization_id or "?")
        missing = [
            name
            for name, value in (
                ("client_id", client_id),
                ("client_secret", client_secret),
                ("refresh_token", refresh_token),
                ("organization_id", self.organization_id),
            )
            if not value
        ]
        if missing:
            raise ConfigurationError(
                f"missing Zoho setting(s): {', '.join(missing)}", tenant=self.tenant, endpoint="configuration"
            )
        self.region = (region or regions.DEFAULT_REGION).strip().lower()
        self.accounts_url, self.api_base_url = regions.resolve(self.region, api_base_url, accounts_url)
        self.timeout = float(timeout)
        self.max_retries = int(max_retries)
        self.backoff_base = float(backoff_base)
        self.backoff_cap = float(backoff_cap)
        self.max_retry_wait = float(max_retry_wait)
        self.max_concurrent = int(max_concurrent)
        self._secrets = tuple(s for s in (client_secret, refresh_token) if s)
        self._tokens = shared_token_source(
            accounts_url=self.accounts_url,
            client_id=client_id,
            client_secret=client_secret,
            refresh_token=refresh_token,
            tenant=self.tenant,
            timeout=self.timeout,
            max_retries=min(self.max_retries, 3),
            backoff_base=self.backoff_base,
            on_new_token=on_new_token,
        )
        self._limiter = shared_limiter(
            (self.api_base_url, self.organization_id),
            int(requests_per_minute),
            float(rate_window_seconds),
            self.max_concurrent,
        )
        self._stats = ClientStats()
        self._stats_lock = threading.Lock()
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._sessions_lock = threading.Lock()
        self._sleep: Callable[[float], object] = time.sleep
        self._budget: BudgetGate | None = None

    # ----------------------------------------------------------------- construction

    @classmethod
    def from_connection_fields(
        cls,
        login: str | None,
        password: str | None,
        extra: Mapping[str, Any] | str | None,
        *,
        tenant: str | None = None,
        **overrides: Any,
    ) -> "ZohoBooksClient":
        """Build from an Airflow-style connection's fields (``zoho.books.connection``: ``login`` =
        client id, ``password`` = client secret, ``extra`` = ``refresh_token``, ``organization_id``,
        ``region``, ...); ``overrides`` replace what the connection says."""
        return cls(**{**client_settings(login, password, extra, tenant=tenant), **overrides})

    def __repr__(self) -> str:
        return (
            f"ZohoBooksClient(tenant={self.tenant!r}, organization_id={self.organization_id!r}, "
            f"api_base_url={self.api_base_url!r})"
        )

    def close(self) -> None:
        with self._sessions_lock:
            for session in self._sessions:
                session.close()
            self._sessions.clear()
        self._local = threading.local()

    def __enter__(self) -> "ZohoBooksClient":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # ----------------------------------------------------------------- stats

    @property
    def stats(self) -> ClientStats:
        """A snapshot of the counters (safe to keep; later calls do not change it)."""
        remaining, resets_at = self._limiter.daily.snapshot()
        with self._stats_lock:
            return replace(
                self._stats,
                calls_by_endpoint=dict(self._stats.calls_by_endpoint),
                daily_limit=self._limiter.daily.limit,
                daily_remaining=remaining,
                daily_resets_at=epoch_to_utc(resets_at),
            )

    def set_budget(self, budget: BudgetGate | None) -> None:
        """Ask ``budget`` (e.g. the warehouse ledger of ``zoho.sync.budget``) before every request
        instead of the in-process daily budget; None goes back to that."""
        self._budget = budget

    @property
    def limiter(self):
        """The organisation's shared ``RateLimiter`` (diagnostics, tests)."""
        return self._limiter

    def _bump(self, **deltas: float) -> None:
        with self._stats_lock:
            for name, delta in deltas.items():
                setattr(self._stats, name, getattr(self._stats, name) + delta)

    # ----------------------------------------------------------------- public API

    def iter_contacts(self, modified_since: datetime | str | None = None) -> Iterator[dict]:
        """Customers (``contact_type=customer``, ``filter_by=Status.All``), page by page; with
        ``modified_since``, only those whose ``last_modified_time`` is at/after it, ascending."""
        return self.iter_endpoint(ep.CONTACTS, modified_since=modified_since)

    def iter_invoices(self, modified_since: datetime | str | None = None) -> Iterator[dict]:
        """Invoices, page by page (Zoho's default order); ``modified_since`` filters on
        ``last_modified_time``. Invoices Zoho repeats across adjacent pages come out once."""
        return self.iter_endpoint(ep.INVOICES, modified_since=modified_since)

    def get_contact(self, contact_id: str) -> dict:
        """One contact with its ``contact_persons``; ``NotFoundError`` if Zoho has no such contact."""
        return self._get_one(ep.CONTACT, contact_id=contact_id)

    def get_invoice(self, invoice_id: str) -> dict:
        return self._get_one(ep.INVOICE, invoice_id=invoice_id)

    def list_contact_persons(self, contact_id: str) -> list[dict]:
        """A contact's persons in Zoho's order (the order the phone rule uses)."""
        return list(self.iter_endpoint(ep.CONTACT_PERSONS, contact_id=contact_id))

    def list_organizations(self) -> list[dict]:
        body = self._call(ep.ORGANIZATIONS, {}, {})
        return list(body.get(ep.ORGANIZATIONS.records_key) or [])

    def test_connection(self) -> tuple[bool, str]:
        """Check credentials, organisation and the contacts/invoices scopes with two one-record
        requests. Returns ``(ok, message)``; the message never contains a secret."""
        try:
            for endpoint in (ep.CONTACTS, ep.INVOICES):
                self._call(endpoint, {}, {**endpoint.params, "page": 1, "per_page": 1})
        except ZohoError as err:
            return False, str(err)
        return True, (
            f"Connected to Zoho Books organisation {self.organization_id} at {self.api_base_url} "
            f"(tenant {self.tenant}); contacts and invoices readable"
        )

    def iter_endpoint(
        self,
        endpoint: Endpoint | str,
        *,
        params: Mapping[str, Any] | None = None,
        modified_since: datetime | str | None = None,
        **path_ids: str,
    ) -> Iterator[dict]:
        """Stream the records of a listing endpoint, following ``page_context.has_more_page``.

        A record whose primary key was already seen on the previous or the current page is
        dropped (Zoho repeats invoices across pages); the window is two pages, so memory stays
        flat: the loader dedupes again by primary key. Records without a primary key are yielded
        as they are (the loader quarantines them).
        """
        endpoint = ep.ENDPOINTS[endpoint] if isinstance(endpoint, str) else endpoint
        query: dict[str, Any] = dict(endpoint.params)
        if modified_since is not None:
            if not endpoint.cursor_field:
                raise ConfigurationError(
                    "endpoint has no cursor field", tenant=self.tenant, endpoint=endpoint.name
                )
            query[endpoint.cursor_field] = format_timestamp(modified_since)
            query.update(endpoint.incremental_sort)
        query.update(params or {})
        if not endpoint.paginated:
            body = self._call(endpoint, path_ids, query)
            yield from body.get(endpoint.records_key) or []
            return
        for page in self._pages(endpoint, path_ids, query, 1):
            yield from page.records

    def iter_pages(self, endpoint: Endpoint | str, *, start_page: int = 1, params: Mapping[str, Any] | None = None,
                   **path_ids: str) -> Iterator[Page]:
        """The pages of a listing from ``start_page`` on (``zoho.books.pages``), for a reader that
        keeps a checkpoint: each ``Page`` says its number, its records and whether more follow."""
        endpoint = ep.ENDPOINTS[endpoint] if isinstance(endpoint, str) else endpoint
        return self._pages(endpoint, path_ids, {**endpoint.params, **(params or {})}, start_page)

    def _pages(self, endpoint: Endpoint, path_ids: dict, query: dict, start_page: int) -> Iterator[Page]:
        for page in paginate(lambda q: self._call(endpoint, path_ids, q), endpoint, query,
                             start_page=start_page, tenant=self.tenant):
            if page.duplicates_dropped:
                self._bump(duplicates_dropped=page.duplicates_dropped)
            yield page

    # ----------------------------------------------------------------- one request

    def _get_one(self, endpoint: Endpoint, **path_ids: str) -> dict:
        body = self._call(endpoint, path_ids, {})
        record = body.get(endpoint.records_key)
        if not isinstance(record, dict):
            raise ApiError(
                f"response has no {endpoint.records_key!r} object", tenant=self.tenant, endpoint=endpoint.name
            )
        return record

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            adapter = HTTPAdapter(pool_connections=2, pool_maxsize=max(2, self.max_concurrent), max_retries=0)
            session.mount("https://", adapter)
            session.mount("http://", adapter)
            self._local.session = session
            with self._sessions_lock:
                self._sessions.append(session)
        return session

    def _call(self, endpoint: Endpoint, path_ids: Mapping[str, str], query: Mapping[str, Any]) -> dict:
        """One logical call: request, classify, retry what is transient. Returns the JSON body."""
        url = self.api_base_url + endpoint.url_path(**path_ids)
        params = dict(query)
        if endpoint.org_scoped:
            params["organization_id"] = self.organization_id
        name = endpoint.name
        attempt = 0
        refreshed_after_401 = False
        while True:
            budget = self._budget
            if budget is not None:
                budget.admit(name)  # the shared ledger: waits for the minute, or BudgetStop before any request
            else:
                exhausted, resets_at = self._limiter.daily.is_exhausted()
                if exhausted:  # refuse before any request, the token call included
                    raise self._budget_error(name, resets_at)
            token, refreshed = self._tokens.get(self.tenant)
            if refreshed:
                self._bump(token_refreshes=1)
            if budget is None:
                allowed, resets_at = self._limiter.daily.try_reserve()
                if not allowed:
                    raise self._budget_error(name, resets_at)
            slot = self._limiter.acquire()
            response: requests.Response | None = None
            failure: ZohoError | None = None
            try:
                response = self._session().get(
                    url,
                    params=params,
                    headers={"Authorization": f"Zoho-oauthtoken {token}", "Accept": "application/json"},
                    timeout=self.timeout,
                )
                response.content  # read the body inside the concurrency slot
            except requests.RequestException as exc:  # refused, reset, timeout, body cut short (GETs are safe to repeat)
                failure = ZohoConnectionError(
                    f"request failed: {type(exc).__name__}", tenant=self.tenant, endpoint=name
                )
            finally:
                self._limiter.release(slot)
            with self._stats_lock:
                self._stats.total_calls += 1
                self._stats.calls_by_endpoint[name] = self._stats.calls_by_endpoint.get(name, 0) + 1
                self._stats.limiter_wait_seconds += slot.waited

            wait: float | None = None
            if response is not None:
                rate = daily_budget(response.headers)
                moment = server_time(response.headers)
                if moment is not None:
                    with self._stats_lock:
                        self._stats.server_time = moment
                self._limiter.daily.update(*rate)
                if budget is not None:
                    budget.observe(*rate)
                wait = retry_after(response.headers)
                try:
                    return read_response(
                        response, tenant=self.tenant, endpoint=name, organization_id=self.organization_id,
                        secrets=(*self._secrets, token, *self._tokens.secrets), daily=self._limiter.daily,
                    )
                except TokenRejected as rejected:
                    if refreshed_after_401:
                        raise InvalidCredentialsError(
                            "Zoho still rejects the access token after a refresh "
                            f"(expired/revoked token or missing scope): {rejected.message}",
                            tenant=self.tenant,
                            endpoint=name,
                            status=rejected.status,
                            code=rejected.code,
                        ) from None
                    log.info("[tenant %s] %s: access token rejected; refreshing once", self.tenant, name)
                    self._tokens.invalidate(token)
                    refreshed_after_401 = True
                    self._bump(retries=1)
                    continue
                except ZohoError as err:
                    if isinstance(err, DailyBudgetExhaustedError) and budget is not None:
                        budget.exhausted(rate[2])
                    if not err.retryable:
                        raise
                    failure = err

            # transient: throttled, server error, connection error
            assert failure is not None
            delay = wait if wait is not None else backoff_delay(attempt, self.backoff_base, self.backoff_cap)
            if attempt >= self.max_retries:
                raise failure.add_detail(f"; gave up after {attempt} retries")
            if delay > self.max_retry_wait:
                raise failure.add_detail(f"; server asks to wait {delay:.0f} s, more than max_retry_wait")
            log.warning("[tenant %s] %s: %s; retry %d/%d in %.2f s",
                        self.tenant, name, failure.detail, attempt + 1, self.max_retries, delay)
            attempt += 1
            self._bump(retries=1)
            if isinstance(failure, ThrottledError):
                self._limiter.pause(delay)  # every client of this organisation holds back
            else:
                self._sleep(delay)

    def _budget_error(self, name: str, resets_at: float | None) -> DailyBudgetExhaustedError:
        return DailyBudgetExhaustedError(
            "daily API budget of the organisation is exhausted (X-Rate-Limit-Remaining reached 0); no request made",
            resets_at=epoch_to_utc(resets_at), tenant=self.tenant, endpoint=name)
