"""The tenants to sync: the ``zoho_tenants`` Airflow Variable (JSON), validated."""
from __future__ import annotations

import re

from zoho.rules.settings import read_json_setting

DEFAULT_TENANTS = [{"user_id": "default", "conn_id": "zoho_books_default"}]
_EXPECTED = 'of {"user_id": "...", "conn_id": "..."} objects'
_CONN_ID = re.compile(r"^[A-Za-z0-9_.\-]{1,250}$")


class TenantConfigError(ValueError):
    pass


def parse_tenants(raw: str | list | None) -> list[dict]:
    """``[{"user_id": "...", "conn_id": "..."}]``; unset means the single default tenant."""
    items = read_json_setting(raw, "Variable zoho_tenants", expected=_EXPECTED, error=TenantConfigError, kind=list)
    if items is None:
        return [dict(t) for t in DEFAULT_TENANTS]
    if not items:
        raise TenantConfigError(f"Variable zoho_tenants must be a non-empty JSON list {_EXPECTED}")
    tenants, seen = [], set()
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise TenantConfigError(f"zoho_tenants[{i}] is not an object")
        user_id, conn_id = item.get("user_id"), item.get("conn_id", "zoho_books_default")
        if not isinstance(user_id, str) or not user_id.strip() or len(user_id) > 200:
            raise TenantConfigError(f"zoho_tenants[{i}].user_id must be a non-empty string (at most 200 characters)")
        if not isinstance(conn_id, str) or not _CONN_ID.match(conn_id):
            raise TenantConfigError(f"zoho_tenants[{i}].conn_id {conn_id!r} is not a valid Airflow connection id")
        if user_id in seen:
            raise TenantConfigError(f"zoho_tenants lists user_id {user_id!r} twice")
        seen.add(user_id)
        tenants.append({"user_id": user_id, "conn_id": conn_id})
    return tenants
