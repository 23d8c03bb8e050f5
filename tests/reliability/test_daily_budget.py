"""The organisation's daily API budget runs out mid-run (``sync_tenant`` against the sandbox).

Expected, as a user would: a clear, non-retried error naming the tenant and when the budget
resets; nothing committed is lost and no watermark moves past what was committed; no request is
made until the reset (no retry loop); the next run, after the reset, resumes where the failed one
stopped (contacts from their advanced watermark, invoices from their unmoved one) and the raw
tables then equal those of a tenant that never hit the limit, changes made in between included.
"""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from zoho.books import errors
from zoho.books import ratelimit
from zoho.books.client import parse_timestamp
from zoho.sync.extract import OVERLAP

from tests.helpers import rows, scalar, sync
from .helpers import assert_same_state, raw_state

pytestmark = [pytest.mark.integration]

INVOICES = "/books/v3/invoices"


@pytest.fixture(scope="module")
def env(sandbox_factory, make_database):
    # a daily budget far from binding on its own, so every answer carries X-Rate-Limit-* (and the
    # 429 too: rate_headers_on_429), as Zoho's do
    sb = sandbox_factory(seed=41, orgs=1, contacts_per_org=60, invoices_per_org=450, per_minute_limit=None,
                         daily_limit=100_000, max_concurrent=None, rate_headers_on_429=True)
    uri = make_database("budget")
    org = sb.organizations[0]
    for label in ("never-limited", "limited"):
        sync(sb, uri, org, "full", label=label)
    assert_same_state(raw_state(uri, "limited"), raw_state(uri, "never-limited"))
    return sb, uri, org


def watermarks(uri, label):
    return dict(rows(uri, "select entity, watermark from zoho_sync.sync_metadata where user_id = %s", label))


def test_budget_exhausted_mid_listing_then_the_next_run_resumes(env):
    from zoho.airflow.tasks import NOT_RETRYABLE  # the extract task fails these at once, without retry

    sb, uri, org = env
    oid = org.organization_id
    sb.clock.advance(3600)
    customers = [c for c in sb.contacts(org) if c["contact_type"] == "customer"]
    for c in customers[:4]:
        sb.update_contact(org, c["contact_id"], contact_name=c["contact_name"] + " (renamed)")
    changed_invoices = [i["invoice_id"] for i in sb.invoices(org)[:260]]  # two pages of changes
    for iid in changed_invoices:
        sb.update_invoice(org, iid, reference_number="changed before the limit")
    before = watermarks(uri, "limited")

    # Zoho answers code 45 from the second page of the invoice listing on (budget spent)
    ratelimit.reset_shared_limiters()
    sb.reset_calls()
    sb.faults.add("daily_45", count=None, path_prefix=INVOICES, org_id=oid, after=1)
    with pytest.raises(errors.DailyBudgetExhaustedError) as info:
        sync(sb, uri, org, "incremental", label="limited")
    err = info.value
    assert isinstance(err, NOT_RETRYABLE)
    assert "[tenant limited]" in str(err)
    assert err.resets_at is not None and err.resets_at > datetime.now(timezone.utc)
    assert f"resets at {err.resets_at.isoformat(timespec='seconds')}" in str(err)
    assert sb.call_count(INVOICES, status=429) == 1  # the client did not retry code 45

    # nothing is lost and no watermark passed what was committed: the contacts finished (their
    # watermark moved to their newest committed change), the invoices did not (theirs did not move)
    after = watermarks(uri, "limited")
    newest_contact = scalar(uri, "select max(last_modified_time) from zoho_raw.contacts where user_id = %s",
                            "limited")
    assert after["contacts"] == newest_contact > before["contacts"]
    assert after["invoices"] == before["invoices"]
    assert after["invoices"] <= scalar(uri, "select max(last_modified_time) from zoho_raw.invoices "
                                            "where user_id = %s", "limited")
    status, last_error = rows(uri, "select status, last_error from zoho_sync.sync_metadata where user_id = %s "
                                   "and entity = 'invoices'", "limited")[0]
    assert status == "failed" and "DailyBudgetExhaustedError" in last_error and "limited" in last_error
    renamed = rows(uri, "select count(*) from zoho_raw.contacts where user_id = %s "
                        "and payload->>'contact_name' like '%%(renamed)'", "limited")[0][0]
    assert renamed == 4  # the contacts' changes were committed

    # the same process asking again before the reset makes no request at all (no retry loop)
    calls = len(sb.calls)
    with pytest.raises(errors.DailyBudgetExhaustedError, match="no request made"):
        sync(sb, uri, org, "incremental", label="limited")
    assert len(sb.calls) == calls
    sb.faults.clear()

    # meanwhile Zoho keeps changing
    sb.clock.advance(600)
    late_invoice = changed_invoices[-1]
    sb.update_invoice(org, late_invoice, reference_number="changed while the budget was spent")
    late_contact = customers[10]["contact_id"]
    sb.update_contact(org, late_contact, contact_name="Changed While Limited")

    # the budget resets (a new day in Zoho; a new worker process for the next task run)
    sb.reset_limits(org)
    ratelimit.reset_shared_limiters()
    sb.reset_calls()
    result, client = sync(sb, uri, org, "incremental", label="limited")
    contacts, invoices = result.entities
    # it resumed where it stopped: the contacts changed since their advanced watermark (minus the
    # overlap), not the whole listing; every invoice changed since their unmoved watermark
    since = after["contacts"] - OVERLAP
    expected = [c for c in sb.contacts(org) if c["contact_type"] == "customer"
                and parse_timestamp(c["last_modified_time"]) >= since]
    assert contacts.fetched == len(expected) == 5  # the 4 renamed (overlap) and the late one
    assert invoices.fetched >= len(changed_invoices)
    assert client.stats.calls_by_endpoint["contacts"] == 1
    assert scalar(uri, "select payload->>'reference_number' from zoho_raw.invoices where user_id = %s "
                       "and invoice_id = %s", "limited", late_invoice) == "changed while the budget was spent"

    # and converged: the raw tables equal those of a tenant that never hit the limit
    sync(sb, uri, org, "incremental", label="never-limited")
    assert_same_state(raw_state(uri, "limited"), raw_state(uri, "never-limited"))


def test_the_budget_tracked_from_the_headers_stops_the_client_before_zoho_refuses(env):
    """The sandbox's own daily limit (no injected fault): the client counts down
    ``X-Rate-Limit-Remaining`` and stops itself, with the reset time, before a 429."""
    sb, uri, org = env
    ratelimit.reset_shared_limiters()
    sb.reset_limits(org)
    sb.reset_calls()
    sb.clock.advance(60)
    for inv in sb.invoices(org)[:300]:
        sb.update_invoice(org, inv["invoice_id"], reference_number="budget test")
    old_limit = sb.daily_limit
    sb.daily_limit = 2  # the contact listing and one invoice page, then the budget is spent
    try:
        with pytest.raises(errors.DailyBudgetExhaustedError) as info:
            sync(sb, uri, org, "incremental", label="limited")
    finally:
        sb.daily_limit = old_limit
    assert "[tenant limited]" in str(info.value) and info.value.resets_at is not None
    assert sb.call_count(status=429) == 0  # the client stopped itself
    ratelimit.reset_shared_limiters()
    sb.reset_limits(org)
    sync(sb, uri, org, "incremental", label="limited")
    sync(sb, uri, org, "incremental", label="never-limited")
    assert_same_state(raw_state(uri, "limited"), raw_state(uri, "never-limited"))
