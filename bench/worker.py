"""The measured work, one subprocess each: ``python -m bench.worker KIND SPEC.json OUT.json``.

Kinds:

- ``extract``: ``zoho.sync.extract.sync_tenant`` for each tenant in turn (the same code the Airflow
  task runs), with the time split into listing API calls, person API calls, lookups by id,
  reading records (parse, normalise phones, hash), loading (every ``RawLoader`` call) and commits.
  With ``capture_dir``, the rows handed to the loader are also pickled there, batch by batch
  (outside the timed regions), for the replay.
- ``replay``: the load phase alone (``RawLoader`` on the captured rows, no API), then the
  baseline: a plain ``COPY`` of the same JSON payloads, the same batches with a commit each,
  into unindexed ``bench_copy.*(payload jsonb)`` tables of the same database.
- ``finish``: the end of a DAG run without Airflow (quality gate, reminders), the reference for
  the Airflow overhead.

Every kind writes its result as JSON, with ``self_vm_hwm_mb`` (peak resident memory since exec).
"""
from __future__ import annotations

import functools
import json
import pickle
import re
import sys
import time
from collections import defaultdict
from datetime import date, datetime, timezone
from pathlib import Path


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


def _client(tenant: dict, overrides: dict):
    from zoho.books.client import ZohoBooksClient

    return ZohoBooksClient.from_connection_fields(tenant["login"], tenant["password"],
                                                 {**tenant["extra"], **overrides}, tenant=tenant["user_id"])


class Instrument:
    """Wraps the extraction's pieces with timers (and the payload capture); ``undo`` restores them."""

    def __init__(self, capture_dir: str | None = None):
        self.seconds: dict[str, float] = defaultdict(float)
        self.counts: dict[str, int] = defaultdict(int)
        self._undo: list = []
        self._files: dict = {}
        self.capture_dir = Path(capture_dir) if capture_dir else None
        if self.capture_dir:
            self.capture_dir.mkdir(parents=True, exist_ok=True)

    def _patch(self, owner, name, wrapper) -> None:
        original = getattr(owner, name)
        self._undo.append((owner, name, original))
        setattr(owner, name, wrapper(original))

    def _timed(self, bucket: str):
        def wrap(fn):
            @functools.wraps(fn)
            def timed(*args, **kwargs):
                t = time.perf_counter()
                try:
                    return fn(*args, **kwargs)
                finally:
                    self.seconds[bucket] += time.perf_counter() - t
                    self.counts[bucket] += 1
            return timed
        return wrap

    def _timed_iter(self, bucket: str):
        def wrap(fn):
            @functools.wraps(fn)
            def timed(*args, **kwargs):
                it = fn(*args, **kwargs)
                while True:
                    t = time.perf_counter()
                    try:
                        item = next(it)
                    except StopIteration:
                        self.seconds[bucket] += time.perf_counter() - t
                        return
                    self.seconds[bucket] += time.perf_counter() - t
                    yield item
            return timed
        return wrap

    def _capture(self, entity: str):
        """Keep what the loader was given, batch by batch (pickled rows), for the replay."""
        def wrap(fn):
            @functools.wraps(fn)
            def capturing(loader, *args, **kwargs):
                f = self._files.get((loader.user_id, entity))
                if f is None:
                    path = self.capture_dir / f"{_safe(loader.user_id)}.{entity}.pickle"
                    f = self._files[(loader.user_id, entity)] = open(path, "wb")
                pickle.dump(args, f, protocol=pickle.HIGHEST_PROTOCOL)
                return fn(loader, *args, **kwargs)
            return capturing
        return wrap

    def install(self) -> "Instrument":
        import psycopg

        from zoho.sync import extract
        from zoho.sync import loading
        from zoho.books.client import ZohoBooksClient

        for name in ("load_contacts", "changed_contact_ids", "replace_persons", "load_invoices", "unseen",
                     "mark_seen", "flag_deleted", "unknown_customer_ids", "record_missing", "forget_missing",
                     "set_persons_pending", "pending_persons", "open_invoices_unseen", "reject", "__init__"):
            self._patch(loading.RawLoader, name, self._timed("load"))
        if self.capture_dir:
            for name in ("load_contacts", "load_invoices", "replace_persons"):
                self._patch(loading.RawLoader, name, self._capture(name))
        for name in ("read_contact", "read_invoice", "read_person"):
            self._patch(extract, name, self._timed("read"))
        self._patch(extract.TenantSync, "_fetch_persons", self._timed("persons_api"))
        self._patch(ZohoBooksClient, "iter_contacts", self._timed_iter("list_api"))
        self._patch(ZohoBooksClient, "iter_invoices", self._timed_iter("list_api"))
        self._patch(ZohoBooksClient, "iter_pages", self._timed_iter("list_api"))  # the nightly sweep's listings
        self._patch(ZohoBooksClient, "get_contact", self._timed("lookup_api"))
        self._patch(ZohoBooksClient, "get_invoice", self._timed("lookup_api"))
        self._patch(psycopg.Connection, "commit", self._timed("commit"))
        return self

    def take(self) -> dict:
        out = {k: round(v, 3) for k, v in self.seconds.items()}
        self.seconds.clear()
        self.counts.clear()
        return out

    def close(self) -> None:
        for f in self._files.values():
            f.close()
        for owner, name, original in reversed(self._undo):
            setattr(owner, name, original)


