"""The Customer sync page: a FastAPI app that the Airflow API server mounts under ``/customer-sync``.

Server-rendered HTML (Jinja2, autoescape on: every value from the warehouse is escaped), read-only:
GET routes only, a read-only Postgres session (``default_transaction_read_only``) with a statement
timeout, on the ``warehouse_default`` connection. Every route requires a logged-in Airflow user
(``zoho.ui.security``).
"""
from __future__ import annotations

import logging
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import jinja2
import psycopg
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from zoho.reminders import history
from zoho.warehouse import connection as warehouse
from zoho.ui import queries, runs
from zoho.ui.warehouse import WarehouseNotConfigured, read_only_connection
from zoho.ui.security import NotLoggedIn, refuse, require_user

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
STATIC = {"app.css": "text/css; charset=utf-8", "app.js": "text/javascript; charset=utf-8"}

SECURITY_HEADERS = {
    # shown inside the Airflow UI (an iframe of the same origin), nowhere else
    "Content-Security-Policy": ("default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; "
                                "form-action 'self'; frame-ancestors 'self'; base-uri 'none'"),
    "X-Frame-Options": "SAMEORIGIN",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",  # customer data
}


# --------------------------------------------------------------------------- templates
def _num(value: Any) -> str:
    if value is None or value == "":
        return "–"
    return f"{int(value):,}"


def _money(value: Any, currency: str | None = None) -> str:
    if value is None:
        return "–"
    text = f"{Decimal(value):,.2f}"
    return f"{text} {currency}" if currency else text


def _dt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc)
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _truncate(value: Any, length: int = 200) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= length else text[: length - 1] + "…"


TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(HERE / "templates")),
    autoescape=True,  # every value escaped, whatever the template's name
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
TEMPLATES.filters.update(num=_num, money=_money, dt=_dt, truncate_text=_truncate)


def _airflow_base() -> str:
    from airflow.configuration import conf

    return urlsplit(conf.get("api", "base_url", fallback="") or "").path.rstrip("/")


class Links:
    """URLs of this app (under its mount point) and of the Airflow UI."""

    def __init__(self, request: Request) -> None:
        self.prefix = str(request.scope.get("root_path", "")).rstrip("/")
        self.request = request
        self.airflow = _airflow_base()

    def page(self, path: str, **params: Any) -> str:
        clean = {k: v for k, v in params.items() if v not in (None, "")}
        return self.prefix + path + (("?" + urlencode(clean)) if clean else "")

    def here(self, **overrides: Any) -> str:
        params = dict(self.request.query_params)
        params.update({k: v for k, v in overrides.items()})
        return self.page(self.request.url.path[len(self.prefix):] or "/", **params)

    def dag_run(self, dag_id: str | None, run_id: str | None) -> str | None:
        if not dag_id or not run_id:
            return None
        return f"{self.airflow}/dags/{quote(dag_id, safe='')}/runs/{quote(run_id, safe='')}"

    def dag(self, dag_id: str) -> str:
        return f"{self.airflow}/dags/{quote(dag_id, safe='')}"

    def customer(self, customer_id: Any) -> str:
        return self.page(f"/customers/{customer_id}")


def render(request: Request, template: str, user: Any, started: float, status_code: int = 200,
           **context: Any) -> HTMLResponse:
    links = Links(request)
    name = getattr(user, "get_name", lambda: None)() if user is not None else None
    html = TEMPLATES.get_template(template).render(
        links=links, user_name=name or "", active=context.pop("active", ""),
        now=datetime.now(timezone.utc), elapsed_ms=round((time.monotonic() - started) * 1000), **context)
    return HTMLResponse(html, status_code=status_code)


def today_utc() -> date:
    return datetime.now(timezone.utc).date()


