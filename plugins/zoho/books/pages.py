"""Page-by-page reading of a Zoho listing: ``Page`` and the one pagination routine of the client.

Zoho's rule (docs/ZOHO_API.md §4): request ``page=n``, go on while ``page_context.has_more_page`` is
true. A listing may start at any page (a sweep resuming from its checkpoint). A record whose primary
key was already on the previous or the current page is dropped (Zoho repeats invoices across
adjacent pages); the window is two pages, so memory stays flat and the loader dedupes again by key.
With ``response_option=1`` Zoho may add ``total`` and ``total_pages`` to ``page_context``; they are
passed on when present (not documented for every listing).
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from zoho.books.endpoints import PER_PAGE, Endpoint

log = logging.getLogger(__name__)


@dataclass
class Page:
    number: int
    records: list = field(default_factory=list)
    has_more: bool = False
    total_pages: int | None = None  # when Zoho reports it (``response_option=1``)
    duplicates_dropped: int = 0


def _whole(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def paginate(call: Callable[[dict], dict], endpoint: Endpoint, query: dict, *, start_page: int = 1,
             tenant: str = "") -> Iterator[Page]:
    """The pages of a listing from ``start_page`` on; ``call(query)`` makes one request."""
    key = endpoint.primary_key
    previous_ids: set = set()
    page = max(1, int(start_page))
    while True:
        body = call({**query, "page": page, "per_page": query.get("per_page", PER_PAGE)})
        records = body.get(endpoint.records_key) or []
        context = body.get("page_context")
        del body
        context = context if isinstance(context, dict) else {}
        current_ids: set = set()
        kept: list = []
        dropped = 0
        for record in records:
            record_id = record.get(key) if isinstance(record, dict) and key else None
            if record_id not in (None, ""):
                if record_id in previous_ids or record_id in current_ids:
                    dropped += 1
                    continue
                current_ids.add(record_id)
            kept.append(record)
        has_more = context.get("has_more_page") is True
        if has_more and not records:
            log.warning("[tenant %s] %s: page %d is empty but has_more_page is true; stopping",
                        tenant, endpoint.name, page)
            has_more = False
        yield Page(page, kept, has_more, _whole(context.get("total_pages")), dropped)
        if not has_more:
            return
        previous_ids = current_ids
        page += 1
