"""``make bench``: run every measurement once and write ``BENCHMARKS.md``.

The sandbox runs in this process (its control API: clock, changes, call log); every piece of work
that is measured runs in a subprocess (``bench.worker``, ``bench.dlt_peer``, ``scripts/run_dag.py``,
dbt). Databases are fresh ``bench_<timestamp>_<label>`` databases on the warehouse server
(``AIRFLOW_CONN_WAREHOUSE_DEFAULT``), dropped at the end.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import shlex
import subprocess
import sys
import threading
import time
import traceback
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

from bench.common import (BENCH_VENV_PY, ROOT, Databases, loadavg, machine_info, python_env, rolling_minute,
                          run_dbt, run_measured)

PAGE = 200
# The extraction as production runs it, with Zoho's per-minute limit lifted (the sandbox's limits are
# off): the client's own limiter would otherwise pace a 550,000-record sync over hours.
UNLIMITED_CLIENT = {"requests_per_minute": 1_000_000}


def log(msg: str) -> None:
    print(f"[bench {datetime.now().strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--contacts", type=int, default=25_000, help="contacts per tenant (default 25,000)")
    ap.add_argument("--invoices", type=int, default=250_000, help="invoices per tenant (default 250,000)")
    ap.add_argument("--tenants", type=int, default=2, help="tenants (sandbox organisations), default 2")
    ap.add_argument("--scale", type=int, default=4, help="memory check: the larger run is SCALE x the base (default 4)")
    ap.add_argument("--base-invoices", type=int, default=None,
                    help="the small data set (memory 1x, dlt peer, Airflow runs): invoices of its one tenant "
                         "(default: invoices/20, at least 1,000); contacts in the same ratio as --contacts/--invoices")
    ap.add_argument("--change", type=float, default=0.01, help="share of records changed before the incremental run")
    ap.add_argument("--limits-requests", type=int, default=285,
                    help="requests the rate-limited sync needs (default 285: about three minutes at 90/min)")
    ap.add_argument("--replay-tenants", type=int, default=1,
                    help="tenants whose captured records the load-vs-COPY replay uses (default 1)")
    ap.add_argument("--skip-limits", action="store_true", help="skip the ~3-minute run under real rate limits")
    ap.add_argument("--skip-dlt", action="store_true", help="skip the dlt peer")
    ap.add_argument("--skip-airflow", action="store_true", help="skip the whole-DAG runs through Airflow")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--output", type=Path, default=ROOT / "BENCHMARKS.md")
    ap.add_argument("--workdir", type=Path, default=None, help="logs and intermediate files (default .local/bench/<stamp>)")
    ap.add_argument("--keep-databases", action="store_true")
    args = ap.parse_args(argv)
    if args.base_invoices is None:
        args.base_invoices = max(1_000, args.invoices // 20)
    args.base_contacts = max(50, round(args.base_invoices * args.contacts / max(1, args.invoices)))
    return args


# --------------------------------------------------------------------------- sandbox helpers
def wid(user_id: str) -> str:
    """The tenant's label in the bench's warehouse databases. Not the sandbox's own: the sync's
    advisory lock key is ``zoho_sync:<user_id>`` and advisory locks are visible server-wide, so tests
    running on the same server at the same time (which look for their tenants' locks) must never
    mistake a bench session for theirs."""
    return f"bench-{user_id}"


def tenant_specs(sb) -> list[dict]:
    out = []
    for o in sb.organizations:
        c = sb.airflow_connection(o)
        out.append({"user_id": wid(o.user_id), "org": o.user_id, "country": o.country, "login": c["login"],
                    "password": c["password"],
                    "extra": c["extra"]})
    return out


def listed_customers(sb, org) -> list[dict]:
    return [c for c in sb.contacts(org) if c.get("contact_type") == "customer"]


def lookups_needed(sb, org) -> int:
    """Distinct customers referenced by live invoices that the customer listing does not return (the
    the contract's "Missing customer" rule fetches each by id once). Read from the sandbox's store."""
    store = sb._store(org)  # noqa: SLF001 - bench-only: counting needs no 250,000 rendered invoices
    inv, contacts = store.invoices, store.contacts
    refs = {inv.cust[i] for i in inv.live()}
    return sum(1 for r in refs if r < 0 or contacts.deleted[r] or contacts.ctype[r] != 0)


def lower_bound(customers: int, invoices: int, persons: int) -> dict:
    pages_c = max(1, math.ceil(customers / PAGE))
    pages_i = max(1, math.ceil(invoices / PAGE))
    return {"contact_pages": pages_c, "invoice_pages": pages_i, "person_calls": persons,
            "bound": pages_c + pages_i + persons}


def full_lower_bound(sb, org) -> dict:
    from zoho.rules.phones import needs_contact_persons

    customers = listed_customers(sb, org)
    need = sum(1 for c in customers if needs_contact_persons(c, org.country))
    lb = lower_bound(len(customers), len(sb.invoice_ids(org)), need)
    lb.update(customers=len(customers), invoices=len(sb.invoice_ids(org)), lookups=lookups_needed(sb, org))
    return lb


def change_records(sb, org, share: float, seed: int) -> dict:
    """Change ``share`` of the tenant's customers and invoices (after moving the clock on)."""
    from zoho.rules.phones import needs_contact_persons

    rng = random.Random(f"{seed}-{org.user_id}")
    customers = [c["contact_id"] for c in listed_customers(sb, org)]
    invoices = sb.invoice_ids(org)
    c_ids = rng.sample(customers, max(1, round(len(customers) * share)))
    i_ids = rng.sample(invoices, max(1, round(len(invoices) * share)))
    need = 0
    for k, cid in enumerate(c_ids):
        detail = (sb.update_contact(org, cid, email=f"changed.{k}@bench.example") if k % 2 == 0
                  else sb.update_contact(org, cid, contact_name=f"Changed Customer {k}"))
        need += needs_contact_persons(detail, org.country)
    for k, iid in enumerate(i_ids):
        if k % 2 == 0:
            sb.update_invoice(org, iid, status="paid")
        else:
            sb.update_invoice(org, iid, reference_number=f"bench-{k}")
    lb = lower_bound(len(c_ids), len(i_ids), need)
    lb.update(customers=len(c_ids), invoices=len(i_ids), lookups=0)
    return lb


def calls_between(sb, t0: float, t1: float) -> list:
    return [c for c in sb.calls if t0 <= c.time <= t1 and not c.path.startswith("/oauth")]


class _Path:
    def __init__(self, path: str, org_id: str | None = None):
        self.path, self.org_id = path, org_id


def count_calls(calls, org_id: str | None = None) -> dict:
    """Requests by endpoint: contacts (list), contact (by id), contact_persons, invoices, invoice."""
    names = {("contacts", 1): "contacts", ("contacts", 2): "contact", ("contacts", 3): "contact_persons",
             ("invoices", 1): "invoices", ("invoices", 2): "invoice"}
    by = Counter()
    for c in calls:
        if org_id is not None and c.org_id != org_id:
            continue
        parts = c.path.strip("/").split("/")[2:]  # after books/v3
        by[names.get((parts[0] if parts else "", len(parts)), c.path)] += 1
    return dict(by)


# --------------------------------------------------------------------------- the harness
class Bench:
    def __init__(self, args: argparse.Namespace):
        from zoho.warehouse import connection as warehouse

        self.args = args
        self.stamp = datetime.now(timezone.utc).strftime("%Y%m%d%H%M%S")
        self.work = args.workdir or ROOT / ".local" / "bench" / self.stamp
        self.work.mkdir(parents=True, exist_ok=True)
        self.server_uri = warehouse.uri_from_env()
        self.dbs = Databases(self.server_uri, self.stamp)
        self.r: dict = {"args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
                        "timeline": []}
        self.sandboxes: list = []
        self._t0 = time.perf_counter()

    # ---------------------------------------------------------------- plumbing
    def mark(self, what: str) -> None:
        self.r["timeline"].append((round(time.perf_counter() - self._t0, 1), what))
        log(what)

    def sandbox(self, orgs: int, contacts: int, invoices: int, **limits):
        from zoho_sandbox import Sandbox

        t = time.perf_counter()
        options = {"per_minute_limit": None, "daily_limit": None, "max_concurrent": None, **limits}
        sb = Sandbox(seed=self.args.seed, orgs=orgs, contacts_per_org=contacts, invoices_per_org=invoices,
                     max_call_records=2_000_000, **options).start()
        self.sandboxes.append(sb)
        return sb, time.perf_counter() - t

    def spec_file(self, name: str, spec: dict) -> tuple[Path, Path]:
        spec_path = self.work / f"{name}.spec.json"
        spec_path.write_text(json.dumps(spec, indent=1))
        return spec_path, self.work / f"{name}.out.json"

    def worker(self, kind: str, name: str, spec: dict):
        spec_path, out = self.spec_file(name, spec)
        m = run_measured([sys.executable, "-m", "bench.worker", kind, str(spec_path), str(out)],
                         log=self.work / f"{name}.log", env=python_env(), result_file=out)
        return m.check(f"{kind} worker {name}")

    def extract(self, name: str, sb, uri: str, mode: str, tenants: list[dict] | None = None,
                client: dict | None = None, capture: Path | None = None, capture_ids: list[str] | None = None,
                parallel: bool = True) -> dict:
        """Sync the tenants, one subprocess per tenant, all at once (as the mapped Airflow tasks)."""
        tenants = tenants if tenants is not None else tenant_specs(sb)
        t0 = sb.clock.time()
        results: dict[str, object] = {}

        def one(t: dict) -> None:
            spec = {"warehouse_uri": uri, "mode": mode, "run_id": f"bench-{name}", "tenants": [t],
                    "client_overrides": UNLIMITED_CLIENT if client is None else client}
            if capture and (capture_ids is None or t["user_id"] in capture_ids):
                spec["capture_dir"] = str(capture)
            try:
                results[t["user_id"]] = self.worker("extract", f"{name}-{t['user_id']}", spec)
            except Exception as exc:  # noqa: BLE001 - re-raised below
                results[t["user_id"]] = exc

        started = time.perf_counter()
        threads = [threading.Thread(target=one, args=(t,)) for t in tenants]
        for th in threads:
            th.start()
            if not parallel:
                th.join()
        for th in threads:
            th.join()
        wall = time.perf_counter() - started
        calls = calls_between(sb, t0, sb.clock.time())
        out = {"wall_s": round(wall, 2), "tenants": {}}
        for t in tenants:
            m = results[t["user_id"]]
            if isinstance(m, Exception):
                raise m
            org = sb.org(t["org"])
            res = m.result["tenants"][0]
            fetched = sum(e["fetched"] for e in res["result"]["entities"])
            out["tenants"][t["user_id"]] = {
                "process_wall_s": round(m.wall_s, 2), "sync_s": res["wall_s"], "maxrss_mb": round(m.maxrss_mb, 1),
                "cpu_s": round(m.user_s + m.sys_s, 1), "records": fetched,
                "entities": {e["entity"]: e for e in res["result"]["entities"]},
                "client_calls": res["client_stats"]["total_calls"],
                "sandbox_calls": count_calls(calls, org.organization_id),
                "breakdown": res.get("breakdown", {})}
        out["records"] = sum(t["records"] for t in out["tenants"].values())
        out["sandbox_calls_total"] = len(calls)
        out["calls_429"] = sum(1 for c in calls if c.status == 429)
        return out

    def dbt(self, name: str, uri: str, args: list[str], target: Path) -> dict:
        res = run_dbt(uri, args, target, log=self.work / f"dbt-{name}.log")
        if res["returncode"] != 0:
            raise RuntimeError(f"dbt {name} failed; see {res['log']}")
        return res

    # ---------------------------------------------------------------- the run
    def run(self) -> dict:
        a = self.args
        self.r["machine"] = machine_info(self.server_uri)
        self.r["load_before"] = loadavg()
        self.r["started_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        limits_thread = None
        if not a.skip_limits:
            limits_thread = threading.Thread(target=self.guard("limits", self.limits_run), name="bench-limits")
            limits_thread.start()
        try:
            self.guard("headline", self.headline)()
            self.guard("small", self.small)()
        finally:
            if limits_thread:
                self.mark("waiting for the rate-limited run")
                limits_thread.join()
            for sb in self.sandboxes:
                sb.stop()
            self.r["databases"] = list(self.dbs.created)
            if not a.keep_databases:
                self.dbs.drop_all()
        self.r["load_after"] = loadavg()
        self.r["wall_s"] = round(time.perf_counter() - self._t0, 1)
        self.r["finished_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        return self.r

    def guard(self, section: str, fn):
        def run():
            try:
                fn()
            except Exception as exc:  # noqa: BLE001 - reported in its section, the rest goes on
                self.r.setdefault("errors", {})[section] = f"{type(exc).__name__}: {exc}"
                log(f"{section} failed:\n{traceback.format_exc()}")
        return run

    def headline(self) -> None:
        """Items 1, 2, 4, 5 and the 1x memory figure on the full-size data set."""
        a = self.args
        self.mark(f"building the sandbox: {a.tenants} tenant(s) x {a.contacts:,} contacts / {a.invoices:,} invoices")
        sb, built = self.sandbox(a.tenants, a.contacts, a.invoices)
        self.r["sandbox_build_s"] = round(built, 1)
        uri = self.dbs.create("main")
        self.r["lower_bound_full"] = {wid(o.user_id): full_lower_bound(sb, o) for o in sb.organizations}

        self.mark("full (nightly) extraction")
        capture = self.work / "capture"
        user_ids = [wid(o.user_id) for o in sb.organizations][: max(1, a.replay_tenants)]
        self.r["full"] = self.extract("full", sb, uri, "full", capture=capture, capture_ids=user_ids)

        self.mark("load phase replay vs COPY baseline")
        replay_uri = self.dbs.create("replay")
        m = self.worker("replay", "replay", {"warehouse_uri": replay_uri, "capture_dir": str(capture),
                                             "user_ids": user_ids})
        self.r["replay"] = {**m.result, "tenants": user_ids}
        for f in capture.glob("*.pickle"):
            f.unlink()

        self.mark("dbt: parse, full build")
        target = self.work / "dbt-target"
        # the same --vars on every invocation: changed vars would void dbt's partial parsing
        self.dbt("parse", uri, ["parse", "--vars", INCREMENTAL_VARS], target)
        self.r["dbt_full"] = self.dbt("full", uri, ["build", "--vars", INCREMENTAL_VARS], target)

        self.mark("reminders")
        self.r["reminders"] = self.reminders(uri, [wid(o.user_id) for o in sb.organizations])

        self.mark(f"changing {a.change:.0%} of customers and invoices")
        sb.clock.advance(600)  # past the extraction's 5-minute overlap
        self.r["lower_bound_incremental"] = {wid(o.user_id): change_records(sb, o, a.change, a.seed)
                                             for o in sb.organizations}
        self.mark("incremental extraction")
        self.r["incremental"] = self.extract("incremental", sb, uri, "incremental")
        self.mark("dbt: incremental build")
        self.r["dbt_incremental"] = self.dbt("incremental", uri, ["build", "--vars", INCREMENTAL_VARS], target)
        sb.stop()
        self.sandboxes.remove(sb)

    def reminders(self, uri: str, user_ids: list[str]) -> dict:
        from zoho.reminders import generate as reminders
        from zoho.warehouse import connection as warehouse
        from zoho.reminders.policy import parse_policy

        out = {"tenants": {}}
        run_date = datetime.now(timezone.utc).date()
        with warehouse.connect(uri) as conn:
            invoices = conn.execute("select count(*) from analytics.invoices_cache").fetchone()[0]
            t0 = time.perf_counter()
            for user_id in user_ids:
                t = time.perf_counter()
                s = reminders.generate_reminders(conn, user_id, run_date, parse_policy(None), True)
                out["tenants"][user_id] = {"seconds": round(time.perf_counter() - t, 3), "created": s.created,
                                           "by_status": s.totals()}
            out["seconds"] = round(time.perf_counter() - t0, 3)
            t = time.perf_counter()
            for user_id in user_ids:
                reminders.generate_reminders(conn, user_id, run_date, parse_policy(None), True)
            out["rerun_seconds"] = round(time.perf_counter() - t, 3)
        out["invoices"] = invoices
        out["run_date"] = run_date.isoformat()
        return out

    def small(self) -> None:
        """Memory 1x / SCALE x, the dlt peer and the Airflow runs on the small data set."""
        a = self.args
        base_c, base_i = a.base_contacts, a.base_invoices
        self.mark(f"small data set: 1 tenant x {base_c:,} contacts / {base_i:,} invoices")
        sb, _ = self.sandbox(1, base_c, base_i)
        self.r["small"] = {"contacts": base_c, "invoices": base_i, "tenants": 1}
        uri = self.dbs.create("small")
        self.r["mem_1x"] = self.extract("mem1x", sb, uri, "full")
        self.r["lower_bound_small"] = {wid(o.user_id): full_lower_bound(sb, o) for o in sb.organizations}
        run_date = datetime.now(timezone.utc).date().isoformat()
        user_ids = [wid(o.user_id) for o in sb.organizations]

        if not a.skip_dlt:
            self.guard("dlt", lambda: self.dlt_peer(sb, uri))()

        direct: dict = {"nightly": {"extract_s": self.r["mem_1x"]["wall_s"]}}
        if not a.skip_airflow:
            self.mark("direct nightly: dbt, gate, reminders")
            target = self.work / "dbt-target-small"
            self.dbt("parse-small", uri, ["parse"], target)
            direct["nightly"]["dbt"] = self.dbt("small-full", uri, ["build"], target)
            direct["nightly"]["finish"] = self.worker("finish", "finish-nightly", {
                "warehouse_uri": uri, "run_id": "bench-direct-nightly", "run_date": run_date,
                "user_ids": user_ids}).result
            air_uri = self.dbs.create("airflow")
            self.guard("airflow_nightly", lambda: self.airflow(sb, air_uri, "zoho_sync_nightly", "nightly"))()

        self.mark(f"small data set: changing {a.change:.0%}, incremental extraction")
        sb.clock.advance(600)
        self.r["lower_bound_small_incremental"] = {wid(o.user_id): change_records(sb, o, a.change, a.seed)
                                                   for o in sb.organizations}
        inc = self.r["small_incremental"] = self.extract("small-incremental", sb, uri, "incremental")
        if not a.skip_airflow:
            self.mark("direct incremental: dbt, gate, reminders")
            direct["incremental"] = {"extract_s": inc["wall_s"],
                                     "dbt": self.dbt("small-incremental", uri, ["build"], self.work / "dbt-target-small"),
                                     "finish": self.worker("finish", "finish-incremental", {
                                         "warehouse_uri": uri, "run_id": "bench-direct-incremental",
                                         "run_date": run_date, "user_ids": user_ids}).result}
            self.r["direct"] = direct
            self.guard("airflow_incremental",
                       lambda: self.airflow(sb, air_uri, "zoho_sync_incremental", "incremental"))()
        # the next night, nothing changed since: a steady-state nightly run
        self.mark("small data set: steady-state nightly extraction")
        self.r["small_nightly2"] = self.extract("small-nightly2", sb, uri, "full")
        sb.stop()
        self.sandboxes.remove(sb)

        big_c, big_i = base_c * a.scale, base_i * a.scale
        self.mark(f"memory at {a.scale}x: 1 tenant x {big_c:,} contacts / {big_i:,} invoices")
        sb, _ = self.sandbox(1, big_c, big_i)
        self.r["mem_scaled"] = self.extract("memNx", sb, self.dbs.create("memnx"), "full")
        self.r["mem_scaled"]["contacts"], self.r["mem_scaled"]["invoices"] = big_c, big_i
        sb.stop()
        self.sandboxes.remove(sb)

    def dlt_peer(self, sb, uri: str) -> None:
        self.mark("dlt peer")
        if not BENCH_VENV_PY.exists():
            raise RuntimeError(f"{BENCH_VENV_PY} missing: `make bench` installs requirements-bench.txt there")
        tenants = [{"user_id": o.user_id, "organization_id": o.organization_id, "api_base_url": sb.url,
                    "access_token": sb.access_token(o)} for o in sb.organizations]
        spec_path, out = self.spec_file("dlt", {"warehouse_uri": uri, "pipelines_dir": str(self.work / "dlt-pipelines"),
                                                 "tenants": tenants})
        t0 = sb.clock.time()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "PYTHONPATH"))}
        m = run_measured([str(BENCH_VENV_PY), str(ROOT / "bench" / "dlt_peer.py"), str(spec_path), str(out)],
                         log=self.work / "dlt.log", env=env, result_file=out).check("dlt peer")
        calls = calls_between(sb, t0, sb.clock.time())
        self.r["dlt"] = {**m.result, "process_wall_s": round(m.wall_s, 2), "maxrss_mb": round(m.maxrss_mb, 1),
                         "sandbox_calls": count_calls(calls), "calls": len(calls)}

    def airflow(self, sb, uri: str, dag_id: str, label: str) -> None:
        self.mark(f"Airflow: {dag_id}")
        env = python_env({"AIRFLOW_CONN_WAREHOUSE_DEFAULT": uri})
        tenants = []
        for i, o in enumerate(sb.organizations):
            conn = sb.airflow_connection(o)
            conn["extra"] = {**conn["extra"], **UNLIMITED_CLIENT}
            conn_id = f"bench_zoho_{i}"
            env[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps(conn)
            tenants.append({"user_id": wid(o.user_id), "conn_id": conn_id})
        env["AIRFLOW_VAR_ZOHO_TENANTS"] = json.dumps(tenants)
        env.pop("AIRFLOW_VAR_ZOHO_REMINDER_POLICY", None)
        # the sandbox runs without limits and sends no rate headers: the verification's budget
        # check would judge the sync against an assumed plan of 1,000 calls a day
        env["AIRFLOW_VAR_ZOHO_VERIFY_THRESHOLDS"] = json.dumps({"max_budget_share": None})
        # a logical date of its own within the last hour (the reminders' run date is its day): other
        # runs of the same DAG id may share the metadata database
        when = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(seconds=random.randrange(60, 3600))
        out = self.work / f"airflow-{label}.json"
        out.unlink(missing_ok=True)
        # scripts/run_dag.py: what `make sync-*` runs (dag.test()); exit 1 when the run failed, which
        # the report shows; no summary at all is an error
        m = run_measured([sys.executable, str(ROOT / "scripts" / "run_dag.py"), dag_id, "--logical-date",
                          when.isoformat(), "--json", str(out)], log=self.work / f"airflow-{label}.log", env=env)
        if not out.exists():
            m.check(f"Airflow {dag_id}")
        summary = json.loads(out.read_text())
        parts = summary["parts"]
        self.r.setdefault("airflow", {})[label] = {
            "dag_id": dag_id, "state": summary["state"], "run_id": summary["run_id"], "tis": summary["task_instances"],
            "import_s": parts["import Airflow"], "parse_s": parts["parse the DAG"],
            "run_s": round(summary["seconds"] - parts["import Airflow"] - parts["parse the DAG"], 3),
            "process_wall_s": round(m.wall_s, 2), "maxrss_mb": round(m.maxrss_mb, 1)}

    # ---------------------------------------------------------------- item 7
    def limits_run(self) -> None:
        """A second sandbox enforcing 100 requests per minute (daily budget 5000, 10 in flight), served
        by its own process (``python -m zoho_sandbox``: it must not share this process's interpreter
        lock with the unlimited sandbox serving the other measurements), with one tenant sized so
        that its sync needs about ``--limits-requests`` requests; the client as a deployment builds
        it from the connection (no overrides)."""
        import urllib.request

        from zoho.rules.phones import needs_contact_persons

        a = self.args
        contacts, today = 400, datetime.now(timezone.utc).date().isoformat()
        # customers ~90%, persons needed for ~half of them; pages + 1 lookup per 400 invoices
        probe, _ = self.sandbox(1, contacts, 1000, today=today)
        org = probe.organizations[0]
        customers = listed_customers(probe, org)
        need = sum(1 for c in customers if needs_contact_persons(c, org.country))
        probe.stop()
        self.sandboxes.remove(probe)
        budget = a.limits_requests - need - math.ceil(len(customers) / PAGE)
        invoices = max(PAGE, int(budget / (1 / PAGE + 1 / 400)))
        # the same seed, sizes and day give the same data: the lower bound is read in-process
        twin, _ = self.sandbox(1, contacts, invoices, today=today)
        lb = full_lower_bound(twin, twin.organizations[0])
        twin.stop()
        self.sandboxes.remove(twin)

        info_file = self.work / "limits-sandbox.json"
        cmd = [sys.executable, "-m", "zoho_sandbox", "--port", "0", "--orgs", "1", "--contacts", str(contacts),
               "--invoices", str(invoices), "--seed", str(a.seed), "--today", today, "--per-minute", "100",
               "--daily", "5000", "--max-concurrent", "10", "--info-file", str(info_file)]
        with open(self.work / "limits-sandbox.log", "wb") as out:
            server = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=python_env(), cwd=ROOT)
        try:
            deadline = time.monotonic() + 120
            while not info_file.exists():
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the rate-limited sandbox did not start; see limits-sandbox.log")
                time.sleep(0.1)
            info = json.loads(info_file.read_text())
            o = info["organizations"][0]
            tenant = {"user_id": wid(o["user_id"]), "org": o["user_id"], "country": o["country"],
                      "login": o["client_id"],
                      "password": o["client_secret"],
                      "extra": {"refresh_token": o["refresh_token"], "organization_id": o["organization_id"],
                                "region": "com", "default_country": o["country"], "api_base_url": info["url"],
                                "accounts_url": info["url"]}}
            uri = self.dbs.create("limits")
            self.mark(f"rate-limited run started in the background: {contacts} contacts / {invoices:,} invoices, "
                      f"{lb['bound'] + lb['lookups']} requests needed")
            spec = {"warehouse_uri": uri, "mode": "full", "run_id": "bench-limits", "tenants": [tenant],
                    "client_overrides": {}}
            m = self.worker("extract", "limits", spec)
            with urllib.request.urlopen(info["url"] + "/_sandbox/calls", timeout=60) as resp:
                calls = [c for c in json.loads(resp.read())["calls"] if not c["path"].startswith("/oauth")]
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
        res = m.result["tenants"][0]
        admitted = [c["time"] for c in calls if c["status"] != 429]
        busiest, average = rolling_minute(admitted)
        span = (max(admitted) - min(admitted)) if admitted else 0
        by = Counter(c["path"].strip("/").split("/")[2] + ("" if c["path"].count("/") <= 3 else "/…")
                     for c in calls)
        self.r["limits"] = {"contacts": contacts, "invoices": invoices, "lower_bound": lb,
                            "sync_s": res["wall_s"], "client_stats": res["client_stats"],
                            "process_wall_s": round(m.wall_s, 1), "requests": len(calls), "admitted": len(admitted),
                            "by_path": dict(by), "calls_429": sum(1 for c in calls if c["status"] == 429),
                            "busiest_minute": busiest, "average_minute": round(average, 1), "span_s": round(span, 1),
                            "overall_per_minute": round(len(admitted) / span * 60, 1) if span else None,
                            "mean_latency_s": round(sum(c["duration"] for c in calls) / max(1, len(calls)), 3),
                            "limit": 100, "client_limit": 90, "load_during": loadavg(),
                            # (seconds since the first request, endpoint, status) of every request
                            "log": [(round(c["time"] - min(admitted), 3), count_calls([_Path(c["path"])]).popitem()[0],
                                     c["status"]) for c in sorted(calls, key=lambda c: c["time"])] if admitted else []}
        self.mark("rate-limited run finished")


# dbt's incremental selection re-reads raw rows landed within ``incremental_lookback`` (2 hours)
# of the mart's newest change. The bench's incremental run comes minutes after the first load, so
# with the production value it would recompute everything; a run 30 minutes after the previous one
# in steady state sees only what landed since. The lookback is set to zero to measure that.
INCREMENTAL_VARS = '{"incremental_lookback": "0 seconds"}'


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    bench = Bench(args)
    command = "make bench" + (f" BENCH_ARGS={shlex.quote(' '.join(sys.argv[1:]))}" if sys.argv[1:] else "")
    if os.environ.get("BENCH_COMMAND"):
        command = os.environ["BENCH_COMMAND"]
    log(f"workdir {bench.work}")
    results = bench.run()
    results["command"] = command
    (bench.work / "results.json").write_text(json.dumps(results, indent=1, default=str))
    from bench import run_cost, sender_load, sweep_plans, tenants
    from bench.report import render

    # sections 9 (the first sync per plan), 10 (the reminder sender), 11 (run cost) and 12 (tenants)
    # are runs of their own (`make bench-plans`, `-sender`, `-runcost`, `-tenants`): kept as they stand
    previous = args.output.read_text() if args.output.exists() else None
    document = render(results)
    for section in (sweep_plans.SECTION, sender_load.SECTION, run_cost.SECTION, tenants.SECTION):
        document = section.carry_over(previous, document)
    args.output.write_text(document)
    log(f"wrote {args.output} (figures: {bench.work / 'results.json'}) in {results['wall_s']:.0f} s")
    return 0 if not results.get("errors") else 1