# --------------------------------------------------------------------------- app
def create_app() -> FastAPI:
    app = FastAPI(title="Customer sync", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_exception_handler(NotLoggedIn, refuse)

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        for key, value in SECURITY_HEADERS.items():
            response.headers.setdefault(key, value)
        return response

    @app.exception_handler(psycopg.Error)
    async def warehouse_error(request: Request, exc: psycopg.Error):
        if isinstance(exc, psycopg.errors.UndefinedTable):
            message, code = ("A table this page reads does not exist yet: run zoho_sync_nightly once "
                             "(it migrates the warehouse and builds the marts).", 503)
        elif isinstance(exc, psycopg.errors.QueryCanceled):
            message, code = "The query took too long and was cancelled (statement timeout).", 504
        elif isinstance(exc, psycopg.OperationalError):
            message, code = "The warehouse (connection warehouse_default) cannot be reached.", 503
        else:
            message, code = "The warehouse query failed.", 500
        log.warning("customer sync page: %s: %s", type(exc).__name__, exc)
        return render(request, "error.html", None, time.monotonic(), status_code=code,
                      title="Warehouse unavailable", message=message,
                      detail=f"{type(exc).__name__}: {_truncate((str(exc).strip().splitlines() or [''])[0], 300)}")

    @app.exception_handler(WarehouseNotConfigured)
    async def not_configured(request: Request, exc: WarehouseNotConfigured):
        log.warning("customer sync page: the warehouse connection cannot be read: %s", exc)
        return render(request, "error.html", None, time.monotonic(), status_code=503,
                      title="Warehouse not configured",
                      message=f"The Airflow connection {warehouse.WAREHOUSE_CONN_ID} cannot be read.",
                      detail=_truncate(str(exc), 300))

    @app.get("/static/{name}", include_in_schema=False)
    def static(name: str, _user=Depends(require_user)) -> Response:
        if name not in STATIC:
            raise HTTPException(404)
        return Response((HERE / "static" / name).read_bytes(), media_type=STATIC[name])

    @app.get("/", response_class=HTMLResponse)
    def overview(request: Request, user=Depends(require_user)):
        started = time.monotonic()
        today = today_utc()
        with read_only_connection() as conn:
            status = queries.sync_status(conn)
            rejected = queries.rejected_counts(conn)
            gate = queries.latest_quality_gate(conn)
            reminder_counts = queries.reminder_counts(conn, today)
            planner = queries.budget_planner(conn)
        latest = runs.latest_sync_runs()
        names = sorted({r["user_id"] for r in status} | set(planner)
                       | {t for info in latest.values() if info for t in info.tenants})
        tenants = []
        for user_id in names:
            entities = {r["entity"]: r for r in status if r["user_id"] == user_id}
            tenant_runs = {mode: (info, info.tenants.get(user_id)) if info else (None, None)
                           for mode, info in latest.items()}
            tenants.append({"user_id": user_id, "entities": entities, "runs": tenant_runs,
                            "rejected": rejected.get(user_id, {}),
                            "rejected_total": sum(rejected.get(user_id, {}).values()),
                            "reminders": reminder_counts.get(user_id, {}),
                            "planner": planner.get(user_id)})
        gate_dag = runs.dag_of_run(gate["run_id"]) if gate else None
        return render(request, "overview.html", user, started, active="overview", title="Overview",
                      tenants=tenants, gate=gate, gate_dag=gate_dag, latest=latest, today=today,
                      since=today - timedelta(days=queries.RECENT_DAYS), sync_dags=runs.SYNC_DAGS)

    @app.get("/customers", response_class=HTMLResponse)
    def customers(request: Request, tenant: str | None = None, q: str | None = None, page: str = "1",
                  user=Depends(require_user)):
        started = time.monotonic()
        tenant = _tenant(tenant)
        with read_only_connection() as conn:
            tenant_names = queries.tenants(conn)
            result, search = queries.customers(conn, tenant, q, queries.clamp_page(page))
        return render(request, "customers.html", user, started, active="customers", title="Customers",
                      tenants=tenant_names, tenant=tenant or "", q=search.text, search=search, result=result)

    @app.get("/customers/{customer_id}", response_class=HTMLResponse)
    def customer(request: Request, customer_id: str, invoices: str = "open", page: str = "1",
                 user=Depends(require_user)):
        started = time.monotonic()
        try:
            customer_id = str(uuid.UUID(customer_id))
        except ValueError:
            raise HTTPException(404, "no such customer") from None
        open_only = invoices != "all"
        with read_only_connection() as conn:
            row = queries.customer(conn, customer_id)
            if row is None:
                raise HTTPException(404, "no such customer")
            invoice_page = queries.customer_invoices(conn, customer_id, open_only, queries.clamp_page(page))
        persons = row.get("contact_persons") if isinstance(row.get("contact_persons"), list) else []
        return render(request, "customer.html", user, started, active="customers",
                      title=row["customer_name"] or row["zoho_customer_id"], c=row, persons=persons,
                      invoices=invoice_page, open_only=open_only)

    @app.get("/invoices", response_class=HTMLResponse)
    def invoices(request: Request, tenant: str | None = None, status: str = "open", q: str | None = None,
                 page: str = "1", user=Depends(require_user)):
        started = time.monotonic()
        tenant = _tenant(tenant)
        if status not in ("open", "all", *queries.INVOICE_STATUSES):
            status = "open"
        with read_only_connection() as conn:
            tenant_names = queries.tenants(conn)
            result = queries.invoices(conn, tenant, status, q, queries.clamp_page(page))
        return render(request, "invoices.html", user, started, active="invoices", title="Invoices",
                      tenants=tenant_names, tenant=tenant or "", status=status, q=(q or "").strip()[:100],
                      statuses=queries.INVOICE_STATUSES, result=result)

    @app.get("/reminders", response_class=HTMLResponse)
    def reminders(request: Request, tenant: str | None = None, status: str = "pending", when: str | None = None,
                  reason: str | None = None, page: str = "1", user=Depends(require_user)):
        started = time.monotonic()
        tenant = _tenant(tenant)
        if status not in queries.REMINDER_STATUS_FILTERS:
            status = "pending"
        if when not in queries.REMINDER_WHEN:
            when = "upcoming" if status == "pending" else "all"
        reason = reason if reason in queries.REMINDER_REASONS else None
        today = today_utc()
        with read_only_connection() as conn:
            tenant_names = queries.tenants(conn)
            result = queries.reminders(conn, tenant, status, when, reason, today, queries.clamp_page(page))
        return render(request, "reminders.html", user, started, active="reminders", title="Reminder queue",
                      tenants=tenant_names, tenant=tenant or "", status=status, when=when, reason=reason or "",
                      status_filters=list(queries.REMINDER_STATUS_FILTERS), whens=queries.REMINDER_WHEN,
                      reasons=queries.REMINDER_REASONS, recent_days=queries.RECENT_DAYS, today=today,
                      result=result)

    @app.get("/reminders/{reminder_id}", response_class=HTMLResponse)
    def reminder(request: Request, reminder_id: str, user=Depends(require_user)):
        started = time.monotonic()
        try:
            reminder_id = str(uuid.UUID(reminder_id))
        except ValueError:
            raise HTTPException(404, "no such reminder") from None
        with read_only_connection() as conn:
            row = queries.reminder(conn, reminder_id)
            if row is None:
                raise HTTPException(404, "no such reminder")
            events = history.reminder_events(conn, reminder_id)
        return render(request, "reminder.html", user, started, active="reminders",
                      title=f"Reminder {row['invoice_number'] or row['zoho_invoice_id'] or ''} {row['offset_days']:+d} d",
                      r=row, events=events)

    return app


def _tenant(value: str | None) -> str | None:
    value = (value or "").strip()
    return value[:200] or None


app = create_app()
