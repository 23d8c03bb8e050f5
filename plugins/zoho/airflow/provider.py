"""Provider registration: what Airflow learns about this package without importing the hook.

``pyproject.toml`` declares the entry point ``apache_airflow_provider`` → ``get_provider_info``, the
way Airflow's own providers do. Airflow's ``ProvidersManager`` loads it from the installed
distribution's metadata (``pip install .`` / ``uv pip install -e .``), validates it against
``airflow/provider_info.schema.json`` and checks that ``package-name`` is the distribution's name.

Airflow 3.2+ builds the React connection form from this metadata alone (``GET
/ui/connections/hook_meta``): the ``connection-types`` entry's ``conn-fields`` (JSON-Schema fields,
stored in the connection's ``extra`` under their own names) and ``ui-field-behaviour`` (hidden and
relabelled standard fields). The hook's Python ``get_ui_field_behaviour`` is only a fallback that
Airflow no longer calls when these are present; ``ZohoBooksHook`` derives it from here.

Keep this module light: every Airflow process that lists providers imports it.
"""
from __future__ import annotations

from importlib import metadata
from typing import Any

from zoho.books.ratelimit import DEFAULT_MAX_CONCURRENT, DEFAULT_REQUESTS_PER_MINUTE
from zoho.books.regions import DEFAULT_REGION, REGIONS

PACKAGE_NAME = "zoho-customer-sync"
CONN_TYPE = "zoho_books"
HOOK_CLASS_NAME = "zoho.airflow.hooks.ZohoBooksHook"
HOOK_NAME = "Zoho Books"
INTEGRATION = "Zoho Books"


def _optional(kind: str, **schema: Any) -> dict[str, Any]:
    return {"type": [kind, "null"], **schema}


# The connection's ``extra`` keys, as ZohoBooksClient.from_connection_fields and ZohoBooksHook read
# them. Order is the form's order.
CONN_FIELDS: dict[str, dict[str, Any]] = {
    "organization_id": {
        "label": "Organisation ID",
        "description": "Zoho Books organisation id (Settings → Organisation profile, or GET /organizations).",
        "schema": _optional("string", pattern=r"^\s*\d*\s*$"),
    },
    "refresh_token": {
        "label": "Refresh token",
        "description": "OAuth refresh token of a Self Client (read scopes only: ZohoBooks.contacts.READ, "
        "ZohoBooks.invoices.READ, ZohoBooks.settings.READ).",
        "schema": _optional("string", format="password"),
    },
    "region": {
        "label": "Region (data centre)",
        "description": "The organisation's Zoho data centre; chooses the accounts server and API host.",
        "schema": _optional("string", enum=list(REGIONS), default=DEFAULT_REGION),
    },
    "default_country": {
        "label": "Default country (ISO alpha-2)",
        "description": "Country for phone numbers written without a country code, e.g. US or GB.",
        "schema": _optional("string", pattern=r"^\s*([A-Za-z]{2})?\s*$"),
    },
    "requests_per_minute": {
        "label": "Requests per minute",
        "description": f"Client-side rate limit per organisation (empty: {DEFAULT_REQUESTS_PER_MINUTE}; Zoho allows 100).",
        "schema": _optional("integer", minimum=1),
    },
    "max_concurrent": {
        "label": "Max concurrent requests",
        "description": f"Requests in flight per organisation (empty: {DEFAULT_MAX_CONCURRENT}; Zoho allows 10).",
        "schema": _optional("integer", minimum=1),
    },
    "daily_budget": {
        "label": "Daily API budget (optional integer)",
        "description": "The most API calls this product may spend for the organisation per Zoho day (plans "
        "allow 1,000 to 10,000, shared with other integrations). Optional integer; empty: the plan's limit "
        "as Zoho reports it.",
        "schema": _optional("integer", minimum=0),
    },
    "budget_reserve": {
        "label": "Budget reserve (optional integer)",
        "description": "API calls of the daily budget kept back for the day's incremental runs. Optional "
        "integer.",
        "schema": _optional("integer", minimum=0),
    },
    "api_base_url": {
        "label": "API base URL (override)",
        "description": "Overrides the region's API host, e.g. for a sandbox. Empty: the region's.",
        "schema": _optional("string"),
    },
    "accounts_url": {
        "label": "Accounts URL (override)",
        "description": "Overrides the region's accounts server, e.g. for a sandbox. Empty: the region's.",
        "schema": _optional("string"),
    },
}

# Standard fields: no host/schema/port (the region or the overrides give the hosts).
UI_FIELD_BEHAVIOUR: dict[str, Any] = {
    "hidden-fields": ["host", "schema", "port"],
    "relabeling": {"login": "Client ID", "password": "Client Secret"},
    "placeholders": {
        "login": "1000.XXXXXXXXXXXXXXXXXXXX",
        "password": "OAuth client secret",
        "extra": (
            '{"refresh_token": "1000.xxxx.yyyy", "organization_id": "10234695", "region": "com", '
            '"default_country": "US"}'
        ),
    },
}


def package_version() -> str:
    """The installed distribution's version (``0+unknown`` when run from a plain checkout)."""
    try:
        return metadata.version(PACKAGE_NAME)
    except metadata.PackageNotFoundError:
        return "0+unknown"


def get_provider_info() -> dict[str, Any]:
    """Provider info as Airflow's ``provider_info.schema.json`` describes it."""
    return {
        "package-name": PACKAGE_NAME,
        "name": "Zoho Books customer sync",
        "description": "Zoho Books customer sync with payment reminders: the ``zoho_books`` connection type "
        "and its hook (OAuth refresh-token client with per-organisation rate limits).",
        "versions": [package_version()],
        "integrations": [
            {
                "integration-name": INTEGRATION,
                "external-doc-url": "https://www.zoho.com/books/api/v3/",
                "tags": ["service"],
            }
        ],
        "hooks": [{"integration-name": INTEGRATION, "python-modules": ["zoho.airflow.hooks"]}],
        "connection-types": [
            {
                "connection-type": CONN_TYPE,
                "hook-class-name": HOOK_CLASS_NAME,
                "hook-name": HOOK_NAME,
                "conn-fields": CONN_FIELDS,
                "ui-field-behaviour": UI_FIELD_BEHAVIOUR,
            }
        ],
    }
