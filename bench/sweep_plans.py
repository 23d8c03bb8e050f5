"""BENCHMARKS.md section 9, "Budget-aware first sync per plan": the first sync of one tenant, day by day.

For each Zoho plan (Free 1,000, Standard 2,000, Professional 5,000, Premium 10,000 calls a day), a
fresh sandbox organisation on that plan and a fresh migrated warehouse database; the nightly sync
(``zoho.sync.extract.sync_tenant(..., "full")`` with the default budget settings: the plan's limit,
the default reserve) runs once per simulated Zoho day, then ``Sandbox.end_day`` starts the next day
(no clock moves, so the data and "today" stay put), until both sweeps are complete or ``--max-days``.

After each day's run, in the warehouse and against the sandbox's own data:

- *reminders right*: (a) the contacts' listing is done (sweep phase past ``listing``), (b) every open
  invoice (sent, viewed, overdue, partially paid, unpaid) the sandbox holds with a due date in the
  default policy's window ``[today-16, today+4]`` is in ``zoho_raw.invoices``, (c) each of their
  customers that Zoho has is in ``zoho_raw.contacts`` with ``persons_pending`` false (customers Zoho
  does not have, deleted or unknown ids, cannot be landed and are left out: counted);
- *cache complete*: both sweeps ``complete`` and no contact ``persons_pending``;
- the calls and code-45 answers of each Zoho day (``Sandbox.day_history``), split by endpoint from
  the sandbox's call log.

Today's behaviour before the resumable sweep (every night restarts at page 1) cannot be run any more:
it is computed from the same counts (``old_behaviour``).

Run: ``make bench-plans`` (``BENCH_PLANS_ARGS=...``), or ``python -m bench plans --help``. The section is
spliced into BENCHMARKS.md before "Changes made ..." (replacing an earlier one), and ``make bench``
carries it over when it rewrites the file.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import sys
import time
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from bench.common import ROOT, Databases, loadavg, machine_info
from bench.sections import Section

PAGE = 200
PLANS = {"free": 1_000, "standard": 2_000, "professional": 5_000, "premium": 10_000}
OPEN_STATUSES = ("sent", "viewed", "overdue", "partially_paid", "unpaid")
DUE_RANGE = (-16, 4)  # zoho.sync.extract.DEFAULT_DUE_RANGE: the default policy's due dates, days from today
# as tests/helpers.py builds a sandbox client: the bench is paced by the budget, not the client's limiter
CLIENT = {"requests_per_minute": 100_000, "max_concurrent": 5}
HEADING = "## 9. Budget-aware first sync per plan"


def log(msg: str) -> None:
    print(f"[bench plans {datetime.now().strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def pages(n: int) -> int:
    return max(1, math.ceil(n / PAGE))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m bench plans", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--contacts", type=int, default=25_000, help="contacts of the tenant (default 25,000)")
    ap.add_argument("--invoices", type=int, default=250_000, help="invoices of the tenant (default 250,000)")
    ap.add_argument("--plans", default=",".join(PLANS),
                    help="comma-separated plans (free, standard, professional, premium, or a daily limit)")
    ap.add_argument("--also", action="append", default=[], metavar="CONTACTS/INVOICES:PLANS",
                    help="a further size and its plans, e.g. 25000/250000:free (repeatable)")
    ap.add_argument("--max-days", type=int, default=40, help="simulated Zoho days per plan at most (default 40)")
    ap.add_argument("--after", type=int, default=3,
                    help="nights run on after the cache is complete, on the plans of --after-plans (default 3)")
    ap.add_argument("--after-plans", default="free", help="comma-separated plans that get the --after nights (default free)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--output", type=Path, default=ROOT / "BENCHMARKS.md",
                    help="the file whose section 9 is written (created with that section alone if missing)")
    ap.add_argument("--workdir", type=Path, default=None, help="results.json and logs (default .local/bench/plans-<stamp>)")
    ap.add_argument("--keep-databases", action="store_true")
    ap.add_argument("--from-results", type=Path, default=None, metavar="RESULTS_JSON",
                    help="no run: write the section again from the results.json of an earlier run")
    args = ap.parse_args(argv)
    runs = [(args.contacts, args.invoices, [p.strip() for p in args.plans.split(",") if p.strip()])]
    for spec in args.also:
        size, _, plans = spec.partition(":")
        c, _, i = size.partition("/")
        runs.append((int(c), int(i), [p.strip() for p in (plans or args.plans).split(",") if p.strip()]))
    args.runs = runs
    args.after_plans = [p.strip() for p in args.after_plans.split(",") if p.strip()]
    return args


def plan_limit(plan: str) -> int:
    return PLANS[plan] if plan in PLANS else int(plan)


def default_share(budget: int) -> int:
    """``BudgetSettings().share(budget, "sweep")``: the budget less the default reserve."""
    from zoho.sync.budget import BudgetSettings

    return BudgetSettings().share(budget, "sweep")


# --------------------------------------------------------------------------- what the data needs
def needs(sb, org) -> dict:
    """The counts the targets and the computed old behaviour use, from the sandbox's data."""
    from zoho.rules.phones import needs_contact_persons

    today = sb.today
    lo, hi = today + timedelta(days=DUE_RANGE[0]), today + timedelta(days=DUE_RANGE[1])
    wide_lo, wide_hi = lo - timedelta(days=1), hi + timedelta(days=1)  # zoho.sync.sweep.due_filter
    contacts = sb.contacts(org)  # live contacts, any type
    by_id = {c["contact_id"]: c for c in contacts}
    customers = [c for c in contacts if c.get("contact_type") == "customer"]
    need_persons = {c["contact_id"] for c in customers if needs_contact_persons(c, org.country)}
    window, listed_open = [], 0
    referenced = set()
    n_invoices = 0
    for inv in sb.invoices(org):
        n_invoices += 1
        if inv.get("customer_id"):
            referenced.add(inv["customer_id"])
        if inv.get("status") not in OPEN_STATUSES or not inv.get("due_date"):
            continue
        due = date.fromisoformat(inv["due_date"][:10])
        if wide_lo <= due <= wide_hi:
            listed_open += 1
        if lo <= due <= hi:
            window.append((inv["invoice_id"], inv.get("customer_id")))
    window_customers = {cid for _, cid in window if cid}
    held = sorted(c for c in window_customers if c in by_id)  # Zoho has them: they can be landed
    listed_ids = {c["contact_id"] for c in customers}
    lookups = sum(1 for c in referenced if c not in listed_ids)
    return {
        "today": today.isoformat(), "window": [lo.isoformat(), hi.isoformat()],
        "customers": len(customers), "invoices": n_invoices,
        "contact_pages": pages(len(customers)), "invoice_pages": pages(n_invoices),
        "persons": len(need_persons), "lookups": lookups,
        "open_listed": listed_open, "open_pages": pages(listed_open),
        "window_invoices": len(window), "window_customers": len(window_customers),
        "window_customers_held": len(held), "window_customers_absent": len(window_customers) - len(held),
        "window_customers_not_listed": sum(1 for c in held if c not in listed_ids),
        "window_persons": sum(1 for c in held if c in need_persons),
        "_window_ids": [i for i, _ in window], "_window_customers": held,
    }


