"""Generated bad records pushed into Postgres: through ``RawLoader`` directly, and through the whole
extraction (``sync_tenant``) with a client that returns them.

Whatever the records hold (NUL characters, lone surrogates, NaN, huge strings, wrong types, ids
that repeat), the COPY and the upserts must not fail: every readable record lands once per id with
a jsonb payload equal to what the reader produced, every unreadable one is in
``zoho_sync.rejected_records`` with its reason (once per distinct payload and reason), and nothing
else stops.
"""
from __future__ import annotations

import json
import uuid
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zoho.books import errors
from zoho.books.pages import Page
from zoho.warehouse import connection as warehouse
from zoho.books.stats import ClientStats
from zoho.sync.extract import Tenant, sync_tenant
from zoho.sync.loading import RawLoader
from zoho.sync.records import Rejected, read_contact, read_invoice, read_person

from .strategies import CONTACT_RECORD, INVOICE_RECORD, PERSON_RECORD

pytestmark = [pytest.mark.integration]

LOAD_SETTINGS = settings(max_examples=25, deadline=None,
                         suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def uri(make_database):
    return make_database("badinput")


def as_floats(value):
    """Numbers compared as floats: the payload text carries a Decimal as its float repr (exact up to
    15 significant digits), which jsonb reads as an exact decimal and prints back in full."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, dict):
        return {k: as_floats(v) for k, v in value.items()}
    return [as_floats(v) for v in value]


def expected_rejections(rejected: list[Rejected]) -> int:
    """Quarantine rows are unique per (entity, payload hash, reason)."""
    from zoho.sync.records import dump_payload

    keys = set()
    for r in rejected:
        payload = r.payload if isinstance(r.payload, (dict, list)) else {"raw": r.payload}
        keys.add((r.entity, dump_payload(payload)[1], r.reason))
    return len(keys)


@LOAD_SETTINGS
@given(contacts=st.lists(CONTACT_RECORD, max_size=25), invoices=st.lists(INVOICE_RECORD, max_size=25),
       persons=st.lists(PERSON_RECORD, max_size=10))
def test_raw_loader_lands_or_quarantines_every_generated_record(uri, contacts, invoices, persons):
    user_id = f"bad-{uuid.uuid4().hex[:8]}"
    contact_rows, invoice_rows, person_rows, rejected = [], [], [], []
    for record in contacts:
        r = read_contact(record, "US")
        (rejected if isinstance(r, Rejected) else contact_rows).append(r)
    for record in invoices:
        r = read_invoice(record)
        (rejected if isinstance(r, Rejected) else invoice_rows).append(r)
    for pos, record in enumerate(persons):
        r = read_person(record, "460000000000001", pos, "US")
        (rejected if isinstance(r, Rejected) else person_rows).append(r)

    with warehouse.connect(uri) as conn:
        loader = RawLoader(conn, user_id)
        loader.load_contacts(contact_rows)
        loader.load_invoices(invoice_rows)
        loader.replace_persons(["460000000000001"], person_rows)
        assert loader.reject(rejected, "property-run") == len(rejected)
        conn.commit()

        def landed(table, id_column):
            return {r[0]: r[1] for r in conn.execute(
                f"select {id_column}, payload::text from zoho_raw.{table} where user_id = %s", (user_id,))}

        for table, id_column, rows_ in (("contacts", "contact_id", contact_rows),
                                        ("invoices", "invoice_id", invoice_rows),
                                        ("contact_persons", "contact_person_id", person_rows)):
            got = landed(table, id_column)
            assert set(got) == {getattr(r, id_column) for r in rows_}
            for r in rows_:  # the payload Postgres holds is the one the reader produced (one per id)
                key = getattr(r, id_column)
                assert as_floats(json.loads(got[key])) in [as_floats(json.loads(x.payload_json)) for x in rows_
                                                           if getattr(x, id_column) == key]
        quarantined = conn.execute("select count(*) from zoho_sync.rejected_records where user_id = %s",
                                   (user_id,)).fetchone()[0]
        assert quarantined == expected_rejections(rejected)
        assert conn.execute("select count(*) from zoho_sync.rejected_records where user_id = %s "
                            "and (reason = '' or payload is null)", (user_id,)).fetchone()[0] == 0


class RecordsClient:
    """Stands in for ``ZohoBooksClient``: the listings return the generated records as they are."""

    max_concurrent = 4
    # what sync_tenant needs to give the client its organisation's budget ledger (no call is made here)
    api_base_url = "https://books.invalid"
    organization_id = "property-test"
    limiter = SimpleNamespace(requests_per_window=90, window_seconds=60.0)

    def __init__(self, contacts, invoices, persons):
        self.contacts, self.invoices, self.persons = contacts, invoices, persons
        self.stats = ClientStats()
        self.budget = None

    def set_budget(self, budget):
        self.budget = budget

    def iter_contacts(self, modified_since=None):
        return iter(self.contacts)

    def iter_invoices(self, modified_since=None):
        return iter(self.invoices)

    def iter_pages(self, endpoint, start_page=1, params=None):
        """The nightly sweep's listing: every generated record on one page."""
        return iter([Page(1, list(self.contacts if endpoint.name == "contacts" else self.invoices))])

    def iter_endpoint(self, endpoint, params=None, **path_ids):
        return iter([])  # the nightly check of the open invoices: none listed

    def get_invoice(self, invoice_id):  # every open invoice the empty open listing "missed" still exists
        return {"invoice_id": invoice_id}

    def list_contact_persons(self, contact_id):
        return list(self.persons)

    def get_contact(self, contact_id):
        raise errors.NotFoundError("no such contact", tenant="bad", endpoint="contact")


@LOAD_SETTINGS
@given(contacts=st.lists(CONTACT_RECORD, max_size=20), invoices=st.lists(INVOICE_RECORD, max_size=20),
       persons=st.lists(PERSON_RECORD, max_size=4))
def test_a_whole_sync_of_generated_records_never_fails_and_accounts_for_every_record(uri, contacts, invoices,
                                                                                     persons):
    user_id = f"sync-{uuid.uuid4().hex[:8]}"
    result = sync_tenant(RecordsClient(contacts, invoices, persons), uri, Tenant(user_id, "US"), "full",
                         run_id="property-sync")
    contact_result, invoice_result = result.entities
    assert contact_result.fetched == len(contacts) and invoice_result.fetched == len(invoices)
    readable_contacts = {r.contact_id for r in (read_contact(c, "US") for c in contacts) if not isinstance(r, Rejected)}
    readable_invoices = {r.invoice_id for r in (read_invoice(i) for i in invoices) if not isinstance(r, Rejected)}
    with warehouse.connect(uri) as conn:
        def ids(table, column):
            return {r[0] for r in conn.execute(f"select {column} from zoho_raw.{table} where user_id = %s "
                                               "and not is_deleted", (user_id,))}

        assert ids("contacts", "contact_id") == readable_contacts
        assert ids("invoices", "invoice_id") == readable_invoices
        status = dict(conn.execute("select entity, status from zoho_sync.sync_metadata where user_id = %s",
                                   (user_id,)).fetchall())
        assert status == {"contacts": "success", "invoices": "success"}
        quarantined = conn.execute("select count(*) from zoho_sync.rejected_records where user_id = %s",
                                   (user_id,)).fetchone()[0]
    unreadable = (len(contacts) - sum(1 for c in contacts if not isinstance(read_contact(c, "US"), Rejected))
                  + len(invoices) - sum(1 for i in invoices if not isinstance(read_invoice(i), Rejected)))
    assert (quarantined > 0) == (unreadable > 0 or contact_result.rejected > 0)
    assert contact_result.rejected + invoice_result.rejected >= unreadable
