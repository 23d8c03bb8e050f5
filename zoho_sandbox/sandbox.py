"""``Sandbox``: build the data, serve it, and control it from tests (in-process)."""
from __future__ import annotations

import datetime as dt
import json
import re
import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from .auth import TokenRegistry
from .clock import UTC, Clock
from .data import NotFound, OrgStore, Settings
from .faults import Faults
from .generator import Org, make_orgs
from .limits import PLANS, RateLimits, normalize_plan
from .server import SandboxHTTPServer


@dataclass
class Call:
    """One request the sandbox answered (control requests under /_sandbox are not recorded)."""
    method: str
    path: str
    params: dict  # query string (and form body for the token endpoint), secrets redacted
    org_id: str | None
    status: int
    code: int | None  # the JSON body's "code", when there is one
    time: float  # sandbox clock, epoch seconds
    duration: float  # seconds spent answering
    fault: str | None

    def as_dict(self) -> dict:
        return asdict(self)


class Sandbox:
    """A Zoho Books stand-in on ``127.0.0.1:<port>``.

    ``per_minute_limit``, ``daily_limit``, ``max_concurrent`` and ``token_limit``: None switches that
    limit off. ``today`` (a date or "YYYY-MM-DD") anchors the generated dates; it defaults to today
    (UTC), so the same seed gives the same data on the same day; pass it for full determinism.
    ``user_ids`` names the first organisations (tenants whose names hold quotes, semicolons or any
    Unicode); ``rate_window`` is the length in seconds of the per-minute limit's rolling window
    (Zoho: 60; a test may shrink it so that the limit binds without waiting whole minutes).
    ``plans`` gives organisations a Zoho plan (``free``, ``standard``, ``professional``, ``premium``, or
    an explicit daily limit): a mapping ``{org: plan}`` (org = index, organization_id or user_id) or
    one plan for every organisation; organisations without one get ``daily_limit``.
    """

    def __init__(self, seed: int = 7, orgs: int = 2, contacts_per_org: int = 300, invoices_per_org: int = 2000,
                 per_minute_limit: int | None = 100, daily_limit: int | None = 1000,
                 max_concurrent: int | None = 10, *, host: str = "127.0.0.1", port: int = 0,
                 today: dt.date | str | None = None, token_ttl: int = 3600, token_limit: int | None = 10,
                 retry_after: bool = False, rate_headers_on_429: bool = False, empty_as_blank: bool = True,
                 duplicate_invoices: bool = False, duplicate_count: int = 2, latency: float = 0.0,
                 max_call_records: int = 200_000, user_ids: Sequence[str] | None = None,
                 rate_window: float = 60.0, plans=None) -> None:
        self.seed = seed
        self.host, self._port = host, port
        self.clock = Clock()
        if today is None:
            today = self.clock.now().date()
        elif isinstance(today, str):
            today = dt.date.fromisoformat(today)
        self.today = today
        end_ts = int(dt.datetime.combine(today, dt.time(), UTC).timestamp()) - 1  # all generated times before
        self.settings = Settings(empty_as_blank, duplicate_invoices, duplicate_count)
        self.organizations: list[Org] = make_orgs(seed, orgs)
        if user_ids is not None:  # tenants named by the test (quotes, semicolons, any Unicode)
            user_ids = [str(u) for u in user_ids]
            if len(user_ids) > len(self.organizations) or not all(user_ids):
                raise ValueError("user_ids: non-empty strings, at most one per organisation")
            for o, user_id in zip(self.organizations, user_ids):
                o.user_id = user_id
            if len({o.user_id for o in self.organizations}) != len(self.organizations):
                raise ValueError("user_ids must be distinct (also from the generated ones of the other orgs)")
        self._stores: dict[str, OrgStore] = {
            o.organization_id: OrgStore(o, seed, contacts_per_org, invoices_per_org, today.toordinal(), end_ts,
                                        self.clock, self.settings)
            for o in self.organizations}
        self.faults = Faults()
        self.limits = RateLimits(self.clock, {k: s.fmt for k, s in self._stores.items()}, per_minute_limit,
                                 daily_limit, max_concurrent, rate_window)
        if plans is not None:
            self.set_plans(plans)
        self.tokens = TokenRegistry(self.clock, self.organizations, lambda: self.url, token_ttl, token_limit)
        self.retry_after = retry_after
        self.rate_headers_on_429 = rate_headers_on_429
        self.latency = latency
        self._calls: deque[Call] = deque(maxlen=max_call_records)
        self._calls_lock = threading.Lock()
        self._server: SandboxHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> "Sandbox":
        """Serve in a background thread (again on the same port after ``stop``); returns self."""
        if self._server is None:
            self._server = SandboxHTTPServer((self.host, self._port), self)
            self._port = self._server.server_address[1]
            self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                            name=f"zoho-sandbox-{self._port}", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.close_connections()
            self._server.server_close()
            self._thread.join(timeout=5)
            self._server = None

    def __enter__(self) -> "Sandbox":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self._port}"

    # ------------------------------------------------------------------ organisations and connections
    def org(self, org) -> Org:
        """An organisation by Org, index, organization_id or user_id."""
        if isinstance(org, Org):
            return org
        if isinstance(org, int):
            return self.organizations[org]
        if isinstance(org, dict):
            org = org.get("organization_id") or org.get("user_id")
        for o in self.organizations:
            if str(org) in (o.organization_id, o.user_id):
                return o
        raise KeyError(f"no organisation {org!r}")

    def _store(self, org) -> OrgStore:
        return self._stores[self.org(org).organization_id]

    def connection_extra(self, org) -> dict:
        o = self.org(org)
        return {"refresh_token": o.refresh_token, "organization_id": o.organization_id, "region": "com",
                "default_country": o.country, "api_base_url": self.url, "accounts_url": self.url}

    def airflow_connection(self, org) -> dict:
        o = self.org(org)
        return {"conn_type": "zoho_books", "login": o.client_id, "password": o.client_secret,
                "extra": self.connection_extra(o)}

    def airflow_env(self) -> dict:
        """``AIRFLOW_CONN_*`` + ``AIRFLOW_VAR_ZOHO_TENANTS`` for every organisation (as scripts/devenv.py does)."""
        env, tenants, used = {}, [], set()
        for i, o in enumerate(self.organizations):
            conn_id = "zoho_books_default" if i == 0 else f"zoho_books_{re.sub(r'[^A-Za-z0-9_]', '_', o.user_id)}"
            if conn_id.upper() in used:  # user_ids that differ only in characters a conn id cannot hold
                conn_id = f"zoho_books_org{i}"
            used.add(conn_id.upper())
            env[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps(self.airflow_connection(o))
            tenants.append({"user_id": o.user_id, "conn_id": conn_id})
        env["AIRFLOW_VAR_ZOHO_TENANTS"] = json.dumps(tenants)
        return env

    def info(self) -> dict:
        return {"port": self._port, "url": self.url, "organizations": [o.as_dict() for o in self.organizations],
                "settings": {"per_minute_limit": self.limits.per_minute, "daily_limit": self.limits.daily,
                             "plans": self.plans(),
                             "max_concurrent": self.limits.max_concurrent, "rate_window": self.limits.window,
                             "token_limit": self.tokens.token_limit,
                             "token_ttl": self.tokens.ttl, "retry_after": self.retry_after,
                             "rate_headers_on_429": self.rate_headers_on_429, "latency": self.latency,
                             "empty_as_blank": self.empty_as_blank, "duplicate_invoices": self.duplicate_invoices,
                             "duplicate_count": self.duplicate_count, "today": self.today.isoformat(),
                             "seed": self.seed}}

    # ------------------------------------------------------------------ knobs
    duplicate_invoices = property(lambda self: self.settings.duplicate_invoices,
                                  lambda self, v: setattr(self.settings, "duplicate_invoices", bool(v)))
    duplicate_count = property(lambda self: self.settings.duplicate_count,
                               lambda self, v: setattr(self.settings, "duplicate_count", int(v)))
    empty_as_blank = property(lambda self: self.settings.empty_as_blank,
                              lambda self, v: setattr(self.settings, "empty_as_blank", bool(v)))
    per_minute_limit = property(lambda self: self.limits.per_minute,
                                lambda self, v: setattr(self.limits, "per_minute", v))
    daily_limit = property(lambda self: self.limits.daily, lambda self, v: setattr(self.limits, "daily", v))
    max_concurrent = property(lambda self: self.limits.max_concurrent,
                              lambda self, v: setattr(self.limits, "max_concurrent", v))


    @property
    def rate_window(self) -> float:
        return self.limits.window

    @rate_window.setter
    def rate_window(self, seconds: float) -> None:
        seconds = float(seconds)
        if not seconds > 0:
            raise ValueError("rate_window must be a positive number of seconds")
        self.limits.window = seconds

    KNOBS = ("duplicate_invoices", "duplicate_count", "empty_as_blank", "per_minute_limit", "daily_limit",
             "max_concurrent", "retry_after", "rate_headers_on_429", "latency", "rate_window")

    def configure(self, **knobs) -> None:
        """Set several knobs at once (also ``token_limit``, ``token_ttl``, ``plans``); unknown names raise."""
        for k, v in knobs.items():
            if k in self.KNOBS:
                setattr(self, k, v)
            elif k == "plans":
                self.set_plans(v)
            elif k in ("token_limit", "token_ttl"):
                setattr(self.tokens, "ttl" if k == "token_ttl" else k, v)
            else:
                raise ValueError(f"unknown setting {k!r}")

    def reset_limits(self, org=None) -> None:
        """Forget requests counted so far (all organisations, or one) and the token-grant window."""
        self.limits.reset(self.org(org).organization_id if org is not None else None)
        if org is None:
            self.tokens.reset_throttle()

    def exhaust_daily_budget(self, org) -> None:
        self.limits.exhaust_daily(self.org(org).organization_id)

    def usage(self, org) -> dict:
        """``{last_minute, today, in_flight, code_45, day, plan, limit, remaining, reset}`` for the
        organisation's current Zoho day (``today`` counts calls, other integrations' included)."""
        return self.limits.usage(self.org(org).organization_id)

    # ------------------------------------------------------------------ plans and Zoho days
    def _org_ids(self, org) -> list[str]:
        return [o.organization_id for o in self.organizations] if org is None else [self.org(org).organization_id]

    def set_plan(self, org, plan):
        """Give ``org`` (None: every organisation) a plan: ``free``/``standard``/``professional``/
        ``premium`` (also ``elite``, ``ultimate``), a positive daily limit, or None (back to
        ``daily_limit``). Takes effect at once, for the current day too. Returns the plan as stored."""
        plan = normalize_plan(plan)
        for oid in self._org_ids(org):
            self.limits.set_plan(oid, plan)
        return plan

    def set_plans(self, plans) -> None:
        """``{org: plan}`` (applied in order; later entries win), or one plan for every organisation.
        Nothing changes when any entry is invalid."""
        if not isinstance(plans, dict):
            plans = {None: plans}
        checked = []
        for org, plan in plans.items():
            if isinstance(org, str) and org.isdigit() and len(org) < 6:  # an index sent as a JSON key
                org = int(org)
            checked.append((self._org_ids(org), normalize_plan(plan)))
        for ids, plan in checked:
            for oid in ids:
                self.limits.set_plan(oid, plan)

    def plan(self, org):
        """The organisation's plan as set (a name or a daily limit), None when it has none."""
        return self.limits.plans.get(self.org(org).organization_id)

    def plans(self) -> dict:
        """``{organization_id: {"plan", "daily_limit", "max_concurrent"}}`` for every organisation."""
        return {oid: {"plan": self.limits.plans.get(oid), "daily_limit": self.limits.daily_of(oid),
                      "max_concurrent": self.limits.concurrent_of(oid)} for oid in self._org_ids(None)}

    def spend_daily(self, org, n: int) -> int:
        """Count ``n`` calls of another integration against the organisation's day (at most what is
        left of its budget); ``X-Rate-Limit-Remaining`` drops by as many. Returns how many counted."""
        return self.limits.spend_daily(self.org(org).organization_id, n)

    def end_day(self, org=None) -> dict:
        """Start the next Zoho day now for ``org`` (None: every organisation) without moving any
        clock: the daily counter restarts at 0 and the reset moment becomes the next local midnight
        after that. Returns ``{organization_id: the new day's number}``."""
        return {oid: self.limits.end_day(oid) for oid in self._org_ids(org)}

    def day_history(self, org) -> list[dict]:
        """``[{day, calls, limit, code_45}]``: the organisation's ended days, then the current one."""
        return self.limits.day_history(self.org(org).organization_id)

    def expire_tokens(self) -> int:
        """Invalidate every access token issued so far; returns how many."""
        return self.tokens.expire_all()

    def access_token(self, org) -> str:
        """A valid access token for ``org`` minted directly (no token request counted or throttled)."""
        return self.tokens.mint(self.org(org))

    @property
    def token_requests(self) -> int:
        return self.tokens.requests

    # ------------------------------------------------------------------ calls
    def _record(self, method: str, path: str, params: dict, resp, duration: float) -> None:
        with self._calls_lock:
            self._calls.append(Call(method, path, params, resp.org_id, resp.status, resp.code, self.clock.time(),
                                    duration, resp.fault))

    @property
    def calls(self) -> list[Call]:
        with self._calls_lock:
            return list(self._calls)

    def calls_matching(self, path_prefix: str | None = None, org_id=None, status: int | None = None) -> list[Call]:
        oid = self.org(org_id).organization_id if org_id is not None else None
        return [c for c in self.calls if (path_prefix is None or c.path.startswith(path_prefix))
                and (oid is None or c.org_id == oid) and (status is None or c.status == status)]

    def call_count(self, path_prefix: str | None = None, org_id=None, status: int | None = None) -> int:
        return len(self.calls_matching(path_prefix, org_id, status))

    def reset_calls(self) -> None:
        with self._calls_lock:
            self._calls.clear()
        self.tokens.requests = 0

    # ------------------------------------------------------------------ data access (full records)
    def contacts(self, org, include_deleted: bool = False) -> list[dict]:
        s = self._store(org)
        with s.lock:
            c = s.contacts
            return [c.detail(i) for i in range(c.n) if include_deleted or not c.deleted[i]]

    def invoices(self, org, include_deleted: bool = False) -> list[dict]:
        s = self._store(org)
        with s.lock:
            inv = s.invoices
            return [inv.detail(i) for i in range(inv.n) if include_deleted or not inv.deleted[i]]

    def contact(self, org, contact_id) -> dict:
        s = self._store(org)
        with s.lock:
            return s.contacts.detail(s.contacts.row(contact_id))

    def invoice(self, org, invoice_id) -> dict:
        s = self._store(org)
        with s.lock:
            return s.invoices.detail(s.invoices.row(invoice_id))

    def contact_persons(self, org, contact_id) -> list[dict]:
        """The persons as ``GET /contacts/{id}/contactpersons`` lists them."""
        s = self._store(org)
        with s.lock:
            c = s.contacts
            return [c.render_person(p, embedded=False) for p in c.persons(c.row(contact_id))]

    def contact_ids(self, org) -> list[str]:
        s = self._store(org)
        with s.lock:
            return [s.contacts.id_of(i) for i in s.contacts.live()]

    def invoice_ids(self, org) -> list[str]:
        s = self._store(org)
        with s.lock:
            return [s.invoices.id_of(i) for i in s.invoices.live()]

    # ------------------------------------------------------------------ mutations
    def update_contact(self, org, contact_id, **fields) -> dict:
        s = self._store(org)
        with s.lock:
            return s.update_contact(contact_id, fields)

    def add_contact(self, org, **fields) -> str:
        s = self._store(org)
        with s.lock:
            return s.add_contact(fields)

    def delete_contact(self, org, contact_id) -> None:
        s = self._store(org)
        with s.lock:
            s.delete_contact(contact_id)

    def set_contact_persons(self, org, contact_id, persons: list[dict]) -> list[dict]:
        s = self._store(org)
        with s.lock:
            return [dict(p) for p in s.set_contact_persons(contact_id, persons)]

    def update_invoice(self, org, invoice_id, **fields) -> dict:
        s = self._store(org)
        with s.lock:
            return s.update_invoice(invoice_id, fields)

    def add_invoice(self, org, **fields) -> str:
        s = self._store(org)
        with s.lock:
            return s.add_invoice(fields)

    def delete_invoice(self, org, invoice_id) -> None:
        s = self._store(org)
        with s.lock:
            s.delete_invoice(invoice_id)


__all__ = ["PLANS", "Call", "NotFound", "Sandbox"]