def targets(nd: dict, budget: int) -> dict:
    share = default_share(budget)
    window_calls = nd["contact_pages"] + nd["open_pages"] + nd["window_persons"]
    total = nd["contact_pages"] + nd["invoice_pages"] + nd["persons"] + nd["lookups"]
    return {"share": share, "window_calls": window_calls, "total_calls": total,
            "reminders_days": math.ceil(window_calls / share), "complete_days": math.ceil(total / share) + 1}


def old_behaviour(nd: dict, share: int, max_days: int) -> dict:
    """Computed, not run: every night restarts both listings at page 1 and stops at the share. A
    night spends its share on the contact pages (all again), then on the persons still unread in
    listing order (persons already read are not read again), then on the invoice pages from page 1,
    then on the customer lookups (assumed remembered across nights: the most favourable reading).
    The due invoices are spread over the whole invoice listing, so reminders are right on the first
    night the contact pages, the remaining persons and all the invoice pages fit in; the cache is
    complete once the lookups are done too. Days up to ``max_days``, else None (never)."""
    c, i = nd["contact_pages"], nd["invoice_pages"]
    persons, lookups = nd["persons"], nd["lookups"]
    reminders = complete = None
    for day in range(1, max_days + 1):
        left = share - c
        if left < 0:
            break  # not even the contact listing completes: never
        read = min(persons, left)
        persons -= read
        left -= read
        if persons == 0 and left >= i:
            reminders = reminders or day
            left -= i
            done = min(lookups, left)
            lookups -= done
            if lookups == 0:
                complete = day
                break
        elif persons == 0 and left < i and (share - c) < i:
            break  # the invoice pages alone never fit after the contact pages: never
    return {"reminders_days": reminders, "complete_days": complete,
            "night_needs": c + i, "fits": share >= c + i}


