"""Extraction and loading against the sandbox (real sockets) and a real Postgres, without Airflow:
first full sync, incremental changes, deletions, failures mid-listing, the tenant lock, quarantine."""
from __future__ import annotations

import math
import threading

import pytest

from tests.helpers import client_for, rows, scalar, sync
from zoho.books import errors
from zoho.warehouse import connection as warehouse
from zoho.sync.extract import Tenant, TenantBusyError, sync_tenant
from zoho.rules.phones import needs_contact_persons

pytestmark = pytest.mark.integration


def org_of(sb, i):
    return sb.organizations[i]


def live_customers(sb, org):
    return [c for c in sb.contacts(org.organization_id) if c.get("contact_type") == "customer"]


@pytest.fixture(scope="module")
def env(sandbox_factory, make_database):
    sb = sandbox_factory(seed=11, orgs=2, contacts_per_org=450, invoices_per_org=1300,
                         per_minute_limit=None, daily_limit=None, max_concurrent=None)
    uri = make_database("extract")
    return sb, uri


def test_first_nightly_run_lands_every_customer_person_and_invoice_of_two_tenants(env):
    sb, uri = env
    for org in sb.organizations:
        result, _ = sync(sb, uri, org, "full")
        customers = live_customers(sb, org)
        invoices = sb.invoices(org.organization_id)
        assert scalar(uri, "select count(*) from zoho_raw.contacts where user_id = %s and contact_type = 'customer' "
                           "and not is_deleted", org.user_id) == len(customers)
        landed_invoices = {r[0] for r in rows(uri, "select invoice_id from zoho_raw.invoices where user_id = %s",
                                              org.user_id)}
        assert landed_invoices == {i["invoice_id"] for i in invoices}
        # persons: landed for exactly the contacts the phone rule needs them for
        needing = {c["contact_id"]: c for c in customers if needs_contact_persons(c, org.country)}
        expected_persons = {p["contact_person_id"] for cid in needing
                            for p in sb.contact_persons(org.organization_id, cid)}
        landed_persons = {r[0] for r in rows(uri, "select contact_person_id from zoho_raw.contact_persons "
                                                  "where user_id = %s", org.user_id)}
        assert expected_persons <= landed_persons
        contacts_result = result.entities[0]
        assert contacts_result.person_calls == len(needing)
        meta = rows(uri, "select entity, status, watermark is not null, last_mode from zoho_sync.sync_metadata "
                         "where user_id = %s order by entity", org.user_id)
        assert meta == [("contacts", "success", True, "full"), ("invoices", "success", True, "full")]


def test_second_nightly_run_writes_nothing_when_nothing_changed(env):
    sb, uri = env
    org = org_of(sb, 0)
    before = rows(uri, "select contact_id, _synced_at from zoho_raw.contacts where user_id = %s order by 1", org.user_id)
    result, _ = sync(sb, uri, org, "full")
    assert [e.upserted for e in result.entities] == [0, 0]
    assert [e.person_calls for e in result.entities] == [0, 0]
    assert rows(uri, "select contact_id, _synced_at from zoho_raw.contacts where user_id = %s order by 1",
                org.user_id) == before


def test_incremental_run_fetches_only_changed_records(env):
    sb, uri = env
    org = org_of(sb, 0)
    org_id = org.organization_id
    sb.clock.advance(3600)
    customers = live_customers(sb, org)
    changed_contacts = customers[:7]
    for c in changed_contacts:
        sb.update_contact(org_id, c["contact_id"], contact_name=c["contact_name"] + " (renamed)")
    changed_invoices = sb.invoices(org_id)[:250]
    for inv in changed_invoices:
        sb.update_invoice(org_id, inv["invoice_id"], reference_number="changed")
    sb.reset_calls()
    result, client = sync(sb, uri, org, "incremental")
    contacts, invoices = result.entities
    assert contacts.fetched >= len(changed_contacts)
    assert contacts.fetched < len(customers) / 4
    assert invoices.fetched >= len(changed_invoices)
    list_calls = client.stats.calls_by_endpoint
    assert list_calls.get("list_contacts", 0) <= math.ceil(len(changed_contacts) / 200) + 1
    assert list_calls.get("list_invoices", 0) <= math.ceil(len(changed_invoices) / 200) + 1
    needing = [c for c in changed_contacts if needs_contact_persons(c, org.country)]
    assert contacts.person_calls == len(needing)
    names = dict(rows(uri, "select contact_id, payload->>'contact_name' from zoho_raw.contacts where user_id = %s",
                      org.user_id))
    assert all(names[c["contact_id"]].endswith("(renamed)") for c in changed_contacts)


