"""Every shell command in the documents' ```bash blocks works as written.

The commands run in document order, in a shell with a new user's environment:
- no virtualenv on PATH and no PYTHONPATH;
- the ``AIRFLOW_*`` settings of the environment the tests run in (Airflow home, metadata database),
  which every make target honours;
- a fresh warehouse database;
- a Zoho Books sandbox of this module, configured as Airflow connections. ``make run`` would start
  the shared long-lived sandbox otherwise. This sandbox makes the data deterministic (a fixed seed)
  and keeps other people's runs and faults out of this test.

``make run`` (the README's first command) runs once, at the start; the other commands and checks
build on the warehouse it fills. ``SKIP`` lists each command that cannot run here, with the reason.
A stale entry in ``SKIP`` fails the test, and so does a command that is neither run nor skipped.

The ```sql blocks of CUSTOMER_SYNC_README.md and docs/RUNBOOK.md (troubleshooting and checks) run
against that warehouse too, each in a transaction that is rolled back. Further checks:
- the column tables of CUSTOMER_SYNC_README.md match the warehouse's relations;
- the phone-rule examples match ``zoho.rules.phones``;
- ``make docs`` builds the dbt docs site (``index.html``, ``catalog.json`` with the marts) and
  ``make docs-serve`` serves it.

The analyst guide's queries run against a warehouse filled by ``dag.test()``, in
``tests/verify/test_after_nightly_run.py``.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest

from tests.docs.markdown import DOCUMENTS, ROOT, Command, blocks, column_tables, commands, section, tables
from zoho.warehouse import connection as warehouse
from zoho.rules.phones import normalize_phone, resolve_primary_phone

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# (pattern on the command's normalised words, reason it is not run here)
SKIP: list[tuple[str, str]] = [
    (r"^make test$", "runs the whole suite, this test included; CI runs it (.ci/run)"),
    (r"^make bench$", "the benchmark takes many minutes and rewrites BENCHMARKS.md; tests/bench has its smoke test"),
    (r"^make airflow$", "a long-running server (Airflow UI and scheduler)"),
    (r"^make cluster( |$)", "long-running servers (scheduler, workers, ...); tests/scaleout/test_celery_deployment.py "
                            "starts the same deployment (scripts/cluster.py up) and stops it"),
    (r"^make docs-serve$", "a long-running server; test_make_docs_serve_serves_the_site starts it on a free port "
                           "and fetches the pages"),
    (r"^make sync-nightly$", "the same recipe line as the first step of `make run`, which this test runs; the "
                             "README example points it at a real deployment"),
    (r"^docker compose ", "needs a Docker engine; tests/unit/test_compose.py checks the compose file statically"),
    (r"^curl .*zoho(apis)?\.", "talks to a real Zoho organisation"),
    (r"^export AIRFLOW_(CONN|VAR)_.*(db\.internal|1000\.XXXX|zoho_books_acme)",
     "example configuration of a real deployment (a db.internal warehouse, a real Zoho client)"),
    (r"^airflow dags (unpause|trigger) ", "acts on a live Airflow with a scheduler (this test runs the DAGs "
                                          "with `make run`)"),
    (r"^airflow tasks clear ", "clears task instances of a live deployment's run"),
    (r"^(TOKEN=\$\()?curl .*localhost:8080/(auth/token|customer-sync/api/v1/)",
     "talks to a live Airflow API server with a sender user; tests/api/test_sender.py makes the same requests"),
]

# commands that need a tool a machine may lack: (pattern, executable)
REQUIRES = [(r"\bpsql\b", "psql")]

MAKE_RUN = "make run"
SANDBOX = {"seed": 11, "orgs": 2, "contacts_per_org": 60, "invoices_per_org": 400}
SQL_DOCS = ("CUSTOMER_SYNC_README.md", "docs/RUNBOOK.md")


def skip_reason(command: Command) -> str | None:
    for pattern, reason in SKIP:
        if re.search(pattern, command.key):
            return reason
    return None


@dataclass(frozen=True)
class Step:
    """A command to run: its own text plus the exports that precede it in its block."""

    command: Command
    prelude: tuple[str, ...] = ()

    @property
    def script(self) -> str:
        return "\n".join([*self.prelude, self.command.text])

    @property
    def id(self) -> str:
        return f"{self.command.where} {self.command.key[:70]}"


def plan() -> tuple[list[Step], list[tuple[Command, str]]]:
    """The steps to run in document order (duplicates run once) and the skipped commands."""
    steps, skipped, seen = [], [], set()
    for doc in DOCUMENTS:
        exports: dict[int, list[str]] = {}
        for command in commands(doc):
            reason = skip_reason(command)
            if reason:
                skipped.append((command, reason))
                continue
            step = Step(command, tuple(exports.get(command.block, ())))
            if command.key.startswith("export "):
                exports.setdefault(command.block, []).append(command.text)
                continue
            if step.script in seen:
                continue
            seen.add(step.script)
            steps.append(step)
    return steps, skipped


STEPS, SKIPPED = plan()
# `make run` as the README writes it (its comment included: results are cached by script)
MAKE_RUN_SCRIPT = next((s.script for s in STEPS if s.command.key == MAKE_RUN), MAKE_RUN)


# ------------------------------------------------------------------ the environment


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def new_user_env() -> dict[str, str]:
    """A shell as a new user has it: system PATH (no virtualenv), HOME, locale."""
    env = {k: os.environ[k] for k in ("HOME", "LANG", "LC_ALL", "USER", "LOGNAME", "SHELL", "TMPDIR", "TERM")
           if k in os.environ}
    venv = str(ROOT / ".venv")
    env["PATH"] = os.pathsep.join(p for p in os.environ.get("PATH", "/usr/bin:/bin").split(os.pathsep)
                                  if p and not p.startswith(venv))
    # Airflow settings of the environment (metadata database, home): the make targets honour them
    env.update({k: v for k, v in os.environ.items() if k.startswith("AIRFLOW__") or k == "AIRFLOW_HOME"})
    return env


@dataclass
class Deployment:
    uri: str
    env: dict[str, str]
    sandbox: object
    results: dict[str, subprocess.CompletedProcess] = field(default_factory=dict)

    def run(self, script: str, timeout: float = 900, extra_env: dict | None = None) -> subprocess.CompletedProcess:
        """Run once per script (later calls return the first result)."""
        if script not in self.results:
            started = time.monotonic()
            result = subprocess.run(["bash", "-c", f"set -eo pipefail\n{script}"], cwd=ROOT,
                                    env={**self.env, **(extra_env or {})}, capture_output=True, text=True,
                                    timeout=timeout)
            result.seconds = time.monotonic() - started
            self.results[script] = result
        return self.results[script]


@pytest.fixture(scope="module")
def deployment(sandbox_factory, make_database) -> Deployment:
    sb = sandbox_factory(**SANDBOX)
    uri = make_database("docs", migrate=False)  # `make run` migrates it, as on a fresh machine
    env = {**new_user_env(), **sb.airflow_env(), "AIRFLOW_CONN_WAREHOUSE_DEFAULT": uri}
    return Deployment(uri, env, sb)


def _explain(step_or_script, result: subprocess.CompletedProcess) -> str:
    script = step_or_script.script if isinstance(step_or_script, Step) else step_or_script
    return (f"`{script}` exited {result.returncode} after {getattr(result, 'seconds', 0):.0f} s\n"
            f"--- stdout (tail)\n{result.stdout[-4000:]}\n--- stderr (tail)\n{result.stderr[-4000:]}")


@pytest.fixture(scope="module")
def after_make_run(deployment) -> Deployment:
    result = deployment.run(MAKE_RUN_SCRIPT)
    assert result.returncode == 0, _explain(MAKE_RUN_SCRIPT, result)
    return deployment


# ------------------------------------------------------------------ the plan itself (fast)


def test_every_command_is_run_or_skipped_for_a_reason():
    every = [c for doc in DOCUMENTS for c in commands(doc)]
    assert every, "no ```bash commands found in the documents"
    assert STEPS[0].command.key == MAKE_RUN, "the README's first command should be `make run`"
    run_keys = {s.command.key for s in STEPS} | {c.key for c in every if c.key.startswith("export ")}
    for c in every:
        assert c.key in run_keys or skip_reason(c), c.where
    used = {pattern for pattern, _ in SKIP if any(re.search(pattern, c.key) for c, _ in SKIPPED)}
    stale = [pattern for pattern, _ in SKIP if pattern not in used]
    assert stale == [], f"skip rules that match no command any more: {stale}"
    print("\nskipped commands:\n" + "\n".join(f"  {c.where}: {c.key[:90]}  ({reason})" for c, reason in SKIPPED))


def test_readme_names_every_make_target_and_only_real_ones():
    makefile = (ROOT / "Makefile").read_text()
    documented = set(re.findall(r"(?m)^## make ([\w-]+)", makefile))
    targets = set(re.findall(r"(?m)^([\w-]+):", makefile))
    readme = (ROOT / "README.md").read_text()
    mentioned = set(re.findall(r"`make ([\w-]+)", readme)) | {c.key.split()[1] for c in commands("README.md")
                                                                if c.key.startswith("make ")}
    assert documented - mentioned == set(), "targets with a help line the README does not mention"
    assert mentioned - targets == set(), "the README mentions make targets that do not exist"


# ------------------------------------------------------------------ the commands


@pytest.mark.parametrize("step", STEPS, ids=[s.id for s in STEPS])
def test_documented_command_works(step: Step, deployment):
    for pattern, tool in REQUIRES:
        if re.search(pattern, step.command.key) and shutil.which(tool, path=deployment.env["PATH"]) is None:
            pytest.skip(f"{tool} is not installed on this machine")
    if step.script != MAKE_RUN_SCRIPT:
        result = deployment.run(MAKE_RUN_SCRIPT)
        assert result.returncode == 0, "make run failed first:\n" + _explain(MAKE_RUN_SCRIPT, result)
    result = deployment.run(step.script)
    print(f"{step.command.where}: `{step.command.key}` took {result.seconds:.0f} s")
    assert result.returncode == 0, _explain(step, result)
    if step.command.key == MAKE_RUN:  # README: prints a summary of what landed
        for text in ("customers (active rows, with a primary phone):", "reminders by status (reason):",
                     "API calls"):
            assert text in result.stdout, result.stdout[-3000:]
    if step.command.key.startswith("make verify") and "--json" not in step.command.key:
        assert ": PASSED: " in result.stdout, result.stdout


# ------------------------------------------------------------------ SQL of the documents

SQL_BLOCKS = [b for doc in SQL_DOCS for b in blocks(doc, "sql")]


@pytest.mark.parametrize("block", SQL_BLOCKS, ids=[b.where for b in SQL_BLOCKS])
def test_documented_sql_runs(block, after_make_run):
    with warehouse.connect(after_make_run.uri) as conn:
        try:
            conn.execute(block.body)
        finally:
            conn.rollback()  # the "fix" statements must not change the warehouse other steps read


def test_lock_holder_query_finds_the_session_holding_a_tenant(after_make_run):
    query = next(b.body for b in blocks("CUSTOMER_SYNC_README.md", "sql")
                 if "pg_stat_activity" in b.body and "zoho_sync:acme-us" in b.body)
    with warehouse.connect(after_make_run.uri, autocommit=True) as holder, \
            warehouse.connect(after_make_run.uri, autocommit=True) as reader:
        # the lock the extract task takes (zoho.sync.extract.sync_tenant)
        holder.execute("select pg_advisory_lock(hashtextextended(%s, 0))", ("zoho_sync:acme-us",))
        try:
            pid = holder.execute("select pg_backend_pid()").fetchone()[0]
            assert [r[0] for r in reader.execute(query).fetchall()] == [pid]
        finally:
            holder.execute("select pg_advisory_unlock(hashtextextended(%s, 0))", ("zoho_sync:acme-us",))
        assert reader.execute(query).fetchall() == []


# ------------------------------------------------------------------ the documented data structures

TYPES = {"timestamp with time zone": "timestamptz", "character varying": "varchar"}


def test_column_tables_match_the_warehouse(after_make_run):
    documented = column_tables("CUSTOMER_SYNC_README.md")
    with warehouse.connect(after_make_run.uri) as conn:
        actual: dict[str, list[tuple[str, str]]] = {}
        for relation, column, data_type in conn.execute(
                "select table_schema || '.' || table_name, column_name, data_type from information_schema.columns "
                "where table_schema in ('zoho_raw', 'zoho_sync', 'analytics') "
                "order by table_schema, table_name, ordinal_position").fetchall():
            actual.setdefault(relation, []).append((column, TYPES.get(data_type, data_type)))
    actual.pop("zoho_sync.alembic_version", None)  # Alembic's own bookkeeping
    assert sorted(set(actual) - set(documented)) == [], "relations CUSTOMER_SYNC_README.md does not document"
    assert sorted(set(documented) - set(actual)) == [], "documented relations that do not exist"
    for relation, columns in actual.items():
        assert documented[relation] == columns, relation


def test_phone_rule_examples_are_what_the_code_does():
    text = section("CUSTOMER_SYNC_README.md", "The primary phone")
    normalisation, choice = tables(text)[:2]
    assert len(normalisation) >= 8 and len(choice) >= 6

    def value(cell: str) -> str | None:
        m = re.fullmatch(r"`([^`]*)`.*", cell)
        return m.group(1) if m else None

    for raw, country, expected in normalisation:
        country = None if country.startswith("(") else country
        assert normalize_phone(value(raw), country) == value(expected), (raw, country)

    def values(cell: str) -> list[str]:
        return re.findall(r"`([^`]*)`", cell)

    for row in choice:
        p_mobile, c_mobile, o_mobiles, p_phone, c_phone, o_phones, expected, source = row
        primary = {"contact_person_id": "p0", "is_primary_contact": True,
                   "mobile": value(p_mobile), "phone": value(p_phone)}
        others = [{"contact_person_id": f"p{i + 1}", "is_primary_contact": False,
                   "mobile": (values(o_mobiles) + [None] * 9)[i], "phone": (values(o_phones) + [None] * 9)[i]}
                  for i in range(max(len(values(o_mobiles)), len(values(o_phones))))]
        persons = ([primary] if primary["mobile"] or primary["phone"] else []) + others
        contact = {"contact_id": "c", "mobile": value(c_mobile), "phone": value(c_phone)}
        assert resolve_primary_phone(contact, persons, "US") == (value(expected), value(source)), row


# ------------------------------------------------------------------ dbt docs


def test_make_docs_generates_the_site(after_make_run):
    result = after_make_run.run("make docs")
    assert result.returncode == 0, _explain("make docs", result)
    target = ROOT / "dbt_project" / "target"
    for name in ("index.html", "static_index.html", "catalog.json", "manifest.json"):
        assert (target / name).is_file(), name
    assert (target / "index.html").stat().st_size > 100_000
    catalog = json.loads((target / "catalog.json").read_text())
    nodes = {n["metadata"]["schema"] + "." + n["metadata"]["name"]: n for n in catalog["nodes"].values()}
    for relation in ("analytics.customers_cache", "analytics.invoices_cache", "analytics.invoices_with_customer",
                     "analytics.reminders_with_customer"):
        assert relation in nodes, sorted(nodes)
    assert "primary_phone" in nodes["analytics.customers_cache"]["columns"]
    sources = {n["metadata"]["schema"] + "." + n["metadata"]["name"] for n in catalog["sources"].values()}
    assert {"zoho_raw.contacts", "zoho_raw.invoices", "analytics.payment_reminders"} <= sources


def test_make_docs_serve_serves_the_site(after_make_run):
    built = after_make_run.run("make docs")
    assert built.returncode == 0, _explain("make docs", built)
    port = _free_port()
    proc = subprocess.Popen(["make", "docs-serve"], cwd=ROOT, env={**after_make_run.env, "DOCS_PORT": str(port)},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/index.html", timeout=5) as page:
                    assert page.status == 200 and b"dbt" in page.read(2_000_000).lower()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise AssertionError(f"make docs-serve did not serve on {port}: "
                                         f"{proc.stdout.read().decode() if proc.poll() is not None else ''}")
                time.sleep(0.5)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/catalog.json", timeout=5) as page:
            assert "nodes" in json.loads(page.read())
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def test_store_failures_schema_named_in_the_troubleshooting_exists_after_the_documented_dbt_test(after_make_run):
    command = next(s for s in STEPS if "--store-failures" in s.command.key)
    result = after_make_run.run(command.script)
    assert result.returncode == 0, _explain(command, result)
    with psycopg.connect(after_make_run.uri) as conn:
        assert conn.execute("select to_regnamespace('dbt_test__audit')").fetchone()[0] is not None


def test_cross_references_name_existing_sections():
    """`README "Scheduling"`-style references point at a heading of that document (a prefix is enough)."""
    files = {"README": "README.md", "README.md": "README.md", "CUSTOMER_SYNC_README.md": "CUSTOMER_SYNC_README.md",
             "RUNBOOK.md": "docs/RUNBOOK.md"}
    headings = {doc: [h.strip() for h in re.findall(r"(?m)^#{2,4} (.+)$", (ROOT / doc).read_text())]
                for doc in set(files.values())}
    found = 0
    for doc in DOCUMENTS:
        text = (ROOT / doc).read_text()
        for name, title in re.findall(r"\b(README(?:\.md)?|CUSTOMER_SYNC_README\.md|RUNBOOK\.md)\s+\"([^\"]+)\"", text):
            title = " ".join(title.split())
            found += 1
            assert any(h.startswith(title) for h in headings[files[name]]), f"{doc}: {name} \"{title}\""
    assert found >= 10
