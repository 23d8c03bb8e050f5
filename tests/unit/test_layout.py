"""The layout of the package ``zoho`` holds to the import rules of docs/ARCHITECTURE.md.

The rules are read from the table in that document (so the document and the code cannot drift
apart): every import of a ``zoho`` module, at any depth of a module (imports inside functions
included), must be allowed by its part's row, and Airflow (or cosmos) may be imported only where the
row says so. ``zoho.books`` and ``zoho.sync`` must import in a process where Airflow cannot be
imported at all.
"""
from __future__ import annotations

import ast
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "plugins" / "zoho"
ARCHITECTURE = ROOT / "docs" / "ARCHITECTURE.md"
AIRFLOW_PACKAGES = {"airflow", "cosmos"}
MAX_MODULE_LINES = 450


@dataclass(frozen=True)
class Rule:
    part: str
    allowed: frozenset[str]
    airflow: bool


def read_rules(text: str) -> dict[str, Rule]:
    """The table after the ``import-rules`` marker: ``| `part` | `a`, `b` | yes/no |``."""
    after = text.split("<!-- import-rules", 1)
    assert len(after) == 2, "docs/ARCHITECTURE.md has no import-rules table"
    rules: dict[str, Rule] = {}
    for line in after[1].splitlines()[1:]:
        if not line.startswith("|"):
            if rules:
                break
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or cells[0] in ("part", "") or set(cells[0]) <= {"-"}:
            continue
        part = cells[0].strip("`")
        allowed = frozenset(re.findall(r"`([\w.]+)`", cells[1]))
        assert cells[2] in ("yes", "no"), f"{part}: the Airflow column says {cells[2]!r}, not yes/no"
        rules[part] = Rule(part, allowed, cells[2] == "yes")
    return rules


RULES = read_rules(ARCHITECTURE.read_text())


def imports_of(path: Path, package: str) -> list[tuple[int, str]]:
    """Every module ``path`` imports (absolute names; relative imports resolved against ``package``)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            if module == "zoho":  # ``from zoho import sync``: the names are the modules
                found += [(node.lineno, f"zoho.{alias.name}") for alias in node.names]
            else:
                found.append((node.lineno, module))
    return found


def part_of(module: str) -> str:
    """``zoho.sync.extract`` -> ``zoho.sync``; ``zoho`` -> ``zoho``."""
    return ".".join(module.split(".")[:2])


def python_files() -> list[tuple[str, Path]]:
    """(rule name, file) for every module of the package and every DAG file."""
    files = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        files.append((part_of(".".join(p for p in parts if p != "__init__")), path))
    files += [("dags", path) for path in sorted((ROOT / "dags").glob("*.py"))]
    return files


def test_the_rules_table_is_read():
    assert {"zoho.books", "zoho.sync", "zoho.airflow", "dags"} <= set(RULES)
    assert RULES["zoho.sync"].allowed == {"zoho.rules", "zoho.books", "zoho.warehouse"}
    assert RULES["zoho.books"].airflow is False and RULES["zoho.airflow"].airflow is True


def test_every_part_has_a_row_and_every_row_a_part():
    parts = {f"zoho.{d.name}" for d in PACKAGE.iterdir() if (d / "__init__.py").is_file()}
    assert parts == set(RULES) - {"dags"}, "docs/ARCHITECTURE.md's table and plugins/zoho/ disagree"
    for part in parts:
        doc = ast.get_docstring(ast.parse((PACKAGE / part.split(".")[1] / "__init__.py").read_text()))
        assert doc and "May import" in doc, f"{part}/__init__.py must say what it owns and may import"


@pytest.mark.parametrize("rule_name,path", python_files(), ids=lambda v: str(v.relative_to(ROOT)) if isinstance(v, Path) else v)
def test_imports_follow_the_architecture_table(rule_name, path):
    if rule_name == "zoho":  # the package's own __init__: documentation only
        assert not [m for _, m in imports_of(path, "zoho") if m.startswith("zoho")]
        return
    rule = RULES[rule_name]
    package = rule_name if rule_name != "dags" else ""
    rel = path.relative_to(PACKAGE.parent).with_suffix("") if rule_name != "dags" else None
    if rel is not None:
        package = ".".join(rel.parts[:-1]) if rel.name != "__init__" else ".".join(rel.parts)
    bad = []
    for line, module in imports_of(path, package):
        top = module.split(".")[0]
        if top == "zoho":
            target = part_of(module)
            if target != rule_name and target not in rule.allowed:
                bad.append(f"line {line}: {module} ({rule_name} may import {sorted(rule.allowed) or 'nothing'})")
        elif top in AIRFLOW_PACKAGES and not rule.airflow:
            bad.append(f"line {line}: {module} ({rule_name} may not import Airflow)")
    assert not bad, f"{path.relative_to(ROOT)} breaks docs/ARCHITECTURE.md's import rules:\n" + "\n".join(bad)


def test_the_checker_catches_a_forbidden_import(tmp_path):
    """The rule check itself: a books module importing the warehouse or Airflow would be caught."""
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from zoho.warehouse import connection\n    import airflow.sdk\n")
    modules = [m for _, m in imports_of(bad, "zoho.books")]
    assert "zoho.warehouse" in modules and "airflow.sdk" in modules
    assert part_of("zoho.warehouse") not in RULES["zoho.books"].allowed


@pytest.mark.parametrize("part", ["zoho.books", "zoho.sync"])
def test_part_imports_without_airflow(part):
    """Every module of the part imports in a process where ``import airflow`` fails."""
    code = (
        "import importlib, pkgutil, sys\n"
        "for blocked in ('airflow', 'cosmos'):\n"
        "    sys.modules[blocked] = None\n"
        f"pkg = importlib.import_module({part!r})\n"
        "names = [m.name for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.')]\n"
        "for name in names:\n"
        "    importlib.import_module(name)\n"
        "leaked = sorted(m for m in sys.modules if m.split('.')[0] in ('airflow', 'cosmos') and sys.modules[m])\n"
        "assert not leaked, leaked\n"
        "print(len(names))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                          env={"PYTHONPATH": str(PACKAGE.parent), "PATH": "/usr/bin:/bin"}, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert int(done.stdout.strip()) >= 3


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_modules_stay_short(path):
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_MODULE_LINES, f"{path.relative_to(ROOT)} has {lines} lines: split it by concern"