def test_incremental_never_flags_deletions_and_nightly_does(env):
    sb, uri = env
    org = org_of(sb, 1)
    org_id = org.organization_id
    victim_contact = live_customers(sb, org)[3]["contact_id"]
    victim_invoice = sb.invoices(org_id)[5]["invoice_id"]
    sb.delete_contact(org_id, victim_contact)
    sb.delete_invoice(org_id, victim_invoice)
    sync(sb, uri, org, "incremental")
    assert scalar(uri, "select is_deleted from zoho_raw.contacts where user_id = %s and contact_id = %s",
                  org.user_id, victim_contact) is False
    result, _ = sync(sb, uri, org, "full")
    assert [e.deleted for e in result.entities] == [1, 1]
    assert scalar(uri, "select is_deleted from zoho_raw.contacts where user_id = %s and contact_id = %s",
                  org.user_id, victim_contact) is True
    assert scalar(uri, "select is_deleted from zoho_raw.invoices where user_id = %s and invoice_id = %s",
                  org.user_id, victim_invoice) is True


def test_listing_that_fails_halfway_flags_nothing_and_a_retry_converges(env):
    sb, uri = env
    org = org_of(sb, 1)
    org_id = org.organization_id
    victim = sb.invoices(org_id)[10]["invoice_id"]
    sb.delete_invoice(org_id, victim)
    sb.clock.advance(60)
    renamed = sb.invoices(org_id)[-1]["invoice_id"]
    sb.update_invoice(org_id, renamed, reference_number="late change")
    # the invoice listing breaks on page 3 for longer than the client retries
    sb.faults.add("http_500", count=50, path_prefix="/books/v3/invoices", org_id=org_id, after=2)
    with pytest.raises(errors.ServerError) as info:
        sync(sb, uri, org, "full", max_retries=2)
    assert org.user_id in str(info.value)
    assert scalar(uri, "select is_deleted from zoho_raw.invoices where user_id = %s and invoice_id = %s",
                  org.user_id, victim) is False
    status, error = rows(uri, "select status, last_error from zoho_sync.sync_metadata where user_id = %s "
                              "and entity = 'invoices'", org.user_id)[0]
    assert status == "failed" and "ServerError" in error
    sb.faults.clear()
    sync(sb, uri, org, "full")
    assert scalar(uri, "select is_deleted from zoho_raw.invoices where user_id = %s and invoice_id = %s",
                  org.user_id, victim) is True
    assert scalar(uri, "select payload->>'reference_number' from zoho_raw.invoices where user_id = %s "
                       "and invoice_id = %s", org.user_id, renamed) == "late change"
    live = {i["invoice_id"] for i in sb.invoices(org_id)}
    landed = {r[0] for r in rows(uri, "select invoice_id from zoho_raw.invoices where user_id = %s and not is_deleted",
                                 org.user_id)}
    assert landed == live


def test_a_tenant_locked_by_another_run_of_the_same_kind_is_not_synced_twice(env):
    sb, uri = env
    org = org_of(sb, 0)
    holder = warehouse.connect(uri, autocommit=True)
    try:
        holder.execute("select pg_advisory_lock(hashtextextended(%s, 0))", (f"zoho_sync:{org.user_id}:incremental",))
        client = client_for(sb, org)
        with pytest.raises(TenantBusyError, match=org.user_id):
            sync_tenant(client, uri, Tenant(org.user_id, org.country), "incremental", lock_timeout_s=1)
        assert client.stats.total_calls == 0
    finally:
        holder.close()


