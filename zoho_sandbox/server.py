"""HTTP: the Zoho Books API v3 and Zoho Accounts routes, plus the JSON control API under /_sandbox/."""
from __future__ import annotations

import json
import logging
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP as HTTP_POLICY
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

from .auth import TOKEN_THROTTLED
from .data import NotFound, OrgStore
from .limits import rejection
from .query import BadParam, parse_contacts, parse_invoices, parse_persons

if TYPE_CHECKING:
    from .sandbox import Sandbox

log = logging.getLogger("zoho_sandbox")

MSG_57 = "You are not authorized to perform this operation"
MSG_6041 = "This user is not associated with the CompanyID/CompanyName:{org_id}."
SECRET_PARAMS = ("client_secret", "refresh_token", "code")

ROUTES = [(re.compile(p), name) for p, name in (
    (r"^/books/v3/organizations/?$", "organizations"),
    (r"^/books/v3/contacts/?$", "contacts"),
    (r"^/books/v3/contacts/(\d+)/?$", "contact"),
    (r"^/books/v3/contacts/(\d+)/contactpersons/?$", "contact_persons"),
    (r"^/books/v3/contacts/(\d+)/contactpersons/(\d+)/?$", "contact_person"),
    (r"^/books/v3/invoices/?$", "invoices"),
    (r"^/books/v3/invoices/(\d+)/?$", "invoice"),
    (r"^/oauth/v2/token/?$", "token"),
)]


@dataclass
class Response:
    status: int
    body: dict | bytes
    headers: dict = field(default_factory=dict)
    org_id: str | None = None
    fault: str | None = None
    drop: str | None = None  # "drop" | "drop_mid_body"

    @property
    def code(self):
        return self.body.get("code") if isinstance(self.body, dict) else None


def error(status: int, code: int, message: str) -> Response:
    return Response(status, {"code": code, "message": message})


def ok(payload: dict) -> Response:
    return Response(200, {"code": 0, "message": "success", **payload})


def redact(params: dict) -> dict:
    return {k: ("***" if k in SECRET_PARAMS else v) for k, v in params.items()}


