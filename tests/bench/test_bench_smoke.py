"""Smoke test of the benchmark harness behind ``make bench`` (bench/, BENCHMARKS.md): it still runs
end to end at a tiny size and writes every section of the report. No timing is asserted:
performance is judged by the figures in BENCHMARKS.md, not by tests."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.common import rolling_minute, with_db
from bench.harness import count_calls, lower_bound
from bench.report import SECTIONS

ROOT = Path(__file__).resolve().parents[2]


def test_rolling_minute_counts_the_busiest_and_the_average_window():
    # a client at 90 per rolling minute: bursts of 90 a little more than a minute apart
    times = [b * 60.5 + i * 0.01 for b in range(4) for i in range(90)]
    busiest, average = rolling_minute(times)
    assert busiest == 90
    assert 85 <= average <= 90
    assert rolling_minute([1.0, 2.0, 3.0]) == (3, 3.0)
    assert rolling_minute([]) == (0, 0.0)


def test_lower_bound_is_pages_plus_unavoidable_person_calls():
    assert lower_bound(customers=401, invoices=200, persons=7) == {
        "contact_pages": 3, "invoice_pages": 1, "person_calls": 7, "bound": 11}
    assert lower_bound(0, 0, 0)["bound"] == 2  # an empty listing still takes one call per entity


def test_calls_are_counted_by_endpoint():
    class Call:
        def __init__(self, path, org_id="1"):
            self.path, self.org_id = path, org_id

    calls = [Call("/books/v3/contacts"), Call("/books/v3/contacts/12/contactpersons"), Call("/books/v3/contacts/12"),
             Call("/books/v3/invoices"), Call("/books/v3/invoices", org_id="2")]
    assert count_calls(calls, "1") == {"contacts": 1, "contact_persons": 1, "contact": 1, "invoices": 1}


@pytest.mark.integration
@pytest.mark.slow
def test_the_harness_runs_at_a_tiny_size_and_reports_every_section(tmp_path):
    out = tmp_path / "BENCHMARKS.md"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "plugins"),
                                                        os.environ.get("PYTHONPATH", "")])}
    cmd = [sys.executable, "-m", "bench", "--contacts", "200", "--invoices", "1000", "--tenants", "1",
           "--base-invoices", "500", "--skip-limits", "--skip-airflow", "--skip-dlt",
           "--output", str(out), "--workdir", str(tmp_path / "work")]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=850)
    assert proc.returncode == 0, proc.stderr[-6000:]
    text = out.read_text()
    for section in SECTIONS:
        assert section in text, section
    results = json.loads((tmp_path / "work" / "results.json").read_text())
    assert not results.get("errors")
    # what ran produced figures, what was skipped says so
    assert results["full"]["records"] > 0 and results["incremental"]["records"] > 0
    assert results["replay"]["copy_total_s"] > 0 and results["dbt_full"]["returncode"] == 0
    assert results["mem_1x"]["tenants"] and results["mem_scaled"]["tenants"]
    for skipped in ("## 3. Peer", "## 7. Under real", "## 8. Whole run"):
        assert "Not measured" in text.split(skipped, 1)[1].split("\n## ", 1)[0], skipped
    # the databases it created are gone
    from zoho.warehouse import connection as warehouse

    admin = with_db(warehouse.uri_from_env(), "postgres")
    assert results["databases"]
    with warehouse.connect(admin) as conn:
        left = conn.execute("select datname from pg_database where datname = any(%s)",
                            (results["databases"],)).fetchall()
    assert left == []


def test_the_plans_section_is_spliced_before_the_changes_and_carried_over():
    from bench.sweep_plans import HEADING, carry_over, splice

    doc = "# Benchmarks\n\n## 8. Whole run\n\ntext\n\n## Changes made in `plugins/zoho/` with this benchmark\n\n1. x\n"
    first = splice(doc, f"{HEADING}\n\nfigures 1\n\n<!-- plans-notes -->\n")
    assert first.index("## 8.") < first.index(HEADING) < first.index("## Changes made")
    noted = first.replace("<!-- plans-notes -->\n", "<!-- plans-notes -->\n\nwhat it shows\n")
    second = splice(noted, f"{HEADING}\n\nfigures 2\n\n<!-- plans-notes -->\n")
    assert second.count(HEADING) == 1 and "figures 2" in second and "figures 1" not in second
    assert "what it shows" in second  # the notes written under the previous figures stay
    regenerated = doc.replace("text", "new text")  # `make bench` rewrites the file without section 9
    assert carry_over(second, regenerated) == splice(regenerated, second[second.index(HEADING):second.index("## Changes")])
    assert carry_over(None, regenerated) == regenerated


def test_the_old_behaviour_completes_only_when_a_night_holds_every_page():
    from bench.sweep_plans import old_behaviour

    counts = {"contact_pages": 10, "invoice_pages": 50, "persons": 100, "lookups": 5}
    assert old_behaviour(counts, 80, 40) == {"reminders_days": 3, "complete_days": 3, "night_needs": 60, "fits": True}
    assert old_behaviour(counts, 59, 40)["complete_days"] is None  # pages alone exceed the share: never
    assert old_behaviour(counts, 9, 40)["reminders_days"] is None


@pytest.mark.integration
@pytest.mark.slow
def test_the_plans_section_runs_at_a_tiny_size(tmp_path):
    out = tmp_path / "BENCHMARKS.md"
    out.write_text("# Benchmarks\n\n## Changes made in `plugins/zoho/` with this benchmark\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "plugins"),
                                                        os.environ.get("PYTHONPATH", "")])}
    # a 60-call plan (48 for the nightly sweep): the first sync spans a few Zoho days
    cmd = [sys.executable, "-m", "bench", "plans", "--contacts", "200", "--invoices", "1000", "--plans", "60",
           "--max-days", "10", "--output", str(out), "--workdir", str(tmp_path / "work")]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-6000:]
    text = out.read_text()
    assert text.index("## 9. Budget-aware first sync per plan") < text.index("## Changes made")
    (run,) = json.loads((tmp_path / "work" / "results.json").read_text())["runs"]
    assert run["complete_day"] is not None and len(run["days"]) > 1
    assert run["reminders_day"] is not None and run["reminders_day"] <= run["complete_day"]
    assert run["code_45"] == 0 and run["max_calls_day"] <= 60
