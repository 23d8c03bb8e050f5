"""Query-string parsing for the list endpoints: defaults, validation (Zoho's code 2) and signatures."""
from __future__ import annotations

from dataclasses import dataclass

from .clock import parse_date, parse_timestamp
from .generator import STATUSES

MAX_PER_PAGE = 200


class BadParam(Exception):
    """A parameter with a value Zoho would reject: HTTP 400, code 2."""

    def __init__(self, name: str) -> None:
        super().__init__(f"Invalid value passed for {name}")
        self.name = name


CONTACT_FILTER_BY = ("Status.All", "Status.Active", "Status.Inactive", "Status.Duplicate", "Status.PortalEnabled",
                     "Status.PortalDisabled", "Invoice.OverDue", "Invoice.Unpaid", "Status.CreditLimitExceed",
                     "Status.Crm")
INVOICE_FILTER_BY = ("Status.All", "Status.Sent", "Status.Draft", "Status.OverDue", "Status.Paid", "Status.Void",
                     "Status.Unpaid", "Status.PartiallyPaid", "Status.Viewed", "Date.PaymentExpectedDate")
CONTACT_SORT = ("contact_name", "first_name", "last_name", "email", "outstanding_receivable_amount",
                "created_time", "last_modified_time")
INVOICE_SORT = ("customer_name", "invoice_number", "date", "due_date", "total", "balance", "created_time",
                "last_modified_time")

_TEXT = ("", "_startswith", "_contains")
CONTACT_TEXT = tuple(f"{b}{s}" for b in ("contact_name", "company_name") for s in _TEXT) + ("search_text",)
INVOICE_TEXT = tuple(f"{b}{s}" for b in ("invoice_number", "customer_name") for s in _TEXT) + ("search_text",)
INVOICE_DATES = tuple(f"{b}{s}" for b in ("date", "due_date", "created_date")
                      for s in ("", "_start", "_end", "_before", "_after"))


@dataclass(frozen=True)
class ListQuery:
    page: int
    per_page: int
    sort_column: str
    sort_order: str
    filter_by: str
    response_option: int
    lmt_from: int | None
    filters: tuple  # ((name, normalised value), ...), sorted by name

    def signature(self) -> tuple:
        """What determines the result set and its order (not the page): the key of the result cache."""
        return (self.filter_by, self.lmt_from, self.filters, self.sort_column, self.sort_order)


def _int(params: dict, name: str, default: int, lo: int = 1) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadParam(name) from None
    if value < lo:
        raise BadParam(name)
    return value


def _choice(params: dict, name: str, allowed, default):
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    if raw not in allowed:
        raise BadParam(name)
    return raw


def _common(params: dict, sort_allowed, sort_default, order_default, filter_allowed) -> dict:
    lmt = params.get("last_modified_time")
    lmt_from = None
    if lmt:
        lmt_from = parse_timestamp(lmt)
        if lmt_from is None:  # includes a '+' that was not URL-encoded and arrived as a space
            raise BadParam("last_modified_time")
    return dict(
        page=_int(params, "page", 1),
        per_page=min(_int(params, "per_page", MAX_PER_PAGE), MAX_PER_PAGE),
        sort_column=_choice(params, "sort_column", sort_allowed, sort_default),
        sort_order=_choice(params, "sort_order", ("A", "D"), order_default),
        filter_by=_choice(params, "filter_by", filter_allowed, "Status.All"),
        response_option=_int(params, "response_option", 0, lo=0),
        lmt_from=lmt_from,
    )


def _text_filters(params: dict, names) -> list:
    out = []
    for name in names:
        value = params.get(name)
        if value:
            if len(value) > 100:
                raise BadParam(name)
            out.append((name, value.strip().lower()))
    return out


def parse_contacts(params: dict) -> ListQuery:
    base = _common(params, CONTACT_SORT, "contact_name", "A", CONTACT_FILTER_BY)
    if base["response_option"] > 4:
        raise BadParam("response_option")
    filters = _text_filters(params, CONTACT_TEXT)
    ctype = _choice(params, "contact_type", ("customer", "vendor"), None)
    if ctype:
        filters.append(("contact_type", ctype))
    return ListQuery(filters=tuple(sorted(filters)), **base)


def parse_invoices(params: dict) -> ListQuery:
    base = _common(params, INVOICE_SORT, "created_time", "D", INVOICE_FILTER_BY)
    if base["response_option"] > 4:
        raise BadParam("response_option")
    filters = _text_filters(params, INVOICE_TEXT)
    status = _choice(params, "status", STATUSES, None)
    if status:
        filters.append(("status", status))
    customer_id = params.get("customer_id")
    if customer_id:
        if not customer_id.isdigit():
            raise BadParam("customer_id")
        filters.append(("customer_id", customer_id))
    for name in INVOICE_DATES:
        raw = params.get(name)
        if raw:
            ordinal = parse_date(raw)
            if ordinal is None:
                raise BadParam(name)
            filters.append((name, ordinal))
    return ListQuery(filters=tuple(sorted(filters)), **base)


def parse_persons(params: dict) -> tuple[int, int]:
    return _int(params, "page", 1), min(_int(params, "per_page", MAX_PER_PAGE), MAX_PER_PAGE)
