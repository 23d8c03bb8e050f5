"""BENCHMARKS.md sections written by benchmarks of their own (``make bench-plans``: section 9,
``make bench-sender``: section 10), beside the document ``make bench`` rewrites.

A :class:`Section` replaces its own part of the document (from its heading to the next ``## ``),
keeps the notes written under its marker by an earlier run, and is carried over when ``make bench``
rewrites the rest of the document.
"""
from __future__ import annotations

from dataclasses import dataclass

CHANGES_HEADING = "## Changes made in `plugins/zoho/`"


@dataclass(frozen=True)
class Section:
    heading: str   # "## 9. ..."
    notes: str     # the marker after which the prose written from a run is kept: "<!-- plans-notes -->"

    def _span(self, document: str) -> tuple[int, int] | None:
        start = document.find(self.heading)
        if start < 0:
            return None
        nxt = document.find("\n## ", start + len(self.heading))
        return start, (len(document) if nxt < 0 else nxt + 1)

    def splice(self, document: str, section: str) -> str:
        """``document`` with this section replaced by ``section`` (or inserted before the "Changes made
        ..." section, else at the end). The notes under the old section's marker are kept."""
        section = section.rstrip() + "\n"
        span = self._span(document)
        if span:
            start, end = span
            old = document[start:end]
            if self.notes in old and self.notes in section:
                notes = old.split(self.notes, 1)[1].strip("\n")
                if notes:
                    section = section.replace(self.notes, self.notes + "\n\n" + notes)
            rest = document[end:]
            return document[:start] + section + ("\n" + rest if rest else "")
        at = document.find(CHANGES_HEADING)
        if at >= 0:
            return document[:at] + section + "\n" + document[at:]
        return document.rstrip("\n") + ("\n\n" if document.strip() else "") + section

    def carry_over(self, old_document: str | None, new_document: str) -> str:
        """``new_document`` (a rewrite by ``make bench``) with this section of ``old_document``."""
        span = self._span(old_document or "")
        if not span:
            return new_document
        return self.splice(new_document, old_document[span[0]:span[1]])
