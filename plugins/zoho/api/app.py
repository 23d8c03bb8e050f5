"""The API's FastAPI app, mounted by the Airflow API server under ``/customer-sync/api/v1``.

Routes: ``read.py`` (invoices, customers, reminders) and ``sender.py`` (claim and marks). The
OpenAPI schema is served at ``/customer-sync/api/v1/openapi.json``. Every answer is JSON, errors
included (``{"detail": "..."}``, the message naming the field at fault); request bodies over
``MAX_BODY_BYTES`` get 413.
"""
from __future__ import annotations

import logging

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from zoho.api import read, sender
from zoho.ui.security import NotLoggedIn
from zoho.ui.warehouse import WarehouseNotConfigured

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 16 * 1024
HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}

DESCRIPTION = """Invoices with their customer's current data, customers, payment reminders, and the
reminder sender's write path (claim a batch under a lease, mark each reminder sent or failed).

Authenticate as any Airflow API client: `POST /auth/token` on the Airflow API server with a user name
and password returns `access_token`; send it as `Authorization: Bearer <token>`. A caller sees the
tenants granted to it (`python -m zoho.api.grants`); Airflow admins see all.
"""


def _error(status: int, detail: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status, headers={**HEADERS, **(headers or {})})


def _field(loc) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path")]
    return ".".join(parts) or "body"


def create_app() -> FastAPI:
    app = FastAPI(title="Customer sync API", version="1.0.0", description=DESCRIPTION,
                  openapi_url="/openapi.json", docs_url=None, redoc_url=None)

    @app.middleware("http")
    async def limits_and_headers(request: Request, call_next):
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
            return _error(413, f"body: request body over {MAX_BODY_BYTES} bytes")
        if length is None and request.method in ("POST", "PUT", "PATCH"):
            body = await request.body()  # chunked: read it once, refuse when too large
            if len(body) > MAX_BODY_BYTES:
                return _error(413, f"body: request body over {MAX_BODY_BYTES} bytes")
        response = await call_next(request)
        for key, value in HEADERS.items():
            response.headers.setdefault(key, value)
        return response

    @app.exception_handler(NotLoggedIn)
    async def not_logged_in(request: Request, exc: NotLoggedIn):
        return _error(exc.status_code, exc.detail, {"WWW-Authenticate": "Bearer"})

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        problems = [f"{_field(e.get('loc', ()))}: {e.get('msg', 'invalid')}" for e in exc.errors()]
        return _error(422, "; ".join(problems) or "invalid request")

    @app.exception_handler(psycopg.Error)
    async def warehouse_error(request: Request, exc: psycopg.Error):
        if isinstance(exc, psycopg.errors.UndefinedTable):
            status, detail = 503, "the warehouse is not built yet: run zoho_sync_nightly once"
        elif isinstance(exc, psycopg.errors.QueryCanceled):
            status, detail = 504, "the query took too long and was cancelled (statement timeout)"
        elif isinstance(exc, psycopg.OperationalError):
            status, detail = 503, "the warehouse (connection warehouse_default) cannot be reached"
        else:
            status, detail = 500, "the warehouse query failed"
        log.warning("customer sync API: %s %s: %s: %s", request.method, request.url.path, type(exc).__name__, exc)
        return _error(status, detail)

    @app.exception_handler(WarehouseNotConfigured)
    async def not_configured(request: Request, exc: WarehouseNotConfigured):
        log.warning("customer sync API: the warehouse connection cannot be read: %s", exc)
        return _error(503, "the Airflow connection warehouse_default cannot be read")

    app.include_router(read.router)
    app.include_router(sender.router)
    return app


app = create_app()
