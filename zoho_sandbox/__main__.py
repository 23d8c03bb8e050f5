"""``python -m zoho_sandbox``: serve the sandbox until killed; optionally write an info file."""
from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path

from .limits import normalize_plan
from .sandbox import Sandbox


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m zoho_sandbox", description=__doc__)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="0 = any free port")
    ap.add_argument("--orgs", type=int, default=2)
    ap.add_argument("--contacts", type=int, default=300, help="contacts per organisation")
    ap.add_argument("--invoices", type=int, default=2000, help="invoices per organisation")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--today", help="anchor date YYYY-MM-DD for generated dates (default: today, UTC)")
    ap.add_argument("--no-limits", action="store_true", help="switch off the per-minute, daily and in-flight limits")
    ap.add_argument("--per-minute", type=int, default=100)
    ap.add_argument("--daily", type=int, default=5000,
                    help="daily budget per organisation (default 5000, Zoho's Professional plan, so that "
                         "repeated `make run`s against one long-lived sandbox do not exhaust it)")
    ap.add_argument("--plan", action="append", default=[], metavar="[ORG=]PLAN",
                    help="Zoho plan: free, standard, professional, premium (or elite, ultimate) or a daily limit; "
                         "PLAN alone for every organisation, ORG=PLAN for one (ORG = index, organization_id or "
                         "user_id); repeatable, later ones win; overrides --daily (and --no-limits' daily part) "
                         "for the organisations it names")
    ap.add_argument("--rate-window", type=float, default=60.0,
                    help="seconds of the per-minute limit's rolling window (Zoho: 60)")
    ap.add_argument("--max-concurrent", type=int, default=10)
    ap.add_argument("--retry-after", action="store_true", help="send Retry-After on 429 (Zoho does not document it)")
    ap.add_argument("--duplicate-invoices", action="store_true")
    ap.add_argument("--latency", type=float, default=0.0, help="seconds added to every API response")
    ap.add_argument("--info-file", type=Path)
    ap.add_argument("--log-level", default=os.environ.get("ZOHO_SANDBOX_LOG_LEVEL", "WARNING"),
                    help="DEBUG logs one line per request (stderr)")
    args = ap.parse_args(argv)
    plans: dict = {}
    for item in args.plan:
        org, sep, plan = item.rpartition("=")
        try:
            normalize_plan(plan)
        except ValueError as e:
            ap.error(f"--plan {item}: {e}")
        if not sep:  # every organisation: replaces whatever came before
            plans = {i: plan for i in range(args.orgs)}
        else:
            key = int(org) if org.isdigit() and int(org) < args.orgs else org
            plans.pop(key, None)  # keep the order of the options: later ones win
            plans[key] = plan
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")

    off = args.no_limits
    t0 = time.perf_counter()
    try:
        sb = Sandbox(seed=args.seed, orgs=args.orgs, contacts_per_org=args.contacts,
                     invoices_per_org=args.invoices, per_minute_limit=None if off else args.per_minute,
                     daily_limit=None if off else args.daily, max_concurrent=None if off else args.max_concurrent,
                     host=args.host, port=args.port, today=args.today, retry_after=args.retry_after,
                     duplicate_invoices=args.duplicate_invoices, latency=args.latency,
                     rate_window=args.rate_window, plans=plans or None)
    except KeyError as e:  # --plan ORG=... names no organisation
        ap.error(f"--plan: {e.args[0]}")
    sb.start()
    logging.getLogger("zoho_sandbox").info("built in %.1fs; serving %s", time.perf_counter() - t0, sb.url)
    if args.info_file:
        info = {k: v for k, v in sb.info().items() if k in ("port", "url", "organizations")}
        args.info_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = args.info_file.with_name(args.info_file.name + ".tmp")
        tmp.write_text(json.dumps(info, indent=2))
        os.replace(tmp, args.info_file)  # readers never see a half-written file
    print(f"zoho_sandbox listening on {sb.url}", file=sys.stderr, flush=True)

    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    done.wait()
    sb.stop()
    if args.info_file:
        try:
            if json.loads(args.info_file.read_text()).get("port") == sb.port:
                args.info_file.unlink()
        except (OSError, ValueError):
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