class Api:
    """The Zoho-shaped behaviour, independent of sockets (``handle`` takes a parsed request)."""

    def __init__(self, sb: "Sandbox") -> None:
        self.sb = sb

    def handle(self, method: str, path: str, params: dict, headers) -> Response:
        for rx, name in ROUTES:
            m = rx.match(path)
            if m:
                break
        else:
            return error(404, 5, "Invalid URL Passed")
        if name == "token":
            if method != "POST":
                return error(405, 5, "Invalid URL Passed")
            return self.token(path, params)
        if method != "GET":
            return error(405, 5, "Invalid URL Passed")  # this stand-in is read-only (assumed body)
        scheme, _, token = (headers.get("Authorization") or "").strip().partition(" ")
        orgs = self.sb.tokens.orgs_of(token.strip()) if scheme == "Zoho-oauthtoken" else None
        if orgs is None:
            return error(401, 57, MSG_57)
        if name == "organizations":  # not organisation-scoped: no organization_id, no limits
            return self.run(path, None, lambda: ok({"organizations": [o.zoho_record() for o in orgs]}))
        org_id = params.get("organization_id") or ""
        if not org_id:
            return error(400, 2, "Invalid value passed for organization_id")  # assumed, see README
        store = self.sb._stores.get(org_id)
        if store is None or store.org not in orgs:
            return Response(400, {"code": 6041, "message": MSG_6041.format(org_id=org_id)})
        what = {"invoice": "Invoice", "contact_person": "Contact person"}.get(name, "Contact")

        def produce() -> Response:
            try:
                with store.lock:
                    return getattr(self, "get_" + name)(store, params, *m.groups())
            except BadParam as e:
                return error(400, 2, str(e))
            except NotFound:
                return error(404, 1002, f"{what} does not exist.")

        return self.run(path, org_id, produce)

    def run(self, path: str, org_id: str | None, produce) -> Response:
        """Faults, then the organisation's limits, then the answer (with the rate-limit headers)."""
        fault = self.sb.faults.take(path, org_id)
        if fault and fault.kind not in ("slow", "drop_mid_body"):
            resp = self.fault_response(fault, org_id)
        elif org_id is not None and (rej := self.sb.limits.acquire(org_id)) is not None:
            resp = self.too_many(rej, org_id)
        else:
            try:
                slow = fault is not None and fault.kind == "slow"
                delay = self.sb.latency + ((fault.delay if fault.delay is not None else 2.0) if slow else 0.0)
                if delay > 0:
                    time.sleep(delay)
                resp = produce()
                if org_id is not None:  # every answer counted against the budget: 200, 400 code 2, 404
                    resp.headers.update(self.sb.limits.headers(org_id))
            finally:
                if org_id is not None:
                    self.sb.limits.release(org_id)
            if fault is not None:
                resp.fault = fault.kind
                resp.drop = "drop_mid_body" if fault.kind == "drop_mid_body" else None
        resp.org_id = org_id
        return resp

    def fault_response(self, fault, org_id: str | None) -> Response:
        kind = fault.kind
        if kind == "http_500":
            resp = error(500, 1000, "Internal error")
        elif kind == "http_503":
            resp = Response(503, b"<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>",
                            {"Content-Type": "text/html"})
        elif kind in ("throttle_44", "throttle_1070", "daily_45"):
            code = int(kind.rsplit("_", 1)[1])
            limit = self.sb.limits.daily_of(org_id) if org_id is not None else self.sb.limits.daily
            resp = self.too_many(rejection(code, limit, 60 if code == 44 else 1), org_id)
        elif kind == "expire_tokens":
            self.sb.tokens.expire_all()
            resp = error(401, 57, MSG_57)
        else:  # drop, drop_mid_body: the handler closes the socket
            resp = ok({})
            resp.drop = kind
        resp.fault = kind
        return resp

    def too_many(self, rej, org_id: str | None) -> Response:
        resp = error(429, rej.code, rej.message)
        if rej.code == 45 and org_id:
            self.sb.limits.count_code_45(org_id)
        if self.sb.retry_after:
            resp.headers["Retry-After"] = str(rej.retry_after)
        if self.sb.rate_headers_on_429 and org_id:
            resp.headers.update(self.sb.limits.headers(org_id))
        return resp

    def token(self, path: str, params: dict) -> Response:
        org = next((o for o in self.sb.organizations if o.refresh_token == params.get("refresh_token")), None)
        fault = self.sb.faults.take(path, org.organization_id if org else None)
        if fault is not None and fault.kind == "slow":
            time.sleep(fault.delay if fault.delay is not None else 2.0)
        elif fault is not None:
            self.sb.tokens.count_request()
            if fault.kind.startswith(("throttle", "daily")):
                return Response(400, dict(TOKEN_THROTTLED), fault=fault.kind)
            return self.fault_response(fault, None)
        status, body = self.sb.tokens.grant(params)
        return Response(status, body, org_id=org.organization_id if org else None)

    # Books endpoints (called with the store's lock held)
    def _page_context(self, q, has_more: bool, total: int, extra: dict) -> dict:
        pc = {"page": q.page, "per_page": q.per_page, "has_more_page": has_more, **extra,
              "applied_filter": q.filter_by, "sort_column": q.sort_column, "sort_order": q.sort_order}
        if q.response_option:
            pc["response_option"] = q.response_option
            if q.response_option == 1:  # assumed: Weble's PageContext reads these with response_option=1
                pc["total"] = total
                pc["total_pages"] = -(-total // q.per_page)
        return pc

    def get_contacts(self, store: OrgStore, params: dict) -> Response:
        q = parse_contacts(params)
        rows = store.contacts.select(q)
        start = (q.page - 1) * q.per_page
        page = rows[start:start + q.per_page]
        return ok({"contacts": [store.contacts.list_record(i) for i in page],
                   "page_context": self._page_context(q, start + q.per_page < len(rows), len(rows), {})})

    def get_invoices(self, store: OrgStore, params: dict) -> Response:
        q = parse_invoices(params)
        rows = store.invoices.select(q)
        dup = self.sb.settings.duplicate_count if self.sb.settings.duplicate_invoices else 0
        dup = max(0, min(dup, q.per_page - 1))
        start = (q.page - 1) * (q.per_page - dup)  # with duplicates: pages overlap by `dup` records
        page = rows[start:start + q.per_page]
        return ok({"invoices": [store.invoices.list_record(i) for i in page],
                   "page_context": self._page_context(q, start + q.per_page < len(rows), len(rows),
                                                      {"report_name": "Invoices"})})

    def get_contact(self, store: OrgStore, params: dict, contact_id: str) -> Response:
        return ok({"contact": store.contacts.detail(store.contacts.row(contact_id))})

    def get_contact_persons(self, store: OrgStore, params: dict, contact_id: str) -> Response:
        contacts = store.contacts
        persons = contacts.persons(contacts.row(contact_id))
        page, per_page = parse_persons(params)
        start = (page - 1) * per_page
        return ok({"contact_persons": [contacts.render_person(p, embedded=False)
                                       for p in persons[start:start + per_page]],
                   "page_context": {"page": page, "per_page": per_page,
                                    "has_more_page": start + per_page < len(persons),
                                    "sort_column": "contact_person_id", "sort_order": "A"}})

    def get_contact_person(self, store: OrgStore, params: dict, contact_id: str, person_id: str) -> Response:
        contacts = store.contacts
        i = contacts.row(contact_id)
        for p in contacts.persons(i):
            if p["contact_person_id"] == person_id:
                return ok({"contact_person": {"contact_id": contact_id, **contacts.render_person(p, embedded=False)}})
        raise NotFound(person_id)

    def get_invoice(self, store: OrgStore, params: dict, invoice_id: str) -> Response:
        return ok({"invoice": store.invoices.detail(store.invoices.row(invoice_id))})


def required(body: dict, key: str):
    if body.get(key) is None:
        raise ValueError(f"{key!r} is required")
    return body[key]


class Control:
    """``/_sandbox/...``: the Python control API as JSON, for a sandbox in another process."""

    def __init__(self, sb: "Sandbox") -> None:
        self.sb = sb

    def handle(self, method: str, path: str, params: dict, body: dict) -> Response:
        sb = self.sb
        parts = [p for p in path.split("/")[2:] if p]
        try:
            key = (method, parts[0] if parts else "")
            if key == ("GET", "info"):
                return Response(200, sb.info())
            if key == ("GET", "calls"):
                calls = sb.calls_matching(params.get("path_prefix"), params.get("org_id"))
                return Response(200, {"count": len(calls), "token_requests": sb.token_requests,
                                      "calls": [c.as_dict() for c in calls]})
            if key == ("POST", "reset_calls"):
                sb.reset_calls()
                return Response(200, {"ok": True})
            if key == ("GET", "faults"):
                return Response(200, {"faults": sb.faults.pending()})
            if key == ("POST", "faults"):
                fault = sb.faults.add(body.get("kind"), body.get("count", 1), body.get("path_prefix"),
                                      body.get("org_id"), body.get("delay"), body.get("after", 0))
                return Response(200, {"ok": True, "kind": fault.kind})
            if key in (("DELETE", "faults"), ("POST", "clear_faults")):
                sb.faults.clear()
                return Response(200, {"ok": True})
            if key == ("POST", "clock"):
                sb.clock.advance(float(body.get("advance", 0)))
                return Response(200, {"now": sb.clock.time()})
            if key == ("GET", "clock"):
                return Response(200, {"now": sb.clock.time()})
            if key == ("POST", "settings"):
                sb.configure(**body)
                return Response(200, sb.info()["settings"])
            if key == ("POST", "expire_tokens"):
                return Response(200, {"expired": sb.expire_tokens()})
            if key == ("POST", "reset_limits"):
                sb.reset_limits(body.get("org_id"))
                return Response(200, {"ok": True})
            if key == ("POST", "exhaust_daily"):
                sb.exhaust_daily_budget(body["org_id"])
                return Response(200, {"ok": True})
            if key == ("GET", "plans"):
                return Response(200, {"plans": sb.plans()})
            if key in (("POST", "plans"), ("POST", "set_plan")):
                if "plan" not in body:
                    raise ValueError("'plan' is required (a plan name, a daily limit, or null)")
                sb.set_plan(body.get("org_id"), body["plan"])
                return Response(200, {"plans": sb.plans()})
            if key == ("POST", "spend_daily"):
                org = required(body, "org_id")
                spent = sb.spend_daily(org, required(body, "n"))
                return Response(200, {"spent": spent, "usage": sb.usage(org)})
            if key == ("POST", "end_day"):
                return Response(200, {"days": sb.end_day(body.get("org_id"))})
            if key == ("GET", "usage"):
                return Response(200, sb.usage(required(params, "org_id")))
            if key == ("GET", "day_history"):
                org = required(params, "org_id")
                return Response(200, {"organization_id": sb.org(org).organization_id,
                                      "days": sb.day_history(org)})
            if parts and parts[0] == "orgs" and len(parts) >= 3:
                return self.data(method, parts[1], parts[2], parts[3:], body)
        except (KeyError, ValueError, TypeError) as e:
            return Response(404 if isinstance(e, KeyError) else 400, {"error": f"{type(e).__name__}: {e}"})
        return Response(404, {"error": f"no control route {method} {path}"})

    def data(self, method: str, org: str, kind: str, rest: list, body: dict) -> Response:
        sb = self.sb
        if kind not in ("contacts", "invoices"):
            return Response(404, {"error": f"unknown collection {kind}"})
        single = kind[:-1]
        if not rest:
            if method == "GET":
                return Response(200, {kind: getattr(sb, kind)(org)})
            if method == "POST":
                return Response(200, {f"{single}_id": getattr(sb, f"add_{single}")(org, **body)})
        elif len(rest) == 1:
            if method == "GET":
                return Response(200, {single: getattr(sb, single)(org, rest[0])})
            if method in ("PATCH", "PUT"):
                return Response(200, {single: getattr(sb, f"update_{single}")(org, rest[0], **body)})
            if method == "DELETE":
                getattr(sb, f"delete_{single}")(org, rest[0])
                return Response(200, {"ok": True})
        elif kind == "contacts" and rest[1:] == ["persons"] and method in ("PUT", "POST"):
            return Response(200, {"contact_persons": sb.set_contact_persons(org, rest[0], body["persons"])})
        return Response(404, {"error": f"no control route {method} {kind}/{'/'.join(rest)}"})


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ZohoBooksSandbox/1.0"
    timeout = 120  # idle keep-alive connections are closed after this
    wbufsize = -1  # buffer the status line, headers and body into one write (flushed per request)

    def date_time_string(self, timestamp=None):
        """The ``Date`` header, from the sandbox clock (Zoho's clock as the client sees it)."""
        return super().date_time_string(self.server.sandbox.clock.time() if timestamp is None else timestamp)

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self):  # noqa: N802
        self.dispatch("GET")

    def do_POST(self):  # noqa: N802
        self.dispatch("POST")

    def do_PUT(self):  # noqa: N802
        self.dispatch("PUT")

    def do_PATCH(self):  # noqa: N802
        self.dispatch("PATCH")

    def do_DELETE(self):  # noqa: N802
        self.dispatch("DELETE")

    def log_message(self, format, *args):  # noqa: A002 - silence the default stderr line per request
        pass

    def _body(self) -> tuple[bytes, str]:
        length = int(self.headers.get("Content-Length") or 0)
        return (self.rfile.read(length) if length > 0 else b""), self.headers.get("Content-Type") or ""

    @staticmethod
    def _form(raw: bytes, ctype: str) -> dict:
        if not raw:
            return {}
        if ctype.startswith("multipart/form-data"):
            msg = BytesParser(policy=HTTP_POLICY).parsebytes(b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + raw)
            return {part.get_param("name", header="content-disposition"): part.get_content().strip()
                    for part in msg.iter_parts()}
        if ctype.startswith("application/json"):
            return json.loads(raw.decode() or "{}")
        return {k: v[0] for k, v in parse_qs(raw.decode(), keep_blank_values=True).items()}

    def dispatch(self, method: str) -> None:
        sb: Sandbox = self.server.sandbox
        t0 = time.perf_counter()
        split = urlsplit(self.path)
        path = split.path
        params = {k: v[0] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        try:
            raw, ctype = self._body()
            form = self._form(raw, ctype)
        except (ValueError, UnicodeDecodeError):
            form = None
        if path.startswith("/_sandbox/"):
            resp = Control(sb).handle(method, path, params, form if isinstance(form, dict) else {})
            self.send(resp, *self.encode(resp))
            return
        if path.rstrip("/") == "/oauth/v2/token" and isinstance(form, dict):
            params = {**form, **params}
        try:
            resp = Api(sb).handle(method, path, params, self.headers)
        except Exception:  # a sandbox bug must look like a Zoho 500, and be visible in the log
            log.exception("error handling %s %s", method, path)
            resp = error(500, 1000, "Internal error")
        if resp.org_id is None and path.startswith("/books/"):
            resp.org_id = params.get("organization_id") or None  # what the request asked for
        payload, ctype = self.encode(resp)
        duration = time.perf_counter() - t0
        sb._record(method, path, redact(params), resp, duration)  # before the client can see the answer
        self.send(resp, payload, ctype)
        log.debug("%s %s %s code=%s %.1fms%s", method, path, resp.status, resp.code, duration * 1000,
                  f" fault={resp.fault}" if resp.fault else "")

    @staticmethod
    def encode(resp: Response) -> tuple[bytes, str]:
        if isinstance(resp.body, bytes):
            return resp.body, resp.headers.pop("Content-Type", "application/octet-stream")
        return (json.dumps(resp.body, ensure_ascii=False, separators=(",", ":")).encode(),
                "application/json;charset=UTF-8")

    def send(self, resp: Response, payload: bytes, ctype: str) -> None:
        if resp.drop == "drop":
            self._hang_up()
            return
        self.send_response(resp.status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(payload)))
        for k, v in resp.headers.items():
            self.send_header(k, v)
        self.end_headers()
        if resp.drop == "drop_mid_body":
            self.wfile.write(payload[: max(1, len(payload) // 2)])
            self.wfile.flush()
            self._hang_up()
            return
        self.wfile.write(payload)

    def _hang_up(self) -> None:
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class SandboxHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, address, sandbox: "Sandbox") -> None:
        self.sandbox = sandbox
        self._open: set = set()
        self._open_lock = threading.Lock()
        super().__init__(address, Handler)

    def process_request(self, request, client_address):
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request, client_address) -> None:
        """A client that hung up first (it timed out on a ``slow`` answer, or was killed) is not an
        error of the sandbox: no traceback for it. Anything else is reported as before."""
        import sys

        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)

    def close_connections(self) -> None:
        """Hang up on kept-alive connections, so a stopped sandbox really stops answering."""
        with self._open_lock:
            open_now = list(self._open)
        for sock in open_now:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