def extract(spec: dict) -> dict:
    from zoho.sync.extract import Tenant, sync_tenant

    inst = Instrument(spec.get("capture_dir")).install() if spec.get("instrument", True) else None
    out = {"mode": spec["mode"], "tenants": []}
    started = time.perf_counter()
    try:
        for t in spec["tenants"]:
            client = _client(t, spec.get("client_overrides") or {})
            t0 = time.perf_counter()
            result = sync_tenant(client, spec["warehouse_uri"], Tenant(t["user_id"], t.get("country")),
                                 spec["mode"], run_id=spec.get("run_id", "bench"))
            wall = time.perf_counter() - t0
            entry = {"user_id": t["user_id"], "wall_s": round(wall, 3), "result": result.as_dict(),
                     "client_stats": client.stats.as_dict()}
            if inst:
                entry["breakdown"] = inst.take()
            out["tenants"].append(entry)
            client.close()
    finally:
        if inst:
            inst.close()
    out["wall_s"] = round(time.perf_counter() - started, 3)
    return out


def _pickled(path: Path):
    if not path.exists():
        return
    with open(path, "rb") as f:
        while True:
            try:
                yield pickle.load(f)
            except EOFError:
                return


def replay(spec: dict) -> dict:
    """The load phase alone, then the baseline, on the same captured records in the same database.

    1. ``RawLoader``: the calls a full sync makes, in its order, batch by batch with a commit each
       (changed-contact check, contact upsert, persons replaced, seen ids, deletion flags, unknown
       customers). Timed: the loader calls and the commits. The rows were read back from the
       capture before the timer starts.
    2. Baseline: a plain ``COPY`` of the same JSON payloads (contacts, persons, invoices), the same
       batches with a commit each, into unindexed ``bench_copy.*(payload jsonb)`` tables.
    """
    from zoho.warehouse import connection as warehouse
    from zoho.sync.loading import RawLoader

    capture = Path(spec["capture_dir"])
    loader_s = defaultdict(float)
    copy_s = defaultdict(float)
    records = defaultdict(int)

    def timed(bucket: dict, key: str, fn, *args):
        t = time.perf_counter()
        out = fn(*args)
        bucket[key] += time.perf_counter() - t
        return out

    with warehouse.connect(spec["warehouse_uri"]) as conn:
        for user_id in spec["user_ids"]:
            base = capture / _safe(user_id)
            loader = timed(loader_s, "other", RawLoader, conn, user_id)
            conn.commit()
            for (rows,) in _pickled(Path(f"{base}.load_contacts.pickle")):
                ids = [r.contact_id for r in rows]
                timed(loader_s, "contacts", loader.changed_contact_ids, rows)
                timed(loader_s, "contacts", loader.load_contacts, rows)
                timed(loader_s, "contacts", loader.forget_missing, ids)
                timed(loader_s, "seen_and_deletions", loader.mark_seen, "contacts", ids, 1)
                timed(loader_s, "commit", conn.commit)
                records["contacts"] += len(rows)
            # the nightly reads the persons after the contact pages, in chunks by dunning value
            for person_ids, person_rows in _pickled(Path(f"{base}.replace_persons.pickle")):
                timed(loader_s, "contact_persons", loader.replace_persons, person_ids, person_rows)
                timed(loader_s, "commit", conn.commit)
                records["contact_persons"] += len(person_rows)
            timed(loader_s, "seen_and_deletions", loader.unseen, "contacts", 1, 1000)
            for (rows,) in _pickled(Path(f"{base}.load_invoices.pickle")):
                timed(loader_s, "invoices", loader.load_invoices, rows)
                timed(loader_s, "seen_and_deletions", loader.mark_seen, "invoices", [r.invoice_id for r in rows], 1)
                timed(loader_s, "commit", conn.commit)
                records["invoices"] += len(rows)
            timed(loader_s, "seen_and_deletions", loader.unseen, "invoices", 1, 1000)
            unknown = timed(loader_s, "other", loader.unknown_customer_ids)
            timed(loader_s, "other", loader.record_missing, unknown)
            timed(loader_s, "commit", conn.commit)

        conn.execute("create schema if not exists bench_copy")
        for entity in ("contacts", "contact_persons", "invoices"):
            conn.execute(f"drop table if exists bench_copy.{entity}")
            conn.execute(f"create table bench_copy.{entity} (payload jsonb)")
        conn.commit()
        sources = {"contacts": ("load_contacts", 0), "contact_persons": ("replace_persons", 1),
                   "invoices": ("load_invoices", 0)}
        for user_id in spec["user_ids"]:
            base = capture / _safe(user_id)
            for entity, (method, index) in sources.items():
                for args in _pickled(Path(f"{base}.{method}.pickle")):
                    texts = [r.payload_json for r in args[index]]
                    if not texts:
                        continue
                    t = time.perf_counter()
                    with conn.cursor() as cur, cur.copy(f"copy bench_copy.{entity} (payload) from stdin") as cp:
                        for text in texts:
                            cp.write_row((text,))
                    conn.commit()
                    copy_s[entity] += time.perf_counter() - t
        sizes = dict(conn.execute(
            "select n.nspname, sum(pg_total_relation_size(c.oid)) from pg_class c "
            "join pg_namespace n on n.oid = c.relnamespace "
            "where n.nspname in ('bench_copy', 'zoho_raw') and c.relkind = 'r' group by 1").fetchall())
    return {"loader_s": {k: round(v, 3) for k, v in loader_s.items()}, "loader_total_s": round(sum(loader_s.values()), 3),
            "copy_s": {k: round(v, 3) for k, v in copy_s.items()}, "copy_total_s": round(sum(copy_s.values()), 3),
            "records": dict(records), "bytes": {k: int(v) for k, v in sizes.items()}}


