"""Smoke test of the sender load benchmark behind ``make bench-sender`` (bench/sender_load.py,
BENCHMARKS.md section 10): it still runs end to end at a tiny size, over HTTP (a real
``airflow api-server``) and in SQL, its checks pass and its figures are written. No speed is
asserted: performance is judged by the figures in BENCHMARKS.md, not by tests."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.common import with_db

ROOT = Path(__file__).resolve().parents[2]
HEADING = "## 10. The reminder sender under load"


def test_the_sender_section_is_spliced_after_section_9_and_keeps_its_notes():
    from bench.sender_load import NOTES, carry_over, splice

    doc = ("# Benchmarks\n\n## 9. Budget-aware first sync per plan\n\nnine\n\n"
           "## Changes made in `plugins/zoho/` with this benchmark\n\n1. x\n")
    first = splice(doc, f"{HEADING}\n\nfigures 1\n\n{NOTES}\n")
    assert first.index("## 9.") < first.index(HEADING) < first.index("## Changes made")
    noted = first.replace(f"{NOTES}\n", f"{NOTES}\n\nwhat it shows\n")
    second = splice(noted, f"{HEADING}\n\nfigures 2\n\n{NOTES}\n")
    assert second.count(HEADING) == 1 and "figures 2" in second and "figures 1" not in second
    assert "what it shows" in second and "nine" in second and "1. x" in second
    assert carry_over(second, doc) == splice(doc, second[second.index(HEADING):second.index("## Changes")])


def test_percentiles_and_conflict_reasons():
    from bench.sender_load import _classify, pct

    assert pct([], 50) is None
    assert pct(list(range(1, 101)), 50) == 50 and pct(list(range(1, 101)), 99) == 99
    assert _classify("reminder x was cancelled (invoice_paid) after it was claimed: do not send it") \
        == "cancelled after the claim"
    assert _classify("lease a expired and reminder b was claimed again since (lease c)") == "lease expired, claimed again"
    assert _classify("something new") == "other"


@pytest.mark.integration
@pytest.mark.slow
def test_the_sender_benchmark_runs_at_a_tiny_size(tmp_path):
    out = tmp_path / "BENCHMARKS.md"
    out.write_text("# Benchmarks\n\n## Changes made in `plugins/zoho/` with this benchmark\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "plugins"),
                                                        os.environ.get("PYTHONPATH", "")])}
    # one API worker and the SQL run during the server's start: the boot is most of the time
    cmd = [sys.executable, "-m", "bench", "sender", "--reminders", "500", "--seconds", "5", "--senders", "2",
           "--pay-per-run", "10", "--run-every", "1", "--lease-seconds", "5", "--api-workers", "1",
           "--sql-during-startup", "--output", str(out), "--workdir", str(tmp_path / "work")]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-6000:]
    results = json.loads((tmp_path / "work" / "results.json").read_text())
    assert not results["errors"] and results["passed"]
    assert set(results["runs"]) == {"http", "sql"}
    for mode, run in results["runs"].items():
        final = run["final"]
        assert all(final["checks"].values()), (mode, final["checks"])
        assert final["reminders_with_several_sent_events"] == 0 and final["stuck_after_drain"] == 0
        assert final["total_reminders"] == 500
        # figures recorded: the senders claimed and marked, the reminder run cancelled some
        assert run["claims"] > 0 and run["marks"] > 0 and run["marks_per_s"] > 0, mode
        assert run["mark_ms"]["p50"] is not None and run["claim_ms"]["p99"] is not None, mode
        assert final["sent_rows"] > 0 and run["outcomes"].get("sent:ok", 0) == final["sent_rows"], mode
        assert run["reminder_run"]["runs"] > 0 and not run["reminder_run"]["errors"], mode
        assert not {e for e in run["errors"] if not e.startswith("HTTP 409")}, (mode, run["error_samples"])
    text = out.read_text()
    assert text.index(HEADING) < text.index("## Changes made")
    section = text[text.index(HEADING):text.index("## Changes made")]
    for figure in ("**marks/s**", "claim latency p50 / p99", "mark latency p50 / p99", "### Checks",
                   "HTTP (Airflow API server)", "SQL (functions, psycopg)"):
        assert figure in section, figure
    assert "**FAIL**" not in section
    # the databases it created are gone
    from zoho.warehouse import connection as warehouse

    assert results["databases"]
    with warehouse.connect(with_db(warehouse.uri_from_env(), "postgres")) as conn:
        left = conn.execute("select datname from pg_database where datname = any(%s)",
                            (results["databases"],)).fetchall()
    assert left == []