# --------------------------------------------------------------------------- the run
def classify(call) -> str:
    parts = call.path.strip("/").split("/")[2:]  # after books/v3
    if not parts:
        return call.path
    if parts[0] == "contacts":
        return {1: "contact pages", 2: "contacts by id", 3: "persons"}.get(len(parts), call.path)
    if parts[0] == "invoices":
        if len(parts) == 1:
            return "open-invoice check" if (call.params or {}).get("filter_by") == "Status.Unpaid" else "invoice pages"
        return "invoices by id"
    return call.path


def state_after(conn, user_id: str, nd: dict) -> dict:
    phases = dict(conn.execute("select entity, phase from zoho_sync.sweeps where user_id = %s", (user_id,)).fetchall())
    pending = conn.execute("select count(*) from zoho_raw.contacts where user_id = %s and persons_pending "
                           "and not is_deleted", (user_id,)).fetchone()[0]
    inv_held = conn.execute("select count(*) from zoho_raw.invoices where user_id = %s and not is_deleted "
                            "and invoice_id = any(%s)", (user_id, nd["_window_ids"])).fetchone()[0]
    cust_right = conn.execute("select count(*) from zoho_raw.contacts where user_id = %s and not is_deleted "
                              "and not persons_pending and contact_id = any(%s)",
                              (user_id, nd["_window_customers"])).fetchone()[0]
    # customers live invoices reference that are neither landed nor known to be missing (the contract's
    # "Missing customer" lookups still to make): zoho/sync/sql/unknown_customers.sql, counted
    unresolved = conn.execute(
        "select count(distinct i.customer_id) from zoho_raw.invoices i where i.user_id = %s and i.customer_id is not null "
        "and not i.is_deleted and not exists (select 1 from zoho_raw.contacts c where c.user_id = i.user_id "
        "and c.contact_id = i.customer_id) and not exists (select 1 from zoho_raw.missing_contacts m "
        "where m.user_id = i.user_id and m.contact_id = i.customer_id)", (user_id,)).fetchone()[0]
    ledger = conn.execute("select zoho_day, spent_today from zoho_sync.api_budget where user_id = %s",
                          (user_id,)).fetchone()
    listing_done = phases.get("contacts") in ("confirming", "complete")
    return {"phases": phases, "persons_pending": pending, "window_invoices_held": inv_held,
            "window_customers_right": cust_right, "unresolved_customers": unresolved,
            "ledger_day": ledger[0] if ledger else None, "ledger_spent": ledger[1] if ledger else None,
            "reminders_right": bool(listing_done and inv_held == nd["window_invoices"]
                                    and cust_right == nd["window_customers_held"]),
            "complete": phases == {"contacts": "complete", "invoices": "complete"} and pending == 0}


