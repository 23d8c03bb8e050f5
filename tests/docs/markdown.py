"""Reading the project's Markdown documents: fenced code blocks, the shell commands in them, and
the column tables of CUSTOMER_SYNC_README.md. Shared by ``tests/docs`` and ``tests/verify``."""
from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# The documents whose commands must work as written (docs/*.md: every page of the docs folder).
DOCUMENTS = ("README.md", "CUSTOMER_SYNC_README.md", *sorted(
    str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md")))

_FENCE = re.compile(r"^(?P<indent>[ \t]*)```(?P<lang>[\w+-]*)[ \t]*\n(?P<body>.*?)^(?P=indent)```[ \t]*$",
                    re.M | re.S)


@dataclass(frozen=True)
class Block:
    doc: str
    line: int  # 1-based line of the opening fence
    lang: str
    body: str

    @property
    def where(self) -> str:
        return f"{self.doc}:{self.line}"


@dataclass(frozen=True)
class Command:
    doc: str
    line: int      # 1-based line where the command starts
    block: int     # index of its block in the document
    text: str      # as written (continuation lines and a trailing comment included)

    @property
    def key(self) -> str:
        """The command's words, whitespace and comments normalised (what skip rules match)."""
        return " ".join(shlex.split(self.text, comments=True))

    @property
    def where(self) -> str:
        return f"{self.doc}:{self.line}"


def blocks(doc: str, lang: str | None = None) -> list[Block]:
    text = (ROOT / doc).read_text()
    out = []
    for m in _FENCE.finditer(text):
        if lang is not None and m.group("lang") != lang:
            continue
        indent = m.group("indent")
        body = "".join(line[len(indent):] if line.startswith(indent) else line
                       for line in m.group("body").splitlines(keepends=True))
        out.append(Block(doc, text.count("\n", 0, m.start()) + 1, m.group("lang"), body))
    return out


def commands(doc: str) -> list[Command]:
    """Every shell command of the document's ```bash blocks, in order. A command continues over
    lines ending with a backslash and over lines inside an open quote."""
    out: list[Command] = []
    for index, block in enumerate(blocks(doc, "bash")):
        pending: list[str] = []
        start = 0
        for offset, line in enumerate(block.body.splitlines()):
            if not pending and (not line.strip() or line.lstrip().startswith("#")):
                continue
            if not pending:
                start = block.line + 1 + offset
            pending.append(line)
            text = "\n".join(pending)
            if text.rstrip().endswith("\\"):
                continue
            try:
                shlex.split(text, comments=True)
            except ValueError:  # an open quote: the command goes on
                continue
            out.append(Command(doc, start, index, text.strip()))
            pending = []
        if pending:
            raise ValueError(f"{block.where}: unterminated command: {' '.join(pending)[:200]}")
    return out


def column_tables(doc: str) -> dict[str, list[tuple[str, str]]]:
    """``### `schema.relation``` sections → the (column, type) rows of their first table, whose
    first two cells are the backticked column name and its type."""
    text = (ROOT / doc).read_text()
    out: dict[str, list[tuple[str, str]]] = {}
    sections = re.split(r"(?m)^### ", text)
    for section in sections[1:]:
        head = re.match(r"`([a-z_]+\.[a-z_]+)`", section)
        if not head:
            continue
        rows = re.findall(r"(?m)^\| `([a-z_0-9]+)` \| ([a-z ]+?) \|", section)
        out[head.group(1)] = rows
    return out


def section(doc: str, title: str) -> str:
    """The text of the ``## title`` section (up to the next ``## ``)."""
    text = (ROOT / doc).read_text()
    m = re.search(rf"(?ms)^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text)
    if not m:
        raise KeyError(f"{doc} has no section {title!r}")
    return m.group(1)


def tables(text: str) -> list[list[list[str]]]:
    """The Markdown tables of ``text``: lists of rows (header and separator dropped), cells stripped."""
    out, current = [], []
    for line in text.splitlines():
        if line.startswith("|"):
            current.append([c.strip() for c in line.strip().strip("|").split("|")])
        elif current:
            out.append(current[2:])
            current = []
    if current:
        out.append(current[2:])
    return out
