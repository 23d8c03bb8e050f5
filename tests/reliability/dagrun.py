"""The suite's one whole-DAG run (``dag.test()`` of the nightly DAG; a nightly run costs minutes on
two cores, so one run serves the fault, security and SQL-quoting tests).

Tenants, all with user_ids that need quoting, plus one with bad credentials:

| user_id | Zoho | what happens |
|---|---|---|
| ``o'brien; drop table x;--`` | org 0 of sandbox A | clean |
| ``Łódź-ü`` | org 1 of sandbox A | clean |
| ``"quoted"`` | org 0 of sandbox B | throttled (code 44) twice, then the invoice listing fails (HTTP 500) for longer than the client retries: try 1 fails, Airflow retries |
| ``faulted; '--`` | org 1 of sandbox B | its access token expires mid-run; then its warehouse session is killed (``pg_terminate_backend``) while its contact persons are being read: try 1 fails, Airflow retries |
| ``broken-tenant`` | org 0 of sandbox B, revoked refresh token | fails at once, not retried |

Sandboxes A and B are built from the same seed and date, so they hold the same Zoho data: each
faulted tenant of B must end with marts equal to its clean twin of A (ids aside, which derive from
the user_id). Every credential is a known string (and so is the warehouse password: the local
Postgres trusts the connection and ignores it), so the output of the run, its XComs, the metadata
DB rows of the run and every table of the warehouse can be searched for them.

``whole_run(make_database)`` runs it once per test session (memoised) and returns a ``WholeRun``.
"""
from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import urlsplit, urlunsplit

from zoho_sandbox import Sandbox

from tests.helpers import run_dag

from .helpers import BackendKiller, mart_state

DAG_ID = "zoho_sync_nightly"
SIZE = {"seed": 23, "orgs": 2, "contacts_per_org": 40, "invoices_per_org": 250}
INVOICES, CONTACTS, PERSONS = "/books/v3/invoices", "/books/v3/contacts", "/books/v3/contacts/"

CLEAN = ("o'brien; drop table x;--", "Łódź-ü")
FAULTED = ('"quoted"', "faulted; '--")
BROKEN = "broken-tenant"
TWINS = dict(zip(FAULTED, CLEAN))  # faulted tenant -> its clean twin (same Zoho data)


@dataclass
class WholeRun:
    uri: str
    run_id: str
    state: str
    task_instances: list[dict]
    output: str  # everything the run printed (dag.test writes the task logs there)
    seconds: float
    secrets: dict[str, str]  # name -> known secret value
    killed: list[int]
    marts: dict[str, dict]  # user_id -> mart checksums, taken right after the run
    tenants: list[dict]
    sandboxes: dict[str, Sandbox] = field(repr=False, default_factory=dict)

    def extract(self, user_id: str) -> dict:
        index = next(i for i, t in enumerate(self.tenants) if t["user_id"] == user_id)
        return next(ti for ti in self.task_instances if ti["task_id"] == "extract" and ti["map_index"] == index)


_RESULT: dict = {}


def whole_run(make_database) -> WholeRun:
    if "run" not in _RESULT:
        try:
            _RESULT["run"] = _run(make_database)
        except BaseException as exc:  # noqa: BLE001 - every dependent test reports the same failure
            _RESULT["run"] = exc
    if isinstance(_RESULT["run"], BaseException):
        raise RuntimeError("the whole-DAG run of the fault suite failed") from _RESULT["run"]
    return _RESULT["run"]


def _with_password(uri: str, password: str) -> str:
    parts = urlsplit(uri)
    netloc = parts.netloc.split("@")[-1]
    user = (parts.username or "postgres")
    return urlunsplit((parts.scheme, f"{user}:{password}@{netloc}", parts.path, parts.query, parts.fragment))


