"""BENCHMARKS.md section 10, "The reminder sender under load": claims and marks, over HTTP and in SQL.

Two runs, each on a fresh migrated warehouse database with ``--reminders`` due pending reminders
(``--tenants`` tenants; one invoice due today per reminder, each with a customer with a primary
phone; the marts are created from their dbt contract, the rows inserted in bulk with
``generate_series``, the reminders made by the real reminder run, ``generate_reminders``):

- **HTTP**: a real ``airflow api-server --workers N`` (simple auth manager, its own metadata database,
  the plugin's API at ``/customer-sync/api/v1``), a non-admin user ``sender`` (role viewer) granted
  ``send`` on the tenants; ``--senders`` sender processes, each with one persistent
  ``requests.Session``, loop for ``--seconds``: ``POST /reminders/claim`` (batch ``--batch``), then
  one ``POST /reminders/{id}/sent`` per reminder (``--fail-retryable`` of them ``/failed`` retryable,
  ``--fail-permanent`` ``/failed`` permanent);
- **SQL**: the same processes calling ``analytics.claim_reminders`` / ``mark_reminder_sent`` /
  ``mark_reminder_failed`` directly (psycopg, autocommit, one call per mark, ``set role zoho_sender``).

In both, another process runs the reminder run concurrently: every ``--run-every`` seconds, per
tenant, ``--pay-per-run`` invoices with a pending reminder are paid (``analytics.invoices_cache``
status ``paid``, balance 0; half of them chosen among the reminders under a live lease, so that the
cancellation races a sender holding it), then ``generate_reminders`` (which cancels their reminders).

Figures: claims/s, marks/s, p50/p99 latency of claims and marks, 409s (SQL: ``conflict`` outcomes)
by reason, CPU by process group. Checks, after the senders stop: no reminder has more than one
``sent`` event and the senders' ok-sent sets are disjoint and match the ``sent`` rows and events;
nothing sent after its cancellation; every reminder in a consistent final state; after the live
leases end, every pending due reminder not backing off is claimable again (a drain claims them all).

Run: ``make bench-sender`` (``BENCH_SENDER_ARGS=...``), or ``python -m bench sender --help``. The
section is spliced into BENCHMARKS.md after section 9 (before "Changes made ..."); the notes under
its ``<!-- sender-notes -->`` marker are kept by a re-run.
"""
from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import random
import re
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bench.common import ROOT, Databases, loadavg, machine_info
from bench.sections import Section

HEADING = "## 10. The reminder sender under load"
NOTES = "<!-- sender-notes -->"
SECTION = Section(HEADING, NOTES)
splice, carry_over = SECTION.splice, SECTION.carry_over
API_PREFIX = "/customer-sync/api/v1"
SENDER_USER = "sender"  # the non-admin API user (simple auth manager role viewer; password = name)
TARGETS = {"http": 300, "sql": 2000}  # marks/s
MARTS_YML = ROOT / "dbt_project" / "models" / "marts" / "_marts__models.yml"