def finish(spec: dict) -> dict:
    """The end of a DAG run without Airflow: the quality gate, then reminders for every tenant."""
    from zoho.reminders import generate as reminders
    from zoho.warehouse import connection as warehouse
    from zoho.reminders.policy import parse_policy
    from zoho.checks.quality import gate_passed, run_quality_gate

    uri, run_id = spec["warehouse_uri"], spec["run_id"]
    t = time.perf_counter()
    gate = run_quality_gate(uri, run_id, failed_dbt_tasks=[])
    gate_s = time.perf_counter() - t
    t = time.perf_counter()
    run_date = date.fromisoformat(spec["run_date"])
    created = {}
    with warehouse.connect(uri) as conn:
        passed = gate_passed(conn, run_id)
        for user_id in spec["user_ids"]:
            summary = reminders.generate_reminders(conn, user_id, run_date, parse_policy(None), passed)
            created[user_id] = summary.created
    reminders_s = time.perf_counter() - t
    return {"quality_gate_s": round(gate_s, 3), "gate_success": gate.success, "gate_own_s": round(gate.seconds, 3),
            "reminders_s": round(reminders_s, 3), "reminders_created": created}


KINDS = {"extract": extract, "replay": replay, "finish": finish}


def main(argv: list[str]) -> int:
    kind, spec_file, out_file = argv
    import logging

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    spec = json.loads(Path(spec_file).read_text())
    started = datetime.now(timezone.utc).isoformat()
    result = KINDS[kind](spec)
    result["started_at"] = started
    from bench.common import vm_hwm_mb

    result["self_vm_hwm_mb"] = vm_hwm_mb()
    Path(out_file).write_text(json.dumps(result, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
