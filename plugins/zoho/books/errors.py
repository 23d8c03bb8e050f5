"""Typed errors of the Zoho Books client.

Every message names the tenant and the endpoint (``[tenant acme] contacts: ...``) so that a failed
Airflow task says whose sync broke and where. Messages are built by the client from the status, the
Zoho ``code`` and the server's ``message``, after the client has replaced any secret it knows (client
secret, refresh token, access token) with ``***``: no error text ever carries a credential.

Which errors the client retries is a property of the class (``retryable``), so callers and tests can
reason about it without reading the client:

| error | cause | retried by the client |
|---|---|---|
| ``InvalidCredentialsError`` | token endpoint refused the refresh token / client, or 401/code 57 persisting after one refresh | no |
| ``AuthenticationError`` | any other failure of the token endpoint (e.g. its throttle, "Access Denied") | no |
| ``WrongOrganizationError`` | code 6041 | no |
| ``NotFoundError`` | code 1002 or HTTP 404 | no |
| ``BadParameterError`` | code 2 | no |
| ``ApiError`` | any other non-zero code / 4xx | no |
| ``BudgetStop`` | the budget gate refused the call (the product's share of the day is spent): no request made | no (a clean stop, not a failure) |
| ``DailyBudgetExhaustedError`` (a ``BudgetStop``) | code 45, or the tracked daily budget is at 0 | no (carries ``resets_at``) |
| ``ThrottledError`` | code 44 / 1070 / HTTP 429, still throttled after the bounded retries | yes, bounded |
| ``ServerError`` | HTTP 5xx or code 1000, still failing after the bounded retries | yes, bounded |
| ``UnreadableResponseError`` | a body that is not JSON (quotes its first ~200 characters) | only when the status is 5xx |
| ``ZohoConnectionError`` | connection refused/reset, timeouts, after the bounded retries | yes, bounded |

Which Zoho ``code`` and which HTTP status stand for which error is data: ``ERROR_CODES``,
``ERROR_STATUSES`` and, when the two disagree, ``PRECEDENCE`` (docs/ZOHO_API.md §8.2);
``error_class`` reads them. ``zoho.books.responses`` turns an answer into the error.
"""
from __future__ import annotations

from datetime import datetime


class ZohoError(Exception):
    """Base class. ``str(err)`` is ``[tenant <t>] <endpoint>: <detail>``."""

    retryable = False

    def __init__(
        self,
        detail: str,
        *,
        tenant: str | None = None,
        endpoint: str | None = None,
        status: int | None = None,
        code: int | None = None,
    ) -> None:
        self.detail = detail
        self.tenant = tenant
        self.endpoint = endpoint
        self.status = status
        self.code = code
        super().__init__(self._format())

    def _format(self) -> str:
        where = f"[tenant {self.tenant or '?'}] {self.endpoint or '?'}"
        facts = []
        if self.status is not None:
            facts.append(f"HTTP {self.status}")
        if self.code is not None:
            facts.append(f"code {self.code}")
        suffix = f" ({', '.join(facts)})" if facts else ""
        return f"{where}: {self.detail}{suffix}"

    def add_detail(self, extra: str) -> "ZohoError":
        """Append to the message (e.g. how many retries were spent) and return self."""
        self.detail = f"{self.detail}{extra}"
        self.args = (self._format(),)
        return self

    def __reduce__(self):  # picklable (Airflow may pickle exceptions across processes)
        return (_rebuild, (type(self), self.detail, self.__dict__))


def _rebuild(cls, detail, state):
    err = cls.__new__(cls)
    Exception.__init__(err, detail)
    err.__dict__.update(state)
    err.args = (err._format(),)
    return err


class ConfigurationError(ZohoError, ValueError):
    """The client was given settings it cannot work with (unknown region, missing credential)."""


class AuthenticationError(ZohoError):
    """The token endpoint did not issue an access token."""


class InvalidCredentialsError(AuthenticationError):
    """Client id/secret or refresh token rejected, or the API keeps answering 401 / code 57."""


class WrongOrganizationError(ZohoError):
    """Zoho code 6041: the credentials are not associated with ``organization_id``."""


