"""The Zoho Books v3 endpoints the sync reads, as data.

One row per endpoint: its name (used in stats and error messages), path under ``/books/v3`` (with
``{placeholders}`` for ids), the key holding the records in the response, the record's primary key,
the cursor field for incremental reads, whether it is paginated, the fixed query parameters, and
whether it takes ``organization_id``. The client has one request/pagination routine for all of
them; nothing in it branches on the endpoint's name.

Parameter choices (docs/ZOHO_API.md §3.1, §5.1, §6.2):
- contacts: ``contact_type=customer`` and ``filter_by=Status.All`` (inactive customers too, so the
  nightly pass can tell "inactive" from "deleted"). ``last_modified_time`` works in practice on
  contacts though undocumented. ``sort_column=last_modified_time`` is documented for contacts and
  ``sort_order=A`` is accepted in practice, so incremental contact reads are sorted ascending by
  modification time (``incremental_sort``).
- invoices: ``last_modified_time`` is documented ("modified after"). Sorting invoices by
  ``last_modified_time`` is UNCONFIRMED, so invoices keep Zoho's default order (created_time D).
- organizations: not paginated, no ``organization_id``.
- sweeps (the nightly pass, resumable across runs from a page checkpoint) list contacts and invoices
  by ``created_time`` ascending (``sweep_sort``; documented for both): a record created during a
  sweep of several days lands on a later page, and a modification moves nothing, so only deletions
  shift records back (the sweep resumes one page early, and confirms by id what it did not see).
  ``response_option=1`` asks for ``total_pages`` (reported in practice, not documented for
  contacts; used for progress only).
- the open invoices: ``filter_by=Status.Unpaid`` (``OPEN_INVOICES``: sent, viewed, overdue,
  partially paid, unpaid: every status that can carry a reminder).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

API_PREFIX = "/books/v3"
PER_PAGE = 200  # Zoho's default and documented maximum


def _frozen(**kwargs) -> Mapping[str, str]:
    return MappingProxyType(dict(kwargs))


@dataclass(frozen=True)
class Endpoint:
    name: str
    path: str
    records_key: str
    primary_key: str | None
    cursor_field: str | None = None
    paginated: bool = False
    params: Mapping[str, str] = field(default_factory=_frozen)
    incremental_sort: Mapping[str, str] = field(default_factory=_frozen)
    sweep_sort: Mapping[str, str] = field(default_factory=_frozen)
    org_scoped: bool = True

    def url_path(self, **ids: str) -> str:
        """The path under the API root, e.g. ``/books/v3/contacts/123/contactpersons``."""
        return API_PREFIX + self.path.format(**{k: str(v) for k, v in ids.items()})


CONTACTS = Endpoint(
    name="contacts",
    path="/contacts",
    records_key="contacts",
    primary_key="contact_id",
    cursor_field="last_modified_time",
    paginated=True,
    params=_frozen(contact_type="customer", filter_by="Status.All"),
    incremental_sort=_frozen(sort_column="last_modified_time", sort_order="A"),
    sweep_sort=_frozen(sort_column="created_time", sort_order="A", response_option="1"),
)
CONTACT = Endpoint(
    name="contact",
    path="/contacts/{contact_id}",
    records_key="contact",
    primary_key="contact_id",
    cursor_field="last_modified_time",
)
CONTACT_PERSONS = Endpoint(
    name="contact_persons",
    path="/contacts/{contact_id}/contactpersons",
    records_key="contact_persons",
    primary_key="contact_person_id",
    paginated=True,
)
INVOICES = Endpoint(
    name="invoices",
    path="/invoices",
    records_key="invoices",
    primary_key="invoice_id",
    cursor_field="last_modified_time",
    paginated=True,
    sweep_sort=_frozen(sort_column="created_time", sort_order="A", response_option="1"),
)
OPEN_INVOICES = _frozen(filter_by="Status.Unpaid")  # params of the nightly check of the open invoices
OPEN_INVOICE_STATUSES = ("sent", "viewed", "overdue", "partially_paid", "unpaid")  # what Status.Unpaid returns
INVOICE = Endpoint(
    name="invoice",
    path="/invoices/{invoice_id}",
    records_key="invoice",
    primary_key="invoice_id",
    cursor_field="last_modified_time",
)
ORGANIZATIONS = Endpoint(
    name="organizations",
    path="/organizations",
    records_key="organizations",
    primary_key="organization_id",
    org_scoped=False,
)

ENDPOINTS: Mapping[str, Endpoint] = MappingProxyType(
    {e.name: e for e in (CONTACTS, CONTACT, CONTACT_PERSONS, INVOICES, INVOICE, ORGANIZATIONS)}
)
