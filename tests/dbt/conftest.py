"""Helpers for the dbt tests: run dbt against a fresh migrated database, land raw rows.

dbt runs as a subprocess of the virtualenv's ``dbt`` with the profile's ``WAREHOUSE_*`` variables
from ``dbt_project/dbt_env.py`` and a target path of its own (partial parsing stays warm within a
module, and parallel runs never share ``target/``).
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pytest

from zoho.warehouse import connection as warehouse

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ROOT / "dbt_project"
sys.path.insert(0, str(PROJECT))
from dbt_env import env_for_uri  # noqa: E402

DBT = Path(sys.executable).with_name("dbt")


@dataclass
class DbtResult:
    returncode: int
    output: str
    results: list[dict] = field(default_factory=list)

    def statuses(self) -> dict[str, str]:
        """unique_id → status (success, pass, fail, error, skipped, warn)."""
        return {r["unique_id"]: r["status"] for r in self.results}

    def failed(self) -> set[str]:
        return {uid for uid, status in self.statuses().items() if status in ("fail", "error")}

    def failed_names(self) -> set[str]:
        """Failed node names without the project prefix and the hash suffix of generic tests."""
        return {uid.split(".")[2] for uid in self.failed()}


class Dbt:
    def __init__(self, uri: str, target_path: Path):
        self.uri = uri
        self.target_path = target_path
        self.env = {**os.environ, **env_for_uri(uri), "DBT_THREADS": "2",
                    "DBT_SEND_ANONYMOUS_USAGE_STATS": "False", "DO_NOT_TRACK": "1"}

    def __call__(self, *args: str, expect_ok: bool = True) -> DbtResult:
        cmd = [str(DBT), *args, "--project-dir", str(PROJECT), "--profiles-dir", str(PROJECT),
               "--target-path", str(self.target_path), "--log-path", str(self.target_path / "logs")]
        proc = subprocess.run(cmd, env=self.env, capture_output=True, text=True, timeout=600)
        run_results = self.target_path / "run_results.json"
        results = json.loads(run_results.read_text())["results"] if run_results.exists() else []
        result = DbtResult(proc.returncode, proc.stdout + proc.stderr, results)
        if expect_ok:
            assert proc.returncode == 0, f"dbt {' '.join(args)} failed:\n{result.output[-6000:]}"
        run_results.unlink(missing_ok=True)
        return result


@pytest.fixture(scope="module")
def dbt_db(make_database, tmp_path_factory) -> tuple[str, Dbt]:
    """A fresh migrated database and a dbt runner bound to it (one per test module)."""
    uri = make_database("dbt")
    return uri, Dbt(uri, tmp_path_factory.mktemp("dbt_target"))


# ---------------------------------------------------------------------- raw rows, as the loader lands them
def _dump(payload: dict) -> tuple[str, str]:
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return text, hashlib.md5(text.encode()).hexdigest()


def _ts(value: str | None) -> datetime | None:
    if value is None:
        return None
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z").astimezone(timezone.utc)


def land_contact(conn, user_id: str, payload: dict, *, mobile_e164=None, phone_e164=None,
                 contact_id: str | None = None, is_deleted: bool = False, persons=None,
                 persons_pending: bool = False) -> None:
    """Upsert one contact (and, when ``persons`` is given, replace its persons as a set).

    ``persons``: list of (payload, mobile_e164, phone_e164); position = list order.
    ``persons_pending``: the sync deferred the persons the phone rule needs (written as given).
    """
    text, digest = _dump(payload)
    contact_id = contact_id or payload["contact_id"]
    conn.execute(
        """
        insert into zoho_raw.contacts as c (user_id, contact_id, contact_type, last_modified_time,
            mobile_e164, phone_e164, payload, payload_hash, is_deleted, deleted_at, persons_synced_at,
            persons_pending)
        values (%s, %s, %s, %s, %s, %s, %s::jsonb, %s, %s, case when %s then now() end,
                case when %s then now() end, %s)
        on conflict (user_id, contact_id) do update set
            contact_type = excluded.contact_type, last_modified_time = excluded.last_modified_time,
            mobile_e164 = excluded.mobile_e164, phone_e164 = excluded.phone_e164,
            payload = excluded.payload, payload_hash = excluded.payload_hash,
            is_deleted = excluded.is_deleted, deleted_at = excluded.deleted_at,
            persons_synced_at = coalesce(excluded.persons_synced_at, c.persons_synced_at),
            persons_pending = excluded.persons_pending, _synced_at = now()
        """,
        (user_id, contact_id, payload.get("contact_type"), _ts(payload.get("last_modified_time")),
         mobile_e164, phone_e164, text, digest, is_deleted, is_deleted, persons is not None, persons_pending))
    if persons is None:
        return
    conn.execute("delete from zoho_raw.contact_persons where user_id = %s and contact_id = %s",
                 (user_id, contact_id))
    for position, (person, mobile, phone) in enumerate(persons):
        ptext, pdigest = _dump(person)
        conn.execute(
            "insert into zoho_raw.contact_persons (user_id, contact_id, contact_person_id, position, "
            "is_primary_contact, mobile_e164, phone_e164, payload, payload_hash) "
            "values (%s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s)",
            (user_id, contact_id, person["contact_person_id"], position,
             bool(person.get("is_primary_contact")), mobile, phone, ptext, pdigest))


def land_invoice(conn, user_id: str, payload: dict, *, is_deleted: bool = False) -> None:
    text, digest = _dump(payload)
    conn.execute(
        """
        insert into zoho_raw.invoices as i (user_id, invoice_id, customer_id, last_modified_time,
            payload, payload_hash, is_deleted, deleted_at)
        values (%s, %s, %s, %s, %s::jsonb, %s, %s, case when %s then now() end)
        on conflict (user_id, invoice_id) do update set
            customer_id = excluded.customer_id, last_modified_time = excluded.last_modified_time,
            payload = excluded.payload, payload_hash = excluded.payload_hash,
            is_deleted = excluded.is_deleted, deleted_at = excluded.deleted_at, _synced_at = now()
        """,
        (user_id, payload["invoice_id"], payload.get("customer_id"),
         _ts(payload.get("last_modified_time")), text, digest, is_deleted, is_deleted))


def connect(uri: str):
    return warehouse.connect(uri, autocommit=True)