class NotFoundError(ZohoError):
    """Zoho code 1002 or HTTP 404: the record does not exist (or was deleted)."""


class BadParameterError(ZohoError):
    """Zoho code 2: a query parameter has a value Zoho does not accept."""


class ApiError(ZohoError):
    """Any other non-zero Zoho ``code`` or client-side HTTP status."""


class BudgetStop(ZohoError):
    """No call was made because the budget does not allow one: the product's share of the
    organisation's day is spent (``reason`` ``budget_spent`` or ``sweep_share_spent``), or Zoho says
    the organisation's day is spent (``zoho_budget_exhausted``). Not a failure: a caller stops
    cleanly, keeps what it loaded, and resumes on a later run. ``resets_at`` (UTC, or None when
    unknown) is when calls may resume.
    """

    def __init__(self, detail: str, *, reason: str = "budget_spent", resets_at: datetime | None = None,
                 **kwargs) -> None:
        self.reason = reason
        self.resets_at = resets_at
        if resets_at is not None:
            detail = f"{detail}; resets at {resets_at.isoformat(timespec='seconds')}"
        super().__init__(detail, **kwargs)


class DailyBudgetExhaustedError(BudgetStop):
    """Zoho code 45, or the organisation's daily budget tracked from ``X-Rate-Limit-*`` is spent
    (by this product or by another integration of the organisation).

    ``resets_at`` (UTC, or None when Zoho did not say) is when calls may resume.
    """

    def __init__(self, detail: str, *, resets_at: datetime | None = None, **kwargs) -> None:
        super().__init__(detail, reason="zoho_budget_exhausted", resets_at=resets_at, **kwargs)


class ThrottledError(ZohoError):
    """Zoho code 44 (per-minute block) or 1070 (too many in-flight requests), retries exhausted."""

    retryable = True


class ServerError(ZohoError):
    """HTTP 5xx or Zoho code 1000, retries exhausted."""

    retryable = True


class UnreadableResponseError(ZohoError):
    """The body is not JSON; the message quotes its beginning."""


class ZohoConnectionError(ZohoError):
    """The API could not be reached (refused, reset, DNS, timeout), retries exhausted."""

    retryable = True


# --------------------------------------------------------------------------- Zoho's codes and statuses

# Zoho's ``code`` -> the error it stands for (docs/ZOHO_API.md §7, §8.2). ``InvalidCredentialsError``
# (code 57, HTTP 401) is raised only when the answer persists after one token refresh.
ERROR_CODES: dict[int, type[ZohoError]] = {
    57: InvalidCredentialsError,      # invalid or expired token, or missing scope
    6041: WrongOrganizationError,     # organization_id not associated with the credentials
    45: DailyBudgetExhaustedError,    # the organisation's daily call limit
    44: ThrottledError,               # per-minute block
    1070: ThrottledError,             # too many in-flight requests
    1002: NotFoundError,              # "... does not exist."
    2: BadParameterError,             # "Invalid value passed for ..."
    1000: ServerError,                # "Internal error"
}

# HTTP statuses that stand for an error whatever the code; any other status from 500 up is a
# ``ServerError`` (``SERVER_ERROR_STATUS``).
ERROR_STATUSES: dict[int, type[ZohoError]] = {
    401: InvalidCredentialsError,
    429: ThrottledError,
    404: NotFoundError,
}
SERVER_ERROR_STATUS = 500

# When the code and the status stand for different errors, the one earlier here wins.
PRECEDENCE: tuple[type[ZohoError], ...] = (
    InvalidCredentialsError,
    WrongOrganizationError,
    DailyBudgetExhaustedError,
    ThrottledError,
    NotFoundError,
    BadParameterError,
    ServerError,
)


def error_class(status: int, code: int | None) -> type[ZohoError] | None:
    """The error an answer with this HTTP status and Zoho ``code`` stands for; None when neither
    names one (then any non-zero code or status from 400 up is an ``ApiError``)."""
    candidates = [ERROR_CODES.get(code), ERROR_STATUSES.get(status),
                  ServerError if status >= SERVER_ERROR_STATUS else None]
    return min((c for c in candidates if c is not None), key=PRECEDENCE.index, default=None)
