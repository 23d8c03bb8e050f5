"""Reading one answer of the Zoho Books API: the JSON body when ``code == 0``, else the typed error.

Which error a Zoho ``code`` or HTTP status stands for is the table of ``zoho.books.errors``
(``error_class``); this module builds the error's message (tenant, endpoint, Zoho's ``message``, every
known secret replaced by ``***``) and reads the headers the client acts on (``Retry-After``,
``X-Rate-Limit-*``; docs/ZOHO_API.md §7, §8).

- 401 / code 57 raises ``TokenRejected``: the client refreshes the token once before it gives up;
- a body that is not a JSON object is a ``ServerError`` (5xx), a ``ThrottledError`` (429) or an
  ``UnreadableResponseError``, quoting its first ``BODY_QUOTE_CHARS`` characters;
- code 45 also marks the organisation's daily budget as spent (until ``X-Rate-Limit-Reset``).

Money is parsed as ``Decimal`` (``json.loads(..., parse_float=Decimal)``).
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any

import requests

from zoho.books.errors import (
    ApiError,
    BadParameterError,
    DailyBudgetExhaustedError,
    InvalidCredentialsError,
    NotFoundError,
    ServerError,
    ThrottledError,
    UnreadableResponseError,
    WrongOrganizationError,
    ZohoError,
    error_class,
)
from zoho.books.ratelimit import DailyBudget
from zoho.books.timestamps import epoch_to_utc
from zoho.rules.redaction import redact

BODY_QUOTE_CHARS = 200
MESSAGE_CHARS = 300  # of Zoho's ``message`` kept in an error

# The error's text for each class; ``{message}`` is Zoho's, ``{organization_id}`` the client's.
DETAILS: dict[type[ZohoError], str] = {
    WrongOrganizationError: "organization_id {organization_id} is not accessible with these credentials: {message}",
    DailyBudgetExhaustedError: "daily API budget exhausted: {message}",
    ThrottledError: "throttled: {message}",
    NotFoundError: "not found: {message}",
    BadParameterError: "bad parameter: {message}",
    ServerError: "server error: {message}",
    ApiError: "request failed: {message}",
}


class TokenRejected(Exception):
    """The API answered 401 / code 57: the access token was refused."""

    def __init__(self, status: int, code: int | None, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def int_or_none(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def seconds_or_none(value: Any) -> float | None:
    """A header's number of seconds (not negative), else None."""
    try:
        number = float(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if number >= 0 else None


def retry_after(headers: Mapping[str, str]) -> float | None:
    """The server's ``Retry-After`` in seconds, if it sent a usable one."""
    return seconds_or_none(headers.get("Retry-After"))


def daily_budget(headers: Mapping[str, str]) -> tuple[int | None, int | None, float | None]:
    """``X-Rate-Limit-Limit``, ``-Remaining`` and ``-Reset`` (seconds until the reset)."""
    return (int_or_none(headers.get("X-Rate-Limit-Limit")),
            int_or_none(headers.get("X-Rate-Limit-Remaining")),
            seconds_or_none(headers.get("X-Rate-Limit-Reset")))


def server_time(headers: Mapping[str, str]) -> datetime | None:
    """Zoho's clock, from the answer's ``Date`` header (RFC 7231), as an aware UTC datetime."""
    value = headers.get("Date")
    if not value:
        return None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return moment.astimezone(timezone.utc) if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def read_response(response: requests.Response, *, tenant: str, endpoint: str, organization_id: str,
                  secrets: Iterable[str], daily: DailyBudget) -> dict:
    """Classify one HTTP answer: return the body when ``code == 0``, raise otherwise.

    ``secrets`` are replaced by ``***`` in every message; ``daily`` is the organisation's budget,
    marked as spent on code 45.
    """
    status = response.status_code
    raw = response.content or b""
    secrets = tuple(secrets)

    def error(cls: type[ZohoError], detail: str, code: int | None = None, **kwargs) -> ZohoError:
        return cls(redact(detail, secrets), tenant=tenant, endpoint=endpoint, status=status, code=code, **kwargs)

    try:  # bytes: json detects UTF-8/16/32 itself (response.text would guess the charset, slowly)
        body = json.loads(raw, parse_float=Decimal)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        quote = redact(raw[: BODY_QUOTE_CHARS * 4].decode("utf-8", "replace")[:BODY_QUOTE_CHARS], secrets)
        if status == 401:
            raise TokenRejected(status, None, "unreadable 401 body")
        if status >= 500:
            raise error(ServerError, f"server error with an unreadable body: {quote!r}")
        if status == 429:
            raise error(ThrottledError, f"throttled (unreadable body: {quote!r})")
        raise error(UnreadableResponseError, f"response body is not a JSON object: {quote!r}")

    code = int_or_none(body.get("code"))
    message = redact(str(body.get("message") or "")[:MESSAGE_CHARS], secrets)
    cls = error_class(status, code)
    if cls is InvalidCredentialsError:
        raise TokenRejected(status, code, message)
    if cls is None:
        if code is None:
            raise error(ApiError, "response has no 'code'", code)
        if status < 400 and code == 0:
            return body
        cls = ApiError
    kwargs: dict[str, Any] = {}
    if cls is DailyBudgetExhaustedError:
        resets_at = daily.mark_exhausted(seconds_or_none(response.headers.get("X-Rate-Limit-Reset")))
        kwargs["resets_at"] = epoch_to_utc(resets_at)
    raise error(cls, DETAILS[cls].format(message=message, organization_id=organization_id), code, **kwargs)