def _sandbox(user_ids, today, tag: str, secrets: dict) -> Sandbox:
    sb = Sandbox(**SIZE, user_ids=user_ids, today=today)
    for i, org in enumerate(sb.organizations):  # known credential strings (set before it serves)
        org.client_secret = f"ZS-client-secret-{tag}{i}-{uuid.uuid4().hex}"
        org.refresh_token = f"1000.{uuid.uuid4().hex}.{uuid.uuid4().hex}"
        secrets[f"client_secret {tag}{i}"] = org.client_secret
        secrets[f"refresh_token {tag}{i}"] = org.refresh_token
    issue = sb.tokens._issue  # record every access token the sandbox issues, expired ones included

    def recording_issue(owner, now):
        body = issue(owner, now)
        secrets[f"access_token {tag} #{len(secrets)}"] = body["access_token"]
        return body

    sb.tokens._issue = recording_issue
    return sb.start()


def _run(make_database) -> WholeRun:
    secrets: dict[str, str] = {}
    today = datetime.now(timezone.utc).date()
    sb_clean = _sandbox(list(CLEAN), today, "A", secrets)
    sb_fault = _sandbox(list(FAULTED), today, "B", secrets)
    password = f"wh-pw-{uuid.uuid4().hex}"
    secrets["warehouse password"] = password
    uri = make_database("wholerun")
    bad_refresh = f"1000.revoked{uuid.uuid4().hex}.{uuid.uuid4().hex}"
    secrets["bad refresh_token"] = bad_refresh

    # a table named like the injection's target: it must survive the tenant "o'brien; drop table x;--"
    from zoho.warehouse import connection as warehouse

    with warehouse.connect(uri, autocommit=True) as conn:
        conn.execute("create table public.x (canary text)")
        conn.execute("insert into public.x values ('still here')")

    env = dict(os.environ)
    env["AIRFLOW_CONN_WAREHOUSE_DEFAULT"] = _with_password(uri, password)
    tenants, fast = [], {"max_retries": 2, "backoff_base": 0.1}
    for i, (sb, user_ids, extra) in enumerate(((sb_clean, CLEAN, {}), (sb_fault, FAULTED, fast))):
        for j, user_id in enumerate(user_ids):
            conn = sb.airflow_connection(j)
            conn["extra"] = {**conn["extra"], **extra}
            conn_id = f"zoho_books_{'clean' if i == 0 else 'fault'}{j}"
            env[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps(conn)
            tenants.append({"user_id": user_id, "conn_id": conn_id})
    broken = sb_fault.airflow_connection(0)
    broken["extra"] = {**broken["extra"], "refresh_token": bad_refresh}
    env["AIRFLOW_CONN_ZOHO_BOOKS_BROKEN"] = json.dumps(broken)
    tenants.append({"user_id": BROKEN, "conn_id": "zoho_books_broken"})
    env["AIRFLOW_VAR_ZOHO_TENANTS"] = json.dumps(tenants)
    env.pop("AIRFLOW_VAR_ZOHO_REMINDER_POLICY", None)

    quoted, faulted = (sb_fault.org(0).organization_id, sb_fault.org(1).organization_id)
    sb_fault.faults.add("throttle_44", count=2, path_prefix=CONTACTS, org_id=quoted)
    sb_fault.faults.add("http_500", count=3, path_prefix=INVOICES, org_id=quoted, after=1)  # 1 + 2 retries
    sb_fault.faults.add("expire_tokens", count=1, org_id=faulted, after=1)
    slow = sb_fault.faults.add("slow", count=1, path_prefix=PERSONS, org_id=faulted, after=2, delay=3.0)
    killer = BackendKiller(uri, FAULTED[1], ready=lambda: slow.fired > 0, timeout=900).start()

    when = datetime.now(timezone.utc).replace(microsecond=0)
    started = time.monotonic()
    try:
        summary, output = run_dag(env, DAG_ID, when)
    finally:
        killer.stop()
    seconds = time.monotonic() - started
    marts = {t["user_id"]: mart_state(uri, t["user_id"]) for t in tenants}
    return WholeRun(uri=uri, run_id=summary["run_id"], state=summary["state"],
                    task_instances=summary["task_instances"], output=output, seconds=seconds, secrets=secrets,
                    killed=list(killer.killed), marts=marts, tenants=tenants,
                    sandboxes={"clean": sb_clean, "faulted": sb_fault})