def run_plan(dbs: Databases, contacts: int, invoices: int, plan: str, seed: int, max_days: int,
             today: date, after: int = 0) -> dict:
    from zoho.books.client import ZohoBooksClient
    from zoho.sync.budget import BudgetSettings
    from zoho.sync.extract import Tenant, sync_tenant
    from zoho.warehouse import connection as warehouse
    from zoho_sandbox import Sandbox

    label = f"{contacts}/{invoices} {plan}"
    t = time.perf_counter()
    sb = Sandbox(seed=seed, orgs=1, contacts_per_org=contacts, invoices_per_org=invoices, plans={0: plan},
                 per_minute_limit=None, daily_limit=None, max_concurrent=None, token_limit=None,
                 today=today, max_call_records=50_000).start()
    try:
        org = sb.organizations[0]
        nd = needs(sb, org)
        build_s = time.perf_counter() - t
        uri = dbs.create(f"plans_{contacts}_{plan}")
        user_id = f"bench-plans-{org.user_id}"  # not the sandbox's own: tests on this server look for theirs
        conn_fields = sb.airflow_connection(org)
        budget = plan_limit(plan)
        out = {"plan": plan, "daily_limit": budget, "contacts": contacts, "invoices": invoices,
               "sandbox_build_s": round(build_s, 1), "needs": {k: v for k, v in nd.items() if not k.startswith("_")},
               "targets": targets(nd, budget), "days": []}
        log(f"{label}: {json.dumps(out['needs'])}")
        sb.reset_calls()
        complete_day = None
        with warehouse.connect(uri) as conn:
            for day in range(1, max_days + after + 1):
                if complete_day is None and day > max_days:
                    break
                if day > 1:
                    sb.end_day(org)
                client = ZohoBooksClient.from_connection_fields(conn_fields["login"], conn_fields["password"],
                                                                {**conn_fields["extra"], **CLIENT}, tenant=user_id)
                t0 = time.perf_counter()
                try:
                    res = sync_tenant(client, uri, Tenant(user_id, org.country), "full", run_id=f"plans-night-{day}",
                                      budget=BudgetSettings())
                finally:
                    client.close()
                wall = time.perf_counter() - t0
                kinds = Counter(classify(c) for c in sb.calls if not c.path.startswith("/oauth"))
                sb.reset_calls()
                st = state_after(conn, user_id, nd)
                conn.commit()
                hist = sb.day_history(org)[-1]
                row = {"day": day, "wall_s": round(wall, 2), "calls": hist["calls"], "code_45": hist["code_45"],
                       "stopped": res.stopped, "by_kind": dict(kinds), "after_complete": complete_day is not None,
                       **{k: v for k, v in st.items()}}
                out["days"].append(row)
                log(f"{label} day {day}: {wall:.1f} s, {hist['calls']} calls ({dict(kinds)}), code 45: "
                    f"{hist['code_45']}, stopped {res.stopped}, phases {st['phases']}, pending {st['persons_pending']}, "
                    f"window invoices {st['window_invoices_held']}/{nd['window_invoices']}, customers "
                    f"{st['window_customers_right']}/{nd['window_customers_held']}, unresolved customers "
                    f"{st['unresolved_customers']}, ledger day {st['ledger_day']} spent {st['ledger_spent']}")
                if complete_day is None and st["complete"]:
                    complete_day = day
                if complete_day is not None and day >= complete_day + after:
                    break
        out["history"] = sb.day_history(org)
    finally:
        sb.stop()
    out["after"] = [d for d in out["days"] if d["after_complete"]]
    days = out["days"] = [d for d in out["days"] if not d["after_complete"]]
    out["reminders_day"] = next((d["day"] for d in days if d["reminders_right"]), None)
    out["complete_day"] = next((d["day"] for d in days if d["complete"]), None)
    out["cap_hit"] = out["complete_day"] is None
    out["max_calls_day"] = max((d["calls"] for d in days), default=0)
    out["total_calls"] = sum(d["calls"] for d in days)
    out["code_45"] = sum(d["code_45"] for d in days)
    out["wall_s"] = round(sum(d["wall_s"] for d in days), 1)
    out["wall_per_day_s"] = round(out["wall_s"] / max(1, len(days)), 2)
    out["by_kind"] = dict(sum((Counter(d["by_kind"]) for d in days), Counter()))
    out["old"] = old_behaviour(nd, out["targets"]["share"], max_days)
    return out


