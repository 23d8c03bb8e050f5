"""Who may call the API, and which tenants each caller sees.

Authentication is Airflow's (``zoho.ui.security.require_user``: the JWT of the ``_token`` cookie or an
``Authorization: Bearer`` token from Airflow's ``POST /auth/token``; no or an expired token → 401).
Authorisation:

- an **Airflow admin** (a user the auth manager lets edit the ``warehouse_default`` connection: the
  Admin and Op roles of the simple and FAB auth managers; such a user can read the warehouse anyway)
  sees every tenant and may send for every tenant;
- any other user sees only the tenants granted to them in ``zoho_sync.api_grants``
  (``python -m zoho.api.grants``): ``read`` (the GET endpoints) or ``send`` (read + the sender's
  claim and marks). Each API server process reads a user's grants at most every
  ``GRANTS_CACHE_SECONDS`` (5 s), so a grant or a revocation takes effect within 5 seconds.

A tenant not granted is answered as if it did not exist: 404 for its records, and 404
``tenant: unknown tenant`` for a listing filtered by it.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from fastapi import Depends, HTTPException

from zoho.api import db
from zoho.ui.security import require_user
from zoho.warehouse.connection import WAREHOUSE_CONN_ID
from zoho.warehouse.sqlfiles import sql_files

load_sql = sql_files(__file__)

GRANTS_CACHE_SECONDS = 5  # a grant or revocation takes effect within this long


class _Grants:
    """The grants of recently seen users, per API server process: user -> (read at, read, send)."""
    lock = threading.Lock()
    seen: dict[str, tuple[float, frozenset[str], frozenset[str]]] = {}


@dataclass(frozen=True)
class Caller:
    username: str
    admin: bool
    read: frozenset[str]   # tenants granted read or send (unused for an admin)
    send: frozenset[str]   # tenants granted send

    def tenants(self, write: bool = False) -> list[str] | None:
        """The tenants this caller may read (or send for); None = every tenant (an admin)."""
        if self.admin:
            return None
        return sorted(self.send if write else self.read)

    def may(self, tenant: str, write: bool = False) -> bool:
        return self.admin or tenant in (self.send if write else self.read)

    def require_tenant(self, tenant: str, write: bool = False) -> str:
        """``tenant`` when granted, else 404 (another tenant is not told apart from no tenant)."""
        if not self.may(tenant, write):
            raise HTTPException(404, f"tenant: unknown tenant {tenant!r}")
        return tenant


def is_admin(user) -> bool:
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import ConnectionDetails

    return bool(get_auth_manager().is_authorized_connection(
        method="PUT", user=user, details=ConnectionDetails(conn_id=WAREHOUSE_CONN_ID)))


def caller(user=Depends(require_user)) -> Caller:
    """FastAPI dependency: the authenticated caller with its grants."""
    username = str(user.get_name() if hasattr(user, "get_name") else user.get_id())
    if is_admin(user):
        return Caller(username, True, frozenset(), frozenset())
    now = time.monotonic()
    with _Grants.lock:
        cached = _Grants.seen.get(username)
    if cached is None or now - cached[0] > GRANTS_CACHE_SECONDS:
        with db.session() as conn:
            rows = conn.execute(load_sql("grants_of_user"), {"username": username}).fetchall()
        cached = (now, frozenset(r["user_id"] for r in rows),
                  frozenset(r["user_id"] for r in rows if r["access"] == "send"))
        with _Grants.lock:
            if len(_Grants.seen) > 10_000:  # bounded: forget everyone rather than grow
                _Grants.seen.clear()
            _Grants.seen[username] = cached
    return Caller(username, False, cached[1], cached[2])