def log(msg: str) -> None:
    print(f"[bench sender {datetime.now().strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m bench sender", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reminders", type=int, default=50_000, help="due pending reminders per run (default 50,000)")
    ap.add_argument("--tenants", type=int, default=2, help="tenants sharing them (default 2)")
    ap.add_argument("--senders", type=int, default=4, help="concurrent sender processes (default 4)")
    ap.add_argument("--seconds", type=float, default=60, help="how long the senders run (default 60)")
    ap.add_argument("--batch", type=int, default=50, help="claim batch size (default 50)")
    ap.add_argument("--lease-seconds", type=int, default=30,
                    help="the claims' lease (default 30: short, so that the final check need not wait long)")
    ap.add_argument("--fail-retryable", type=float, default=0.02, help="share of marks that are retryable failures")
    ap.add_argument("--fail-permanent", type=float, default=0.01, help="share of marks that are permanent failures")
    ap.add_argument("--run-every", type=float, default=3.0, help="seconds between reminder runs (default 3)")
    ap.add_argument("--pay-per-run", type=int, default=100,
                    help="invoices paid per tenant before each reminder run (default 100)")
    ap.add_argument("--api-workers", type=int, default=2, help="airflow api-server --workers (default 2)")
    ap.add_argument("--modes", default="http,sql", help="comma-separated: http, sql (default both)")
    ap.add_argument("--profile", type=float, default=0, metavar="SECONDS",
                    help="after the HTTP run, a further HTTP run of SECONDS with py-spy sampling the API "
                         "server's workers (figures not used for the table); needs py-spy in the venv")
    ap.add_argument("--sql-during-startup", action="store_true",
                    help="run the SQL mode while the API server boots (the smoke test: shorter, but the SQL "
                         "figures then share the CPU with the booting server)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--output", type=Path, default=ROOT / "BENCHMARKS.md",
                    help="the file whose section 10 is written (created with that section alone if missing)")
    ap.add_argument("--workdir", type=Path, default=None,
                    help="results.json and logs (default .local/bench/sender-<stamp>)")
    ap.add_argument("--keep-databases", action="store_true")
    ap.add_argument("--from-results", type=Path, default=None, metavar="RESULTS_JSON",
                    help="no run: write the section again from the results.json of an earlier run")
    args = ap.parse_args(argv)
    args.modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = set(args.modes) - {"http", "sql"}
    if unknown:
        ap.error(f"unknown modes {sorted(unknown)}")
    return args


# --------------------------------------------------------------------------- the warehouse's data
def marts_ddl() -> list[str]:
    """``create table`` / ``create index`` of the two marts from their dbt contract (as
    tests/reminders/marts.py does; copied: the bench imports nothing from tests/)."""
    import yaml

    models = {m["name"]: m for m in yaml.safe_load(MARTS_YML.read_text())["models"]}
    out = ["create schema if not exists analytics"]
    for name in ("customers_cache", "invoices_cache"):
        model = models[name]
        items = [f'"{c["name"]}" {c["data_type"]}'
                 + (" not null" if any(k["type"] == "not_null" for k in c.get("constraints", [])) else "")
                 for c in model["columns"]]
        for k in model.get("constraints", []):
            cols = ", ".join(f'"{c}"' for c in k["columns"])
            named = f'constraint "{k["name"]}" ' if "name" in k else ""
            if k["type"] == "primary_key":
                items.append(f"{named}primary key ({cols})")
            elif k["type"] == "unique":
                items.append(f"{named}unique ({cols})")
            elif k["type"] == "foreign_key":
                to = re.fullmatch(r"ref\('(\w+)'\)", k["to"]).group(1)
                items.append(f"{named}foreign key ({cols}) references analytics.{to} "
                             f"({', '.join(k['to_columns'])})")
        out.append(f"create table analytics.{name} ({', '.join(items)})")
        for index in model.get("config", {}).get("indexes", []):
            out.append(f"create index on analytics.{name} ({', '.join(index['columns'])})")
    return out


def tenant_names(n: int) -> list[str]:
    return [f"bench-{chr(ord('a') + i)}" if n <= 26 else f"bench-{i}" for i in range(n)]


SEED_CUSTOMERS = """
insert into analytics.customers_cache
    (id, user_id, zoho_customer_id, customer_name, company_name, email, phone, mobile, primary_phone,
     primary_phone_source, phone_pending, contact_persons, status, is_deleted, customer_hash, updated_at)
select cast(md5(%(tenant)s || '|C-' || g) as uuid), %(tenant)s, 'C-' || g, 'Customer ' || g, null, null, null,
       null, '+1415' || lpad(cast(g %% 10000000 as text), 7, '0'), 'contact.mobile', false, '[]'::jsonb,
       'active', false, 'h', now()
from generate_series(1, %(n)s) as g
"""
SEED_INVOICES = """
insert into analytics.invoices_cache
    (id, user_id, zoho_invoice_id, customer_id, zoho_customer_id, invoice_number, status, invoice_date,
     due_date, currency_code, total, balance, is_deleted, invoice_hash, updated_at)
select cast(md5(%(tenant)s || '|INV-' || g) as uuid), %(tenant)s, 'INV-' || g,
       cast(md5(%(tenant)s || '|C-' || g) as uuid), 'C-' || g, 'INV-' || lpad(cast(g as text), 6, '0'),
       'overdue', %(today)s - 30, %(today)s, 'USD', 100.00, 100.00, false, 'h', now()
from generate_series(1, %(n)s) as g
"""


def seed(uri: str, n: int, tenants: list[str]) -> dict:
    """The marts with ``n`` invoices due today (split over ``tenants``), then the reminder run."""
    import psycopg

    from zoho.reminders.generate import generate_reminders
    from zoho.reminders.policy import ReminderPolicy

    t0 = time.perf_counter()
    with psycopg.connect(uri, autocommit=True) as conn:
        for stmt in marts_ddl():
            conn.execute(stmt)
        today = conn.execute("select current_date").fetchone()[0]
        per = [n // len(tenants) + (1 if i < n % len(tenants) else 0) for i in range(len(tenants))]
        with conn.transaction():
            for tenant, k in zip(tenants, per):
                conn.execute(SEED_CUSTOMERS, {"tenant": tenant, "n": k})
                conn.execute(SEED_INVOICES, {"tenant": tenant, "n": k, "today": today})
        conn.execute("analyze analytics.customers_cache")
        conn.execute("analyze analytics.invoices_cache")
        created = {}
        for tenant in tenants:
            created[tenant] = generate_reminders(conn, tenant, today, ReminderPolicy(), True).created
        conn.execute("analyze analytics.payment_reminders")
        due = conn.execute("select count(*) from analytics.payment_reminders "
                           "where status = 'pending' and scheduled_for <= current_date").fetchone()[0]
    if due != n:
        raise RuntimeError(f"seeding made {due} due pending reminders, not {n} (created {created})")
    return {"today": today.isoformat(), "per_tenant": dict(zip(tenants, per)), "due_pending": due,
            "seconds": round(time.perf_counter() - t0, 1)}


# --------------------------------------------------------------------------- the Airflow API server
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ApiServer:
    """``airflow db migrate`` then ``airflow api-server --workers N`` in one process group of its own
    (as tests/apiserver.py runs one, with the simple auth manager and its own metadata database)."""

    def __init__(self, dbs: Databases, home: Path, warehouse_uri: str, workers: int, timeout: float = 300):
        meta = dbs.create("sender_meta", migrate=False)
        p = urlsplit(meta)
        self.meta_db = p.path.lstrip("/")
        home.mkdir(parents=True, exist_ok=True)
        passwords = home / "passwords.json"
        passwords.write_text(json.dumps({"admin": "admin", SENDER_USER: SENDER_USER}))
        self.env = {**os.environ,
                    "AIRFLOW_HOME": str(home / "airflow_home"),
                    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": urlunsplit(("postgresql+psycopg2", p.netloc, p.path,
                                                                       p.query, p.fragment)),
                    "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"admin:admin,{SENDER_USER}:viewer",
                    "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
                    "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
                    "AIRFLOW__API__BASE_URL": "",
                    "AIRFLOW_CONN_WAREHOUSE_DEFAULT": warehouse_uri}
        Path(self.env["AIRFLOW_HOME"]).mkdir(parents=True, exist_ok=True)
        self.home, self.workers, self.timeout = home, workers, timeout
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = home / "api-server.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> "ApiServer":
        airflow = str(Path(sys.executable).with_name("airflow"))
        cmd = (f"{shlex.quote(airflow)} db migrate >/dev/null && exec {shlex.quote(airflow)} api-server "
               f"--port {self.port} --workers {self.workers}")
        self.started = time.monotonic()
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(["bash", "-c", cmd], env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        return self

    def wait_ready(self) -> float:
        import requests

        t0 = time.monotonic()
        while time.monotonic() < t0 + self.timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the API server exited ({self.proc.returncode}):\n{self.log.read_text()[-4000:]}")
            try:
                requests.get(self.base + "/api/v2/version", timeout=2)
                return time.monotonic() - t0
            except requests.RequestException:
                time.sleep(0.5)
        raise RuntimeError(f"the API server did not answer in {self.timeout} s:\n{self.log.read_text()[-4000:]}")

    def token(self, user: str = SENDER_USER) -> str:
        import requests

        r = requests.post(self.base + "/auth/token", json={"username": user, "password": user}, timeout=30)
        if r.status_code != 201:
            raise RuntimeError(f"POST /auth/token for {user}: {r.status_code} {r.text[:500]}")
        return r.json()["access_token"]

    def pids(self) -> list[int]:
        """The server's process tree (the group it leads)."""
        if self.proc is None:
            return []
        return [pid for pid in _all_pids() if _pgid(pid) == self.proc.pid]

    def stop(self) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(30)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        self.proc = None


# --------------------------------------------------------------------------- CPU by process group
def _all_pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def _stat(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None


def _pgid(pid: int) -> int | None:
    s = _stat(pid)
    return int(s[2]) if s else None


def _cpu_s(pid: int) -> float:
    s = _stat(pid)
    return (int(s[11]) + int(s[12])) / os.sysconf("SC_CLK_TCK") if s else 0.0


def _machine_busy_s() -> float:
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


class CpuWatch:
    """CPU seconds per group of processes between ``start`` and ``stop``, sampled every half second
    (so that processes ending meanwhile, Postgres backends of closed connections, still count):
    ``groups`` maps a name to a function giving its pids now. ``postgres``: the backends connected to
    the run's database (``pg_stat_activity``), not the server's shared background processes."""

    def __init__(self, uri: str, groups: dict, meta_dbs: list[str] = ()):
        self.uri, self.groups, self.meta_dbs = uri, dict(groups), list(meta_dbs)
        self.first: dict[tuple[str, int], float] = {}
        self.last: dict[tuple[str, int], float] = {}
        self._stop = threading.Event()

    def _sample(self, conn, initial: bool = False) -> None:
        pids = {name: f() for name, f in self.groups.items()}
        for pid, app, db in conn.execute(
                "select pid, application_name, datname from pg_stat_activity "
                "where datname is not null and pid <> pg_backend_pid() and (datname = current_database() "
                "or datname = any(%s))", (self.meta_dbs,)):
            name = ("postgres: Airflow metadata" if db in self.meta_dbs
                    else "postgres: reminder run" if app == "bench-reminder-run" else "postgres")
            pids.setdefault(name, []).append(pid)
        for name, ps in pids.items():
            for pid in ps:
                key = (name, pid)
                cpu = _cpu_s(pid)
                if key not in self.first:
                    self.first[key] = cpu if initial else 0.0  # born during the window: all of its CPU
                self.last[key] = max(cpu, self.last.get(key, 0.0))

    def _loop(self) -> None:
        import psycopg

        with psycopg.connect(self.uri, autocommit=True, application_name="bench-cpu-watch") as conn:
            self._sample(conn, initial=True)
            self._started.set()
            while not self._stop.wait(0.5):
                self._sample(conn)
            self._sample(conn)

    def start(self) -> None:
        self.t0, self.busy0 = time.monotonic(), _machine_busy_s()
        self._started = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()
        self._started.wait(10)

    def stop(self) -> dict:
        self._stop.set()
        self.thread.join(10)
        out, per_pid = Counter(), {}
        for key, cpu in self.last.items():
            out[key[0]] += cpu - self.first.get(key, 0.0)
            if key[0] == "API server":
                per_pid[key[1]] = round(cpu - self.first.get(key, 0.0), 1)
        res = {k: round(v, 1) for k, v in out.items()}
        res["API server by process"] = sorted(per_pid.values(), reverse=True)
        res["machine"] = round(_machine_busy_s() - self.busy0, 1)
        res["window_s"] = round(time.monotonic() - self.t0, 1)
        return res


# --------------------------------------------------------------------------- the processes
def _classify(message: str) -> str:
    for needle, reason in (("was cancelled", "cancelled after the claim"),
                           ("is now held by", "lease expired, held by another"),
                           ("claimed again since", "lease expired, claimed again"),
                           ("already marked sent", "already sent"),
                           ("already marked failed", "already failed"),
                           ("already reported a failure", "failure already reported"),
                           ("is withheld", "withheld"), ("never claimed", "never claimed")):
        if needle in (message or ""):
            return reason
    return "other"


def _wait_until(epoch: float) -> None:
    while (d := epoch - time.time()) > 0:
        time.sleep(min(d, 0.5))


def sender_process(cfg: dict, index: int, out: str) -> None:
    """One sender: claim a batch, mark each reminder (one call each) until the deadline; results to ``out``."""
    rng = random.Random(cfg["seed"] * 1000 + index)
    name = f"s{index}"
    res = {"sender": name, "claims": 0, "empty_claims": 0, "claimed": 0, "marks": 0, "claim_ms": [], "mark_ms": [],
           "outcomes": Counter(), "conflicts": Counter(), "errors": Counter(), "error_samples": [],
           "ok_sent": [], "ok_failed_permanent": [], "ok_failed_retryable": 0, "abandoned": 0,
           "mark_at": [], "first_empty_at": None}
    deadline = cfg["deadline"]
    if cfg["mode"] == "http":
        import requests

        s = requests.Session()
        s.headers["Authorization"] = f"Bearer {cfg['token']}"
        base = cfg["base"] + API_PREFIX

        def claim():
            r = s.post(base + "/reminders/claim", json={"sender": name, "batch_size": cfg["batch"],
                                                        "lease_seconds": cfg["lease_seconds"]}, timeout=60)
            if r.status_code != 200:
                return None, f"claim HTTP {r.status_code}", r.text[:300]
            return r.json()["reminders"], None, None

        def mark(rem, kind):
            rid = rem["reminder_id"]
            if kind == "sent":
                r = s.post(f"{base}/reminders/{rid}/sent", timeout=60, json={
                    "lease_id": rem["lease_id"], "provider": "bench", "provider_message_id": f"{name}-{rid}"})
            else:
                r = s.post(f"{base}/reminders/{rid}/failed", timeout=60, json={
                    "lease_id": rem["lease_id"], "error": f"bench {kind}", "retryable": kind == "retryable"})
            if r.status_code == 200:
                return r.json()["outcome"], None
            if r.status_code == 409:
                return "conflict", r.json().get("detail", "")
            return f"HTTP {r.status_code}", r.text[:300]
    else:
        import psycopg

        conn = psycopg.connect(cfg["uri"], autocommit=True, application_name=f"bench-sender-{name}")
        conn.execute("set role zoho_sender")
        tenants = cfg["tenants"]

        def claim():
            cur = conn.execute("select * from analytics.claim_reminders(%s, %s, %s, %s, current_date)",
                               (name, cfg["batch"], cfg["lease_seconds"], tenants))
            cols = [c.name for c in cur.description]
            return [dict(zip(cols, row)) for row in cur.fetchall()], None, None

        def mark(rem, kind):
            if kind == "sent":
                cur = conn.execute("select outcome, message from analytics.mark_reminder_sent(%s, %s, %s, %s, %s)",
                                   (rem["reminder_id"], rem["lease_id"], "bench", f"{name}-{rem['reminder_id']}",
                                    tenants))
            else:
                cur = conn.execute("select outcome, message from analytics.mark_reminder_failed(%s, %s, %s, %s, %s)",
                                   (rem["reminder_id"], rem["lease_id"], f"bench {kind}", kind == "retryable",
                                    tenants))
            outcome, message = cur.fetchone()
            return outcome, (message if outcome != "ok" else None)

    _wait_until(cfg["start_at"])
    p_retry, p_perm = cfg["fail_retryable"], cfg["fail_permanent"]
    while time.time() < deadline:
        t0 = time.perf_counter()
        try:
            rems, err, sample = claim()
        except Exception as exc:  # noqa: BLE001 - counted and shown, the sender goes on
            rems, err, sample = None, f"claim {type(exc).__name__}", str(exc)[:300]
        res["claim_ms"].append(round((time.perf_counter() - t0) * 1000, 2))
        if rems is None:
            res["errors"][err] += 1
            if len(res["error_samples"]) < 5:
                res["error_samples"].append(f"{err}: {sample}")
            time.sleep(0.1)
            continue
        res["claims"] += 1
        if not rems:
            res["empty_claims"] += 1
            if res["first_empty_at"] is None:  # the queue ran dry (for now): from here on the sender idles
                res["first_empty_at"] = round(time.time() - cfg["start_at"], 3)
            time.sleep(0.1)
            continue
        res["claimed"] += len(rems)
        for i, rem in enumerate(rems):
            if time.time() >= deadline:
                res["abandoned"] += len(rems) - i  # their lease runs out: the final check finds them again
                break
            u = rng.random()
            kind = "retryable" if u < p_retry else "permanent" if u < p_retry + p_perm else "sent"
            t0 = time.perf_counter()
            try:
                outcome, detail = mark(rem, kind)
            except Exception as exc:  # noqa: BLE001
                outcome, detail = f"mark {type(exc).__name__}", str(exc)[:300]
            res["mark_ms"].append(round((time.perf_counter() - t0) * 1000, 2))
            res["mark_at"].append(round(time.time() - cfg["start_at"], 3))
            res["marks"] += 1
            res["outcomes"][f"{kind}:{outcome}"] += 1
            if outcome == "conflict":
                res["conflicts"][_classify(detail)] += 1
            elif outcome == "ok":
                if kind == "sent":
                    res["ok_sent"].append(str(rem["reminder_id"]))
                elif kind == "permanent":
                    res["ok_failed_permanent"].append(str(rem["reminder_id"]))
                else:
                    res["ok_failed_retryable"] += 1
            elif outcome != "unchanged":
                res["errors"][outcome] += 1
                if len(res["error_samples"]) < 5:
                    res["error_samples"].append(f"{outcome}: {detail}")
    res["ended"] = time.time()
    Path(out).write_text(json.dumps(res, default=str))


PAY = """
with leased as (
    select r.invoice_id from analytics.payment_reminders as r
    where r.user_id = %(tenant)s and r.status = 'pending' and r.lease_until > now()
    order by random() limit %(half)s
), other as (
    select r.invoice_id from analytics.payment_reminders as r
    where r.user_id = %(tenant)s and r.status = 'pending' and r.lease_until is null
    order by random() limit %(half)s
)
update analytics.invoices_cache as i
set status = 'paid', balance = 0, updated_at = now()
where i.id in (select invoice_id from leased union select invoice_id from other) and i.status <> 'paid'
"""


def reminder_run_process(cfg: dict, out: str) -> None:
    """Every ``run_every`` seconds, per tenant: pay some invoices, then the reminder run."""
    import psycopg

    from zoho.reminders.generate import generate_reminders
    from zoho.reminders.policy import ReminderPolicy

    res = {"runs": 0, "paid": 0, "cancelled": 0, "run_s": [], "errors": []}
    policy = ReminderPolicy()
    with psycopg.connect(cfg["uri"], autocommit=True, application_name="bench-reminder-run") as conn:
        today = conn.execute("select current_date").fetchone()[0]
        _wait_until(cfg["start_at"] + min(1.0, cfg["run_every"] / 2))
        while time.time() < cfg["deadline"]:
            round_started = time.time()
            for tenant in cfg["tenants"]:
                try:
                    res["paid"] += conn.execute(PAY, {"tenant": tenant, "half": cfg["pay_per_run"] // 2}).rowcount
                    t0 = time.perf_counter()
                    summary = generate_reminders(conn, tenant, today, policy, True)
                    res["run_s"].append(round(time.perf_counter() - t0, 3))
                    res["runs"] += 1
                    res["cancelled"] += summary.cancelled
                except Exception as exc:  # noqa: BLE001 - recorded: a failing run is a finding
                    res["errors"].append(f"{type(exc).__name__}: {exc}"[:500])
            time.sleep(max(0.0, min(round_started + cfg["run_every"], cfg["deadline"]) - time.time()))
    Path(out).write_text(json.dumps(res, default=str))


# --------------------------------------------------------------------------- one run
def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    v = sorted(values)  # nearest rank
    return round(v[min(len(v) - 1, max(0, math.ceil(q / 100 * len(v)) - 1))], 1)


def final_checks(uri: str, senders: list[dict], lease_seconds: int, tenants: list[str]) -> dict:
    """The state after the senders and the reminder run stopped; then wait for the live leases to end
    and drain: every pending due reminder not backing off must be claimable again."""
    import psycopg

    with psycopg.connect(uri, autocommit=True) as conn:
        q = lambda sql, *a: conn.execute(sql, a).fetchall()  # noqa: E731
        by_status = {f"{s}{'/' + r if r else ''}": n for s, r, n in q(
            "select status, reason, count(*) from analytics.payment_reminders group by 1, 2 order by 1, 2")}
        sent_multi = q("select count(*) from (select reminder_id from analytics.payment_reminder_events "
                       "where event = 'sent' group by 1 having count(*) > 1) as m")[0][0]
        sent_events = q("select count(*) from analytics.payment_reminder_events where event = 'sent'")[0][0]
        sent_rows = q("select count(*) from analytics.payment_reminders where status = 'sent'")[0][0]
        sent_after_cancel = q("""
            select count(*) from analytics.payment_reminder_events as s
            join analytics.payment_reminder_events as c on c.reminder_id = s.reminder_id and c.event = 'cancelled'
                and c.id < s.id
            where s.event = 'sent'""")[0][0]
        sent_paid_before = q("""
            select count(*) from analytics.payment_reminders as r
            join analytics.invoices_cache as i on i.id = r.invoice_id
            where r.status = 'sent' and i.status = 'paid' and i.updated_at < r.sent_at""")[0][0]
        failed_rows = q("select count(*) from analytics.payment_reminders where status = 'failed'")[0][0]
        inconsistent = q("""
            select count(*) from analytics.payment_reminders where
                (status = 'sent' and (sent_at is null or provider_message_id is null or lease_until is not null))
                or (status = 'failed' and (last_error is null or lease_until is not null))
                or (status = 'pending' and lease_until is not null and lease_id is null)
                or status not in ('pending', 'skipped', 'cancelled', 'sent', 'failed')""")[0][0]
        pending = dict(zip(("total", "never_claimed", "released", "live_lease", "expired_lease", "backing_off"), q("""
            select count(*),
                   count(*) filter (where lease_id is null),
                   count(*) filter (where lease_id is not null and lease_until is null
                                    and (next_attempt_at is null or next_attempt_at <= now())),
                   count(*) filter (where lease_until > now()),
                   count(*) filter (where lease_until <= now()),
                   count(*) filter (where lease_until is null and next_attempt_at > now())
            from analytics.payment_reminders where status = 'pending'""")[0]))
        backoff = q("select min(next_attempt_at - now()), max(next_attempt_at - now()) "
                    "from analytics.payment_reminders where status = 'pending' and next_attempt_at > now()")[0]
        # wait for the leases the senders left (claimed at the deadline, not marked) to run out
        t0 = time.monotonic()
        until = q("select extract(epoch from max(lease_until) - now()) from analytics.payment_reminders "
                  "where status = 'pending' and lease_until > now()")[0][0]
        if until is not None:
            time.sleep(min(float(until), lease_seconds) + 0.5)
        expired_after_wait = q("select count(*) from analytics.payment_reminders "
                               "where status = 'pending' and lease_until <= now()")[0][0]
        claimable = q("""
            select count(*) from analytics.payment_reminders where status = 'pending'
                and scheduled_for <= current_date and (lease_until is null or lease_until < now())
                and (next_attempt_at is null or next_attempt_at <= now())""")[0][0]
        drained = 0
        while True:
            n = len(q("select reminder_id from analytics.claim_reminders('bench-drain', 500, 600, %s, current_date)",
                      tenants))
            drained += n
            if n == 0:
                break
        drain_s = time.monotonic() - t0
        stuck = q("""
            select count(*) from analytics.payment_reminders where status = 'pending'
                and scheduled_for <= current_date and (next_attempt_at is null or next_attempt_at <= now())
                and claimed_by is distinct from 'bench-drain'""")[0][0]
        total = q("select count(*) from analytics.payment_reminders")[0][0]

    ok_sent = [set(s["ok_sent"]) for s in senders]
    union = set().union(*ok_sent) if ok_sent else set()
    ok_sent_total = sum(len(s["ok_sent"]) for s in senders)
    ok_failed = sum(len(s["ok_failed_permanent"]) for s in senders)
    checks = {
        "no reminder with more than one sent event": sent_multi == 0,
        "senders' ok-sent sets disjoint": len(union) == ok_sent_total,
        "ok-sent answers = sent rows = sent events": ok_sent_total == sent_rows == sent_events,
        "permanent-failure answers = failed rows": ok_failed == failed_rows,
        "no reminder sent after its cancellation": sent_after_cancel == 0,
        "every row in a consistent state": inconsistent == 0,
        "every claimable pending reminder claimed again by the drain": drained == claimable and stuck == 0,
        "reminders conserved (none lost or added)": total == sum(by_status.values()),
    }
    return {"by_status": by_status, "sent_rows": sent_rows, "sent_events": sent_events,
            "reminders_with_several_sent_events": sent_multi, "ok_sent_answers": ok_sent_total,
            "ok_sent_distinct": len(union), "failed_rows": failed_rows, "ok_failed_permanent": ok_failed,
            "sent_after_cancel": sent_after_cancel, "sent_although_paid_before": sent_paid_before,
            "inconsistent_rows": inconsistent, "pending_at_stop": pending,
            "backoff_range_s": [None if b is None else round(b.total_seconds()) for b in backoff],
            "expired_leases_after_wait": expired_after_wait, "claimable_before_drain": claimable,
            "drained": drained, "stuck_after_drain": stuck, "wait_and_drain_s": round(drain_s, 1),
            "total_reminders": total, "checks": checks, "passed": all(checks.values())}


def run_load(args, mode: str, uri: str, tenants: list[str], work: Path, *, server: ApiServer | None = None,
             token: str | None = None, seconds: float | None = None, label: str | None = None,
             profile_to: Path | None = None) -> dict:
    """The senders and the reminder run, at once, for ``seconds``; figures and checks."""
    label = label or mode
    seconds = seconds or args.seconds
    ctx = multiprocessing.get_context("spawn")
    start_at = time.time() + 3.0  # the spawned processes import what they need meanwhile
    cfg = {"mode": mode, "uri": uri, "tenants": tenants, "batch": args.batch, "lease_seconds": args.lease_seconds,
           "fail_retryable": args.fail_retryable, "fail_permanent": args.fail_permanent, "seed": args.seed,
           "start_at": start_at, "deadline": start_at + seconds, "run_every": args.run_every,
           "pay_per_run": args.pay_per_run, "token": token, "base": server.base if server else None}
    outs = [work / f"{label}-sender-{i}.json" for i in range(args.senders)]
    run_out = work / f"{label}-reminder-run.json"
    for f in [*outs, run_out]:
        f.unlink(missing_ok=True)
    procs = [ctx.Process(target=sender_process, args=(cfg, i, str(out)), name=f"sender-{i}")
             for i, out in enumerate(outs)]
    runner = ctx.Process(target=reminder_run_process, args=(cfg, str(run_out)), name="reminder-run")
    for p in [*procs, runner]:
        p.start()
    load_before = loadavg()
    groups = {"senders": lambda: [p.pid for p in procs if p.pid], "reminder run": lambda: [runner.pid]}
    if server is not None:
        groups["API server"] = server.pids
    watch = CpuWatch(uri, groups, [server.meta_db] if server else [])
    _wait_until(start_at)
    watch.start()
    spy = None
    py_spy = Path(sys.executable).with_name("py-spy")
    if profile_to is not None and server is not None and not py_spy.exists():
        log(f"--profile: {py_spy} not found (pip install py-spy into the venv): no profile")
    elif profile_to is not None and server is not None:
        spy = subprocess.Popen([str(py_spy), "record", "--pid", str(server.proc.pid),
                                "--subprocesses", "--duration", str(int(seconds)), "--format", "raw",
                                "--rate", "100", "--nonblocking", "--output", str(profile_to)],
                               stdout=subprocess.DEVNULL, stderr=open(work / f"{label}-py-spy.log", "wb"))
    for p in procs:
        p.join(seconds + 120)
    runner.join(seconds + 120)
    cpu = watch.stop()
    for p in [*procs, runner]:
        if p.is_alive():
            p.kill()
    if spy is not None:
        spy.wait(60)
    load_after = loadavg()
    senders = [json.loads(o.read_text()) for o in outs if o.exists()]
    if len(senders) != len(outs):
        raise RuntimeError(f"{label}: {len(outs) - len(senders)} sender process(es) left no results "
                           f"(exit codes {[p.exitcode for p in procs]})")
    run = json.loads(run_out.read_text()) if run_out.exists() else {"errors": ["the reminder run left no results"]}
    elapsed = max(s["ended"] for s in senders) - start_at
    claim_ms = [x for s in senders for x in s["claim_ms"]]
    mark_ms = [x for s in senders for x in s["mark_ms"]]
    sum_counter = lambda key: dict(sum((Counter(s[key]) for s in senders), Counter()).most_common())  # noqa: E731
    marks = sum(s["marks"] for s in senders)
    claims = sum(s["claims"] for s in senders)
    # the queue may run dry before the deadline (every due reminder claimed): the rate is the one of the
    # busy window, from the start to the first empty claim of any sender
    dry = min((s["first_empty_at"] for s in senders if s["first_empty_at"] is not None), default=None)
    busy = dry if dry is not None else elapsed
    marks_busy = sum(1 for s in senders for t in s["mark_at"] if t <= busy)
    r = {
        "mode": mode, "label": label, "senders": len(senders), "seconds": seconds, "elapsed_s": round(elapsed, 2),
        "load_before": load_before, "load_after": load_after, "cpu_s": cpu,
        "claims": claims, "empty_claims": sum(s["empty_claims"] for s in senders),
        "claimed": sum(s["claimed"] for s in senders), "marks": marks,
        "claims_per_s": round(claims / elapsed, 1), "marks_per_s_whole_run": round(marks / elapsed, 1),
        "queue_dry_at_s": dry, "busy_s": round(busy, 2), "marks_in_busy_window": marks_busy,
        "marks_per_s": round(marks_busy / busy, 1) if busy > 0 else 0.0,
        "claim_ms": {"p50": pct(claim_ms, 50), "p99": pct(claim_ms, 99), "mean": round(statistics.fmean(claim_ms), 1)
                     if claim_ms else None, "max": max(claim_ms, default=None)},
        "mark_ms": {"p50": pct(mark_ms, 50), "p99": pct(mark_ms, 99), "mean": round(statistics.fmean(mark_ms), 1)
                    if mark_ms else None, "max": max(mark_ms, default=None)},
        "outcomes": sum_counter("outcomes"), "conflicts": sum_counter("conflicts"), "errors": sum_counter("errors"),
        "error_samples": [e for s in senders for e in s["error_samples"]][:10],
        "abandoned_at_deadline": sum(s["abandoned"] for s in senders),
        "per_sender_marks": [s["marks"] for s in senders],
        "reminder_run": {"runs": run.get("runs", 0), "paid": run.get("paid", 0), "cancelled": run.get("cancelled", 0),
                         "mean_s": round(statistics.fmean(run["run_s"]), 3) if run.get("run_s") else None,
                         "max_s": max(run.get("run_s") or [0]) or None, "errors": run.get("errors", [])},
    }
    r["conflicts_total"] = sum(r["conflicts"].values())
    r["final"] = final_checks(uri, senders, args.lease_seconds, tenants)
    r["target_marks_per_s"] = TARGETS[mode]
    r["target_met"] = r["marks_per_s"] >= TARGETS[mode]
    return r


PROFILE_BUCKETS = {  # a step of a request -> a regular expression on py-spy's frames (``function (file:line)``)
    "authentication: Airflow's get_user (JWT decode, revocation check), inclusive": r"^get_user \(.*airflow/",
    "  of which RevokedToken.is_revoked (a metadata DB session, on the event loop)": r"^RevokedToken\.is_revoked \(",
    "require_user: is_authorized_dag (x2)": r"^[\w.]*is_authorized_dag \(",
    "access.caller (is_admin + the grants lookup), inclusive": r"^caller \(.*zoho/api/access\.py",
    "endpoint handler sent/failed/claim (zoho/api/sender.py), inclusive": r"^(sent|failed|claim) \(.*zoho/api/sender\.py",
    "warehouse sessions (db.session: pool checkout, begin/commit), both the grants lookup's and the mark's":
        r"^session \(.*zoho/api/db\.py",
    "psycopg execute / fetch (warehouse)": r"^(Connection|Cursor|BaseCursor)\.(execute|fetchone|fetchall) \(.*psycopg/",
    "pydantic validation / response serialisation": r"pydantic|^serialize_response \(|^_prepare_response_content \(",
    "uvicorn HTTP protocol": r"uvicorn/protocols",
    "starlette BaseHTTPMiddleware machinery (call_next streams), inclusive": r"^BaseHTTPMiddleware\.__call__",
    "Airflow's HttpAccessLogMiddleware, inclusive": r"^HttpAccessLogMiddleware\.__call__",
    "GZipMiddleware, inclusive": r"^GZipMiddleware\.__call__",
    "logging (access log, structlog)": r"logging/__init__\.py|structlog/",
    "anyio worker threads (sync endpoint and dependencies run there), inclusive": r"^WorkerThread\.run \(",
    "event loop, inclusive (everything async)": r"^Runner\.run \(",
}


def summarise_profile(raw: Path, top: int = 30) -> dict:
    """Inclusive share of py-spy's samples (idle threads are not sampled) per request step
    (``PROFILE_BUCKETS``) and per frame, from its collapsed stacks (``--format raw``)."""
    if not raw.exists():
        return {"samples": 0, "error": f"no profile at {raw}"}
    total, frames, hits = 0, Counter(), Counter()
    patterns = {k: re.compile(v) for k, v in PROFILE_BUCKETS.items()}
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        total += n
        parts = [re.sub(r":\d+\)$", ")", f) for f in stack.split(";")]
        for f in set(parts):
            frames[re.sub(r"\(/.*?/(site-packages|plugins|lib/python3\.\d+)/", "(", f)] += n
        for name, pattern in patterns.items():
            if any(pattern.search(f) for f in parts):
                hits[name] += n
    return {"samples": total,
            "buckets": {k: round(100 * hits[k] / total, 1) for k in PROFILE_BUCKETS} if total else {},
            "top_frames": [(f, round(100 * n / total, 1)) for f, n in frames.most_common(top)] if total else []}


def ladder(server: ApiServer, uri: str, n: int = 200) -> dict:
    """Sequential latency (one client, nothing else running) of requests that stop at successive steps of
    the mark's path: Airflow's own unauthenticated endpoint; the plugin refusing a request without a token;
    a mark of an unknown reminder as admin (authentication, no grants lookup, the mark function answers
    not_found: 404); the same as the non-admin sender (+ the grants lookup); the same call in SQL."""
    import uuid

    import psycopg
    import requests

    def timed(fn) -> dict:
        fn()  # warm
        ms = []
        for _ in range(n):
            t0 = time.perf_counter()
            fn()
            ms.append((time.perf_counter() - t0) * 1000)
        return {"p50": round(statistics.median(ms), 2), "mean": round(statistics.fmean(ms), 2),
                "p99": pct(ms, 99)}

    s = requests.Session()
    body = {"lease_id": str(uuid.uuid4()), "provider": "bench", "provider_message_id": "x"}
    url = lambda: f"{server.base}{API_PREFIX}/reminders/{uuid.uuid4()}/sent"  # noqa: E731
    admin = {"Authorization": f"Bearer {server.token('admin')}"}
    sender = {"Authorization": f"Bearer {server.token()}"}

    codes: dict[int, Counter] = {}

    def post(headers, expect):
        r = s.post(url(), json=body, headers=headers, timeout=30)
        codes.setdefault(expect, Counter())[r.status_code] += 1  # what came back, if not the expected

    out = {"GET /api/v2/version (Airflow, no auth)": timed(lambda: s.get(server.base + "/api/v2/version", timeout=30)),
           "mark without a token (401)": timed(lambda: post({}, 401)),
           "mark of an unknown reminder as admin (404: auth, no grants lookup)": timed(lambda: post(admin, 404)),
           "the same as the non-admin sender (404: + grants lookup)": timed(lambda: post(sender, 404))}
    with psycopg.connect(uri, autocommit=True) as conn:
        out["the same in SQL (mark_reminder_sent, not_found)"] = timed(lambda: conn.execute(
            "select outcome from analytics.mark_reminder_sent(%s, %s, 'bench', 'x', %s)",
            (uuid.uuid4(), uuid.uuid4(), ["bench-a"])).fetchone())

        def grants_tx():  # what access.caller does per request, in its own pooled transaction
            with conn.transaction():
                conn.execute("select user_id, access from zoho_sync.api_grants where username = %s",
                             (SENDER_USER,)).fetchall()
        out["the grants lookup alone in SQL (begin, select, commit)"] = timed(grants_tx)
    # Airflow's per-request revocation check (get_user -> RevokedToken.is_revoked: a metadata DB session)
    code = ("import json, statistics, time\n"
            "from airflow.models.revoked_token import RevokedToken\n"
            "RevokedToken.is_revoked('warm')\n"
            "ms = []\n"
            f"for i in range({n}):\n"
            "    t0 = time.perf_counter(); RevokedToken.is_revoked('x%d' % i); ms.append((time.perf_counter() - t0) * 1000)\n"
            "print(json.dumps({'p50': round(statistics.median(ms), 2), 'mean': round(statistics.fmean(ms), 2), "
            "'p99': round(sorted(ms)[int(len(ms) * 0.99) - 1], 2)}))\n")
    try:
        done = subprocess.run([sys.executable, "-c", code], env=server.env, capture_output=True, text=True, timeout=300)
        out["Airflow's RevokedToken.is_revoked alone (metadata DB), per request"] = json.loads(
            done.stdout.strip().splitlines()[-1])
    except Exception as exc:  # noqa: BLE001 - informative only
        out["revoked check error"] = f"{type(exc).__name__}: {exc}"
    out["status codes (expected: got)"] = {str(k): dict(v) for k, v in codes.items()}
    return out


def _grant(uri: str, tenants: list[str]) -> None:
    from zoho.api import grants
    from zoho.warehouse import connection as warehouse

    with warehouse.connect(uri, autocommit=True) as conn:
        for t in tenants:
            grants.grant(conn, SENDER_USER, t, send=True)


def run(args) -> dict:
    from zoho.warehouse import connection as warehouse

    started = time.perf_counter()
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d%H%M%S")
    work = (args.workdir or ROOT / ".local" / "bench" / f"sender-{stamp}").resolve()
    work.mkdir(parents=True, exist_ok=True)
    server_uri = warehouse.uri_from_env()
    dbs = Databases(server_uri, stamp)
    tenants = tenant_names(args.tenants)
    r = {"started": datetime.now(timezone.utc).isoformat(timespec="seconds"), "work": str(work),
         "machine": machine_info(server_uri), "load_at_start": loadavg(), "tenants": tenants,
         "settings": {k: getattr(args, k) for k in ("reminders", "tenants", "senders", "seconds", "batch",
                                                    "lease_seconds", "fail_retryable", "fail_permanent", "run_every",
                                                    "pay_per_run", "api_workers", "seed", "profile",
                                                    "sql_during_startup")},
         "runs": {}, "errors": []}
    server = None
    try:
        uris = {mode: dbs.create(f"sender_{mode}") for mode in args.modes}
        if "http" in args.modes:  # the server boots (metadata migration, workers) while the data is made
            server = ApiServer(dbs, work / "api", uris["http"], args.api_workers).start()
        for mode in args.modes:
            r[f"seed_{mode}"] = seed(uris[mode], args.reminders, tenants)
            log(f"{mode.upper()} warehouse seeded: {r[f'seed_{mode}']}")
        order = list(args.modes)
        if args.sql_during_startup and "sql" in order:
            order = ["sql"] + [m for m in order if m != "sql"]
        for mode in order:
            if mode == "sql":
                log(f"SQL run: {args.senders} senders x {args.seconds:.0f} s")
                r["runs"]["sql"] = run_load(args, "sql", uris["sql"], tenants, work)
                log(_line(r["runs"]["sql"]))
                continue
            _grant(uris["http"], tenants)
            ready = server.wait_ready()
            r["api_server"] = {"workers_flag": args.api_workers, "processes": _server_workers(server),
                               "ready_after_s": round(time.monotonic() - server.started, 1), "log": str(server.log)}
            log(f"API server ready ({r['api_server']['processes']}, {ready:.0f} s waited); "
                f"HTTP run: {args.senders} senders x {args.seconds:.0f} s")
            r["runs"]["http"] = run_load(args, "http", uris["http"], tenants, work, server=server, token=server.token())
            log(_line(r["runs"]["http"]))
            if args.profile:
                # the same server restarted on a fresh database (its environment names the warehouse)
                puri = dbs.create("sender_profile")
                seed(puri, args.reminders, tenants)
                _grant(puri, tenants)
                server.stop()
                server.env["AIRFLOW_CONN_WAREHOUSE_DEFAULT"] = puri
                server.log = work / "api" / "api-server-profile.log"
                server.port = free_port()
                server.base = f"http://127.0.0.1:{server.port}"
                server.start().wait_ready()
                r["ladder"] = ladder(server, puri)
                log(f"ladder: {json.dumps(r['ladder'])}")
                raw = work / "http-profile.txt"
                pr = run_load(args, "http", puri, tenants, work, server=server, token=server.token(),
                              seconds=args.profile, label="http-profile", profile_to=raw)
                r["profile"] = {"marks_per_s_while_sampled": pr["marks_per_s"], "raw": str(raw),
                                "cpu_s": pr["cpu_s"], "mark_ms": pr["mark_ms"], **summarise_profile(raw)}
                log(f"profile: {json.dumps(r['profile']['buckets'])}")
            server.stop()
    except Exception as exc:  # noqa: BLE001 - recorded, and the section says so
        import traceback

        r["errors"].append(f"{type(exc).__name__}: {exc}")
        log(traceback.format_exc())
    finally:
        if server is not None:
            server.stop()
        r["databases"] = list(dbs.created)
        if not args.keep_databases:
            dbs.drop_all()
    r["load_at_end"] = loadavg()
    r["finished"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    r["wall_s"] = round(time.perf_counter() - started, 1)
    r["passed"] = bool(r["runs"]) and not r["errors"] and all(x["final"]["passed"] for x in r["runs"].values())
    return r


def _server_workers(server: ApiServer) -> str:
    procs = []
    for pid in server.pids():
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        procs.append(cmd[:80])
    return f"{len(procs)} processes in the server's group"


def _line(x: dict) -> str:
    return (f"{x['label']}: {x['marks_per_s']} marks/s, {x['claims_per_s']} claims/s, mark p50/p99 "
            f"{x['mark_ms']['p50']}/{x['mark_ms']['p99']} ms, 409s {x['conflicts']}, errors {x['errors']}, "
            f"checks {'passed' if x['final']['passed'] else 'FAILED'}")


# --------------------------------------------------------------------------- the section
def _table(head: list[str], rows: list[list]) -> list[str]:
    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    out += ["| " + " | ".join("" if c is None else str(c) for c in row) + " |" for row in rows]
    return out


def _n(x) -> str:
    if x is None:
        return "n/a"
    if isinstance(x, float):
        return f"{x:,.1f}"
    return f"{x:,}" if isinstance(x, int) else str(x)


def render_section(r: dict) -> str:
    m, s = r["machine"], r["settings"]
    runs = r["runs"]
    modes = [k for k in ("http", "sql") if k in runs]
    names = {"http": "HTTP (Airflow API server)", "sql": "SQL (functions, psycopg)"}
    text = [HEADING, "",
            "A run of its own (`make bench-sender`, `python -m bench sender`, bench/sender_load.py): the reminder "
            "sender's claim-and-mark loop under load, through the plugin's HTTP API on a real `airflow api-server` "
            "and straight through the SQL functions of migration 0007, with a reminder run cancelling reminders "
            "at the same time. Each mode has a fresh warehouse database.", ""]
    pg = m.get("pg_settings", {})
    v = m.get("versions", {})
    api = r.get("api_server", {})
    rows = [
        ["date (UTC)", f"{r['started']} → {r['finished']}"],
        ["command", f"`{r.get('command', 'make bench-sender')}`"],
        ["wall time", f"{r['wall_s']:.0f} s"],
        ["cores (`nproc`) / CPU", f"{m.get('nproc')} / {m.get('cpu')}"],
        ["memory", f"{m.get('mem_total_gb')} GB ({m.get('mem_available_gb')} GB available at start)"],
        ["Python / Postgres", f"{m.get('python')} / {m.get('postgres')} (shared_buffers {pg.get('shared_buffers')}, "
                              f"fsync {pg.get('fsync')}, synchronous_commit {pg.get('synchronous_commit')})"],
        ["Airflow / psycopg / requests", f"{v.get('apache-airflow')} / {v.get('psycopg')} / {v.get('requests')}"],
        ["load average (1, 5, 15 min)", f"start {r['load_at_start']}; "
         + "; ".join(f"{k.upper()} run: before {runs[k]['load_before']}, after {runs[k]['load_after']}"
                     for k in modes) + f"; end {r['load_at_end']}"],
        ["data set", f"{s['reminders']:,} due pending reminders per mode, {s['tenants']} tenant(s) "
                     f"({', '.join(r['tenants'])}): one invoice due today each, step 0, made by `generate_reminders`"],
        ["senders", f"{s['senders']} processes x {s['seconds']:.0f} s; claim {s['batch']} (lease {s['lease_seconds']} s), "
                    f"then one call per reminder: sent, {s['fail_retryable']:.0%} failed retryable, "
                    f"{s['fail_permanent']:.0%} failed permanent"],
        ["HTTP", f"`airflow api-server --workers {s['api_workers']}` ({api.get('processes', 'n/a')}), simple auth "
                 f"manager, user `{SENDER_USER}` (role viewer, not an admin) granted send on the tenants; one "
                 f"`requests.Session` per sender, JWT from `POST /auth/token`"],
        ["SQL", "one psycopg connection per sender, autocommit, `set role zoho_sender`, tenants passed as a "
                "non-admin's grants would be"],
        ["reminder run", f"one more process: every {s['run_every']:g} s, per tenant, {s['pay_per_run']} invoices with "
                         f"a pending reminder paid (half of them under a live lease), then `generate_reminders`"],
    ]
    text += _table(["", ""], rows) + [""]
    if r.get("errors"):
        text += ["**Errors** (the run did not complete): " + "; ".join(f"`{e}`" for e in r["errors"]), ""]
    if not modes:
        return "\n".join(text + ["Not measured.", "", NOTES, ""])

    def col(f):
        return [f(runs[k]) for k in modes]

    def ms(x, key):
        return f"{_n(x[key]['p50'])} / {_n(x[key]['p99'])}"

    reasons = sorted({c for k in modes for c in runs[k]["conflicts"]})
    errs = sorted({c for k in modes for c in runs[k]["errors"]})
    rows = [
        ["**marks/s**", *col(lambda x: f"**{_n(x['marks_per_s'])}**")],
        ["target (marks/s)", *col(lambda x: f"≥ {x['target_marks_per_s']:,}: "
                                            + ("met" if x["target_met"] else "**missed**"))],
        ["the queue ran dry (every due reminder claimed) after", *col(
            lambda x: "not before the deadline" if x.get("queue_dry_at_s") is None else f"{x['queue_dry_at_s']:.1f} s")],
        ["marks/s over the whole run (idle once dry)", *col(lambda x: _n(x.get("marks_per_s_whole_run")))],
        ["claims/s (batches of up to 50; whole run)", *col(lambda x: _n(x["claims_per_s"]))],
        ["claim latency p50 / p99 (ms)", *col(lambda x: ms(x, "claim_ms"))],
        ["mark latency p50 / p99 (ms)", *col(lambda x: ms(x, "mark_ms"))],
        ["marks in the run / reminders claimed", *col(lambda x: f"{x['marks']:,} / {x['claimed']:,}")],
        ["marks per sender", *col(lambda x: ", ".join(f"{n:,}" for n in x["per_sender_marks"]))],
        ["answered ok: sent / failed retryable / failed permanent", *col(lambda x: " / ".join(
            _n(x["outcomes"].get(f"{k}:ok", 0)) for k in ("sent", "retryable", "permanent")))],
        ["409 (SQL: `conflict`) in all", *col(lambda x: _n(x["conflicts_total"]))],
        *[[f"409: {reason}", *col(lambda x, c=reason: _n(x["conflicts"].get(c, 0)))] for reason in reasons],
        *[[f"error: {e}", *col(lambda x, c=e: _n(x["errors"].get(c, 0)))] for e in errs],
        ["claimed, not marked at the deadline", *col(lambda x: _n(x["abandoned_at_deadline"]))],
        ["reminder runs / invoices paid / reminders cancelled", *col(lambda x: f"{x['reminder_run']['runs']} / "
                                                                       f"{x['reminder_run']['paid']:,} / "
                                                                       f"{x['reminder_run']['cancelled']:,}")],
        ["reminder run time mean / max (s)", *col(lambda x: f"{_n(x['reminder_run']['mean_s'])} / "
                                                            f"{_n(x['reminder_run']['max_s'])}")],
        ["CPU s in the run: sender processes / API server (its processes) / Postgres backends of the API or "
         "senders / Airflow metadata backends", *col(
            lambda x: f"{_n(x['cpu_s'].get('senders', 0.0))} / {_n(x['cpu_s'].get('API server', 0.0))} "
                      f"({', '.join(_n(v) for v in x['cpu_s'].get('API server by process', [])) or '-'}) / "
                      f"{_n(x['cpu_s'].get('postgres', 0.0))} / {_n(x['cpu_s'].get('postgres: Airflow metadata', 0.0))}")],
        ["CPU s of the reminder run: its process / its Postgres backend", *col(
            lambda x: f"{_n(x['cpu_s'].get('reminder run', 0.0))} / {_n(x['cpu_s'].get('postgres: reminder run', 0.0))}")],
        ["CPU s of the whole machine (other work included) / available", *col(
            lambda x: f"{_n(x['cpu_s'].get('machine'))} / {_n(round(x['cpu_s']['window_s'] * (m.get('nproc') or 1), 1))}")],
        ["CPU per mark, claims included (ms): senders / API server / Postgres (warehouse + metadata)", *col(
            lambda x: " / ".join(_n(round(1000 * (x["cpu_s"].get(k, 0.0) + x["cpu_s"].get(k2, 0.0))
                                          / max(1, x["marks"]), 2))
                                 for k, k2 in (("senders", ""), ("API server", ""),
                                               ("postgres", "postgres: Airflow metadata"))))],
    ]
    text += ["### Figures", ""] + _table(["", *[names[k] for k in modes]], rows) + [""]
    if s.get("sql_during_startup"):
        text += ["**The SQL run shared the CPU with the booting API server** (`--sql-during-startup`): its "
                 "figures are not comparable.", ""]
    text += ["Latency is as the sender sees it (request to parsed answer, client included). **marks/s** counts every "
             "mark call answered (ok, unchanged or 409) from the start to the first empty claim of any sender (the "
             "queue ran dry) or the deadline; the machine's two cores are shared by the senders, the reminder run, "
             "Postgres and (HTTP) the API server.", ""]

    checks = list(next(iter(runs.values()))["final"]["checks"])
    rows = [[c, *col(lambda x, c=c: "pass" if x["final"]["checks"][c] else "**FAIL**")] for c in checks]
    text += ["### Checks", ""] + _table(["check (after the senders stopped)", *[names[k] for k in modes]], rows) + [""]
    rows = [
        ["reminders in the end, by status", *col(lambda x: ", ".join(f"{k} {v:,}" for k, v in x["final"]["by_status"].items()))],
        ["sent rows / sent events / ok-sent answers (distinct)", *col(lambda x: f"{x['final']['sent_rows']:,} / "
            f"{x['final']['sent_events']:,} / {x['final']['ok_sent_answers']:,} ({x['final']['ok_sent_distinct']:,})")],
        ["reminders with more than one sent event", *col(lambda x: _n(x["final"]["reminders_with_several_sent_events"]))],
        ["sent after a cancelled event", *col(lambda x: _n(x["final"]["sent_after_cancel"]))],
        ["sent although the invoice was paid before (the run had not cancelled it yet)",
         *col(lambda x: _n(x["final"]["sent_although_paid_before"]))],
        ["pending at the stop: never claimed / released by a retryable failure, backing off / live lease / expired lease",
         *col(lambda x: " / ".join(_n(x["final"]["pending_at_stop"][k]) for k in
                                   ("never_claimed", "backing_off", "live_lease", "expired_lease")))],
        ["back-off left at the stop (s, min-max)", *col(lambda x: "-".join(_n(b) for b in x["final"]["backoff_range_s"]))],
        ["pending with an expired lease once the live leases ended", *col(lambda x: _n(x["final"]["expired_leases_after_wait"]))],
        ["claimable then / claimed again by the drain / stuck", *col(lambda x: f"{x['final']['claimable_before_drain']:,} / "
                                                                          f"{x['final']['drained']:,} / "
                                                                          f"{x['final']['stuck_after_drain']:,}")],
    ]
    text += _table(["final state", *[names[k] for k in modes]], rows) + [""]
    if r.get("profile"):
        p = r["profile"]
        text += [f"### Where the API server's time goes (py-spy, {p.get('samples', 0):,} samples of a separate "
                 f"{_n(s.get('profile'))} s HTTP run, {p.get('marks_per_s_while_sampled')} marks/s while "
                 f"sampled)", ""]
        text += _table(["step of a request (inclusive share of the server's samples)", "%"],
                       [[k, v] for k, v in p.get("buckets", {}).items()]) + [""]
    if r.get("ladder"):
        text += ["Sequential latency, one client, the server otherwise idle (200 requests each; the same server "
                 "as the profile):", ""]
        text += _table(["request", "p50 ms", "mean ms", "p99 ms"],
                       [[k, v["p50"], v["mean"], v["p99"]] for k, v in r["ladder"].items() if "p50" in v]) + [""]
        text += [f"Status codes (expected: got): `{json.dumps(r['ladder'].get('status codes (expected: got)'))}`", ""]
    text += [f"Raw figures: `{r['work']}/results.json`.", "", NOTES, ""]
    return "\n".join(text)






def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    given = argv if argv is not None else sys.argv[1:]
    command = os.environ.get("BENCH_COMMAND") or (
        "make bench-sender" + (f" BENCH_SENDER_ARGS={shlex.quote(' '.join(given))}" if given else ""))
    if args.from_results:
        r = json.loads(args.from_results.read_text())
        if r.get("profile", {}).get("raw") and Path(r["profile"]["raw"]).exists():  # the buckets as defined now
            r["profile"].update(summarise_profile(Path(r["profile"]["raw"])))
        old = args.output.read_text() if args.output.exists() else ""
        args.output.write_text(splice(old, render_section(r)))
        log(f"wrote {HEADING!r} into {args.output} from {args.from_results}")
        return 0
    r = run(args)
    r["command"] = command
    Path(r["work"], "results.json").write_text(json.dumps(r, indent=1, default=str))
    old = args.output.read_text() if args.output.exists() else ""
    args.output.write_text(splice(old, render_section(r)))
    log(f"wrote {HEADING!r} into {args.output} (figures: {r['work']}/results.json) in {r['wall_s']:.0f} s; "
        f"checks {'passed' if r['passed'] else 'FAILED'}")
    return 0 if r["passed"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
