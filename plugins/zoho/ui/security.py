"""Who may see the Customer sync page: logged-in Airflow users allowed to read the sync DAGs' runs.

Airflow 3 mounts plugin FastAPI apps inside the API server, so requests reach them with the same
credentials as the UI: the ``_token`` cookie (a JWT set at login, path ``/``) or an
``Authorization: Bearer`` token from ``POST /auth/token``. The user is resolved with Airflow's own
``get_user`` dependency (the configured auth manager validates the JWT), then authorised with the
auth manager: GET on the runs of ``zoho_sync_incremental`` and ``zoho_sync_nightly`` (the page
shows those runs' results and the data they produce).

Refusals: a browser (``Accept: text/html``) without a valid login is redirected to the auth
manager's login page (``next`` = this page); any other client gets 401 (no or expired token) or
403 (invalid token). A logged-in user without read access to the sync DAGs gets 403.
"""
from __future__ import annotations

from fastapi import Depends, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from zoho.ui.runs import SYNC_DAGS

_bearer = HTTPBearer(auto_error=False)


class NotLoggedIn(Exception):
    def __init__(self, status_code: int, detail: str) -> None:
        super().__init__(detail)
        self.status_code, self.detail = status_code, detail


async def require_user(request: Request,
                       bearer: HTTPAuthorizationCredentials | None = Depends(_bearer)):
    """FastAPI dependency: the logged-in Airflow user allowed to read the sync DAG runs."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity, DagDetails
    from airflow.api_fastapi.core_api.security import get_user

    try:
        user = await get_user(request, _oauth_token=None, bearer_credentials=bearer)
    except HTTPException as exc:
        raise NotLoggedIn(exc.status_code, str(exc.detail)) from None
    auth_manager = get_auth_manager()
    for dag_id in SYNC_DAGS.values():
        if not auth_manager.is_authorized_dag(method="GET", user=user, access_entity=DagAccessEntity.RUN,
                                              details=DagDetails(id=dag_id)):
            raise HTTPException(status_code=403, detail=f"Forbidden: no read access to the runs of {dag_id}")
    return user


def refuse(request: Request, exc: NotLoggedIn):
    """Exception handler: redirect a browser to the login page, refuse anything else."""
    if request.method == "GET" and "text/html" in request.headers.get("accept", ""):
        from airflow.api_fastapi.app import get_auth_manager

        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(get_auth_manager().get_url_login(next_url=target), status_code=303,
                                headers={"Cache-Control": "no-store"})
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code,
                        headers={"WWW-Authenticate": "Bearer", "Cache-Control": "no-store"})
