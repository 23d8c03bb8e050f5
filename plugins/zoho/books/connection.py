"""The client's settings from an Airflow-style connection (docs/CONTRACT.md "Configuration").

``login`` = OAuth client id, ``password`` = client secret, ``extra`` (a dict or JSON text) =
``refresh_token``, ``organization_id``, ``region``, optional ``api_base_url`` / ``accounts_url`` and
the numbers ``requests_per_minute`` / ``max_concurrent`` / ``rate_window_seconds`` / ``timeout`` /
``max_retries`` / ``backoff_base``. ``default_country`` belongs to the phone rule, not the client.
No Airflow here: the hook (``zoho.airflow.hooks``) passes the connection's fields.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from zoho.books import regions
from zoho.books.errors import ConfigurationError

# keys of ``extra`` that are numbers, with their type
NUMBERS: tuple[tuple[str, type], ...] = (
    ("requests_per_minute", int),
    ("max_concurrent", int),
    ("rate_window_seconds", float),
    ("timeout", float),
    ("max_retries", int),
    ("backoff_base", float),
)


def client_settings(login: str | None, password: str | None, extra: Mapping[str, Any] | str | None,
                    *, tenant: str | None = None) -> dict[str, Any]:
    """The keyword arguments of ``ZohoBooksClient`` that the connection holds; ``ConfigurationError``
    when ``extra`` is not JSON or a number in it is not a number."""
    if isinstance(extra, str):
        try:
            extra = json.loads(extra) if extra.strip() else {}
        except ValueError:
            raise ConfigurationError("connection extra is not valid JSON", tenant=tenant, endpoint="configuration") from None
    extra = dict(extra or {})
    settings: dict[str, Any] = {
        "client_id": (login or "").strip(),
        "client_secret": password or "",
        "refresh_token": str(extra.get("refresh_token") or "").strip(),
        "organization_id": str(extra.get("organization_id") or "").strip(),
        "region": extra.get("region") or regions.DEFAULT_REGION,
        "api_base_url": extra.get("api_base_url") or None,
        "accounts_url": extra.get("accounts_url") or None,
        "tenant": tenant,
    }
    for key, convert in NUMBERS:
        if extra.get(key) not in (None, ""):
            try:
                settings[key] = convert(extra[key])
            except (TypeError, ValueError):
                raise ConfigurationError(
                    f"connection extra {key!r} must be a number", tenant=tenant, endpoint="configuration"
                ) from None
    return settings