def test_an_incremental_run_is_not_held_up_by_a_nightly_sweep_of_the_tenant(env):
    sb, uri = env
    org = org_of(sb, 0)
    holder = warehouse.connect(uri, autocommit=True)
    try:
        holder.execute("select pg_advisory_lock(hashtextextended(%s, 0))", (f"zoho_sync:{org.user_id}:full",))
        client = client_for(sb, org)
        result = sync_tenant(client, uri, Tenant(org.user_id, org.country), "incremental", lock_timeout_s=1)
        assert [e.entity for e in result.entities] == ["contacts", "invoices"]
        assert client.stats.total_calls > 0
        with pytest.raises(TenantBusyError, match="another full run"):
            sync_tenant(client_for(sb, org), uri, Tenant(org.user_id, org.country), "full", lock_timeout_s=1)
    finally:
        holder.close()


def test_two_runs_started_together_serialise_on_the_tenant_lock(env):
    sb, uri = env
    org = org_of(sb, 0)
    outcomes: list = []

    def run():
        try:
            outcomes.append(sync(sb, uri, org, "full")[0])
        except Exception as exc:  # pragma: no cover - shown in the assertion
            outcomes.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert all(not isinstance(o, Exception) for o in outcomes), outcomes
    assert len(outcomes) == 2
    assert scalar(uri, "select count(*) from zoho_raw.contacts where user_id = %s", org.user_id) == \
        scalar(uri, "select count(distinct contact_id) from zoho_raw.contacts where user_id = %s", org.user_id)


def test_bad_refresh_token_fails_with_a_message_naming_the_tenant(env):
    sb, uri = env
    org = org_of(sb, 0)
    with pytest.raises(errors.AuthenticationError) as info:
        sync(sb, uri, org, "incremental", refresh_token="1000.not-a-valid-token")
    assert org.user_id in str(info.value)
    assert "1000.not-a-valid-token" not in str(info.value)


def test_wrong_organisation_fails_with_a_clear_error(env):
    sb, uri = env
    org = org_of(sb, 0)
    with pytest.raises(errors.WrongOrganizationError, match=org.user_id):
        sync(sb, uri, org, "incremental", organization_id="999999999")


def test_unreadable_records_are_quarantined_and_the_rest_loads(env):
    sb, uri = env
    org = org_of(sb, 0)
    org_id = org.organization_id
    sb.clock.advance(120)
    bad_amount, bad_date, good = [i["invoice_id"] for i in sb.invoices(org_id)[20:23]]
    sb.update_invoice(org_id, bad_amount, total="12,5O")
    sb.update_invoice(org_id, bad_date, due_date="31/02/2026")
    sb.update_invoice(org_id, good, reference_number="fine")
    result, _ = sync(sb, uri, org, "incremental")
    assert result.entities[1].rejected == 2
    rejected = dict(rows(uri, "select zoho_id, reason from zoho_sync.rejected_records where user_id = %s "
                              "and entity = 'invoices'", org.user_id))
    assert "total" in rejected[bad_amount] and "due_date" in rejected[bad_date]
    assert scalar(uri, "select payload->>'reference_number' from zoho_raw.invoices where user_id = %s "
                       "and invoice_id = %s", org.user_id, good) == "fine"
    # a retry does not duplicate the quarantine rows
    sync(sb, uri, org, "incremental")
    assert scalar(uri, "select count(*) from zoho_sync.rejected_records where user_id = %s and zoho_id = any(%s)",
                  org.user_id, [bad_amount, bad_date]) == 2


def test_invoice_whose_customer_does_not_exist_is_kept_and_counted(env):
    sb, uri = env
    org = org_of(sb, 0)
    org_id = org.organization_id
    sb.clock.advance(60)
    orphan = sb.add_invoice(org_id, customer_id="9999999999999", customer_name="Ghost Ltd")
    result, _ = sync(sb, uri, org, "incremental")
    assert scalar(uri, "select customer_id from zoho_raw.invoices where user_id = %s and invoice_id = %s",
                  org.user_id, orphan) == "9999999999999"
    assert scalar(uri, "select count(*) from zoho_raw.missing_contacts where user_id = %s and contact_id = %s",
                  org.user_id, "9999999999999") == 1
    assert result.entities[1].missing_customers >= 1
    assert scalar(uri, "select missing_customers from zoho_sync.sync_metadata where user_id = %s "
                       "and entity = 'invoices'", org.user_id) == result.entities[1].missing_customers