def run(args: argparse.Namespace) -> dict:
    from zoho.warehouse import connection as warehouse

    stamp = datetime.now(timezone.utc).strftime("%Y%m%d%H%M%S")
    work = args.workdir or ROOT / ".local" / "bench" / f"plans-{stamp}"
    work.mkdir(parents=True, exist_ok=True)
    server = warehouse.uri_from_env()
    dbs = Databases(server, stamp)
    r = {"machine": machine_info(server), "load_before": loadavg(),
         "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "max_days": args.max_days,
         "seed": args.seed, "runs": [], "work": str(work)}
    today = datetime.now(timezone.utc).date()
    t0 = time.perf_counter()
    try:
        for contacts, invoices, plans in args.runs:
            for plan in plans:
                try:
                    r["runs"].append(run_plan(dbs, contacts, invoices, plan, args.seed, args.max_days, today,
                                              args.after if plan in args.after_plans else 0))
                except Exception as exc:  # noqa: BLE001 - reported in the section, the other plans go on
                    import traceback

                    log(traceback.format_exc())
                    r.setdefault("errors", []).append(f"{contacts}/{invoices} {plan}: {type(exc).__name__}: {exc}")
                finally:
                    if not args.keep_databases:
                        dbs.drop_all()
    finally:
        if not args.keep_databases:
            dbs.drop_all()
    r["wall_s"] = round(time.perf_counter() - t0, 1)
    r["load_after"] = loadavg()
    r["finished_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    (work / "results.json").write_text(json.dumps(r, indent=1, default=str))
    return r


# --------------------------------------------------------------------------- the section
def _n(x) -> str:
    return "–" if x is None else f"{x:,}"


def _days(x, cap: int | None = None) -> str:
    if x is None:
        return f"not within {cap} days (cap)" if cap else "never"
    return f"{x} day" + ("" if x == 1 else "s")


def _verdict(measured, target) -> str:
    if measured is None:
        return "**missed** (cap hit)"
    return "met" if measured <= target else "**missed**"


def render_section(r: dict) -> str:
    from bench.report import table

    m = r.get("machine", {})
    cap = r.get("max_days")
    runs = r.get("runs", [])
    text = [HEADING, ""]
    text.append(
        "The first sync of one tenant under its plan's daily budget, one nightly run per simulated Zoho day "
        "(`sync_tenant(..., \"full\")` with the default budget settings: the plan's limit, the default reserve "
        "`min(150, budget/5)`; then the sandbox's `end_day`, which starts the next Zoho day without moving any "
        "clock, so the data and today's date stay put), until both sweeps are complete "
        f"(at most {cap} days). A fresh sandbox organisation (seed {r.get('seed')}, no per-minute limit) and a "
        "fresh migrated warehouse database per plan; the client as tests/helpers.py builds it, with its own "
        "limiter opened up (the budget paces the run, not the client). Written by "
        f"`{r.get('command')}` (`bench/sweep_plans.py`), a run of its own, not the run of the sections above: "
        f"{r.get('started_at')} → {r.get('finished_at')}, {m.get('nproc')} cores ({m.get('cpu')}), Python "
        f"{m.get('python')}, Postgres {m.get('postgres')}, load average {r.get('load_before')} before, "
        f"{r.get('load_after')} after; {r.get('wall_s', 0):,.0f} s in all.")
    text.append("")
    text.append(
        "*Reminders right* is the first day after whose run (a) the contacts' listing is complete, (b) every "
        "open invoice (sent, viewed, overdue, partially paid, unpaid) with a due date in the default policy's "
        "window [today-16, today+4] that the sandbox holds is in `zoho_raw.invoices`, and (c) every customer "
        "of those invoices that Zoho has is in `zoho_raw.contacts` with `persons_pending` false (customers Zoho "
        "does not have, deleted or unknown ids, cannot be landed: left out, counted below). Checked by SQL "
        "against the warehouse and the sandbox's own records: a proxy at the raw level for \"every reminder "
        "due in the window is pending with the right phone\", not a run of dbt and the reminder generation. "
        "*Cache complete*: both sweeps `complete` and no contact `persons_pending`. Calls and code-45 answers "
        "per Zoho day are the sandbox's (`day_history`); the product's own count of the day is its ledger's "
        "(`zoho_sync.api_budget.spent_today`, marked ≠ where it differs from Zoho's, and with the count of Zoho "
        "days its ledger saw pass where that is not one a night). *Customers unresolved*: "
        "customers that live invoices reference and that are neither landed nor recorded in "
        "`zoho_raw.missing_contacts` (the contract's \"Missing customer\" lookups still to make)."
        + (f" On {', '.join(sorted({x['plan'] for x in runs if x.get('after')}))}, the nightly runs went on for "
           f"{max(len(x.get('after', [])) for x in runs)} more night(s) after the cache was complete (rows "
           "marked *after*: the next sweep generations), not counted in the figures of the first table."
           if any(x.get("after") for x in runs) else ""))
    text.append("")
    rows = []
    for x in runs:
        t, old = x["targets"], x["old"]
        rows.append([
            f"{x['contacts']:,} / {x['invoices']:,}", f"{x['plan']} ({x['daily_limit']:,})", f"{t['share']:,}",
            f"**{_days(x['reminders_day'], cap)}** (target {t['reminders_days']}: "
            f"{_verdict(x['reminders_day'], t['reminders_days'])})",
            f"**{_days(x['complete_day'], cap)}** (target {t['complete_days']}: "
            f"{_verdict(x['complete_day'], t['complete_days'])})",
            f"{x['max_calls_day']:,}", f"{x['total_calls']:,}",
            f"{x['code_45']}" + (" (target 0: met)" if x["code_45"] == 0 else " (target 0: **missed**)"),
            f"{_days(old['reminders_days'])} / {_days(old['complete_days'])}",
            f"{x['wall_per_day_s']:.1f} s ({len(x['days'])} days, {x['wall_s']:,.0f} s)"])
    text.append(table(["tenant (customers / invoices)", "plan (calls a day)", "nightly share",
                       "reminders right after", "cache complete after", "most calls in a day", "total calls",
                       "code 45", "before this change (computed): reminders / complete",
                       "wall per simulated day (days, sum)"], rows))
    text.append("")
    text.append("What the targets are made of (counts from the sandbox's data of each run; pages = ceil(n / 200)). "
                "Window needs = contact pages + pages of the open-invoice check (the listing's due-date filter is "
                "one day wider on each side than the window) + persons of the window's customers; target = "
                "ceil(window needs / share). Total = contact pages + invoice pages + every person call + the "
                "customer lookups (section 1's first nightly count); target = ceil(total / share) + 1.")
    text.append("")
    text.append("*Before this change* is computed from the same counts, not run (the code before the resumable "
                "sweep is not available to run): every night restarted both listings at page 1 and stopped at the "
                "same share. A night pays all the contact pages again, then the persons still unread in listing "
                "order (persons read on an earlier night are not read again), then the invoice pages from page 1, "
                "then the customer lookups (taken as remembered across nights, the most favourable reading). The "
                "window's open invoices are spread over the whole invoice listing, so reminders are right on the "
                "first night that holds the contact pages, the remaining persons and every invoice page; the "
                "cache is complete once the lookups are done too. *never*: the contact pages and invoice pages "
                "alone exceed a night's share.")
    text.append("")
    rows = []
    for x in runs:
        nd, t = x["needs"], x["targets"]
        rows.append([f"{x['contacts']:,} / {x['invoices']:,} {x['plan']}",
                     f"{nd['contact_pages']:,} + {nd['open_pages']:,} + {nd['window_persons']:,} = "
                     f"**{t['window_calls']:,}**",
                     f"{nd['window_invoices']:,} invoices, {nd['window_customers']:,} customers "
                     f"({nd['window_customers_absent']} not in Zoho)",
                     f"{nd['contact_pages']:,} + {nd['invoice_pages']:,} + {nd['persons']:,} + {nd['lookups']:,} = "
                     f"**{t['total_calls']:,}**",
                     ", ".join(f"{k} {v:,}" for k, v in sorted(x["by_kind"].items()))])
    text.append(table(["run", "window needs (contact pages + open-check pages + persons)", "window",
                       "total needed (contact pages + invoice pages + persons + lookups)",
                       "calls made, by endpoint (all days)"], rows))
    text.append("")
    for x in runs:
        text.append(f"Day by day, {x['contacts']:,} / {x['invoices']:,} on {x['plan']} (calls that day: "
                    "contact pages / open-invoice check / persons / invoice pages / by id; state after the run):")
        text.append("")
        rows = []
        previous_day = None
        for d in x["days"] + x.get("after", []):
            k = d["by_kind"]
            # the ledger's Zoho day moves once a night (end_day); more than once: a new day seen where there was none
            jump = (d.get("ledger_day") - previous_day) if None not in (d.get("ledger_day"), previous_day) else 1
            previous_day = d.get("ledger_day")
            rows.append([f"{d['day']}" + (" (after)" if d.get("after_complete") else ""), f"{d['calls']:,}",
                         f"{k.get('contact pages', 0):,}", f"{k.get('open-invoice check', 0):,}",
                         f"{k.get('persons', 0):,}", f"{k.get('invoice pages', 0):,}",
                         f"{k.get('contacts by id', 0) + k.get('invoices by id', 0):,}",
                         d["stopped"] or "–", f"{d['phases'].get('contacts')} / {d['phases'].get('invoices')}",
                         f"{d['persons_pending']:,}",
                         f"{d['window_invoices_held']:,} / {x['needs']['window_invoices']:,}",
                         f"{d['window_customers_right']:,} / {x['needs']['window_customers_held']:,}",
                         f"{d.get('unresolved_customers', 0):,}",
                         _n(d.get("ledger_spent")) + ("" if d.get("ledger_spent") == d["calls"] else " ≠")
                         + ("" if jump == 1 else f" ({jump:+d} ledger days)"),
                         f"{d['wall_s']:.1f} s"])
        text.append(table(["day", "calls (Zoho's count)", "contact pages", "open check", "persons", "invoice pages",
                           "by id", "stopped", "sweeps (contacts / invoices)", "persons pending",
                           "window invoices landed", "window customers right", "customers unresolved",
                           "ledger's count", "wall"], rows))
        text.append("")
    if r.get("errors"):
        text += ["**Errors** (runs not measured): " + "; ".join(r["errors"]), ""]
    text.append(SECTION_NOTES_PLACEHOLDER)
    return "\n".join(text).rstrip() + "\n"


# The prose on what the figures show is written from the run (see BENCHMARKS.md); a re-run keeps
# the previous prose when the file has it, and says it must be re-read against the new figures.
SECTION_NOTES_PLACEHOLDER = "<!-- plans-notes -->"
SECTION = Section(HEADING, SECTION_NOTES_PLACEHOLDER)
splice, carry_over = SECTION.splice, SECTION.carry_over






def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    command = os.environ.get("BENCH_COMMAND") or (
        "make bench-plans" + (f" BENCH_PLANS_ARGS={shlex.quote(' '.join(argv if argv is not None else sys.argv[1:]))}"
                              if (argv if argv is not None else sys.argv[1:]) else ""))
    if args.from_results:
        r = json.loads(args.from_results.read_text())
        section = render_section(r)
        old = args.output.read_text() if args.output.exists() else ""
        args.output.write_text(splice(old, section))
        log(f"wrote {HEADING!r} into {args.output} from {args.from_results}")
        return 0
    r = run(args)
    r["command"] = command
    section = render_section(r)
    old = args.output.read_text() if args.output.exists() else ""
    args.output.write_text(splice(old, section))
    Path(r["work"], "results.json").write_text(json.dumps(r, indent=1, default=str))
    log(f"wrote {HEADING!r} into {args.output} (figures: {r['work']}/results.json) in {r['wall_s']:.0f} s")
    return 0 if not r.get("errors") else 1


if __name__ == "__main__":
    raise SystemExit(main())
