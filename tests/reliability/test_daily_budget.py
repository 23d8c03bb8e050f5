"""The organisation's daily API budget runs out mid-run (``sync_tenant`` against the sandbox).

Expected, as a user would: not a failure but a clean stop, with the reason and the reset time in
``sync_metadata`` and in the organisation's ledger (``zoho_sync.api_budget``); nothing committed is
lost and no watermark moves past what was committed; no request is made until Zoho's day resets
(no retry loop, no code-45 answer the product could foresee); the next run after the reset resumes
where the stopped one stopped (contacts from their advanced watermark, invoices from their unmoved
one) and the raw tables then equal those of a tenant that never hit the limit, changes made in
between included. The sandbox's clock is moved to a few seconds before the organisation's midnight,
so that Zoho's reset moment (``X-Rate-Limit-Reset``) comes within the test.
"""
from __future__ import annotations

import time
from datetime import datetime, timezone

import pytest

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


def metadata(uri, label, entity):
    return rows(uri, "select status, stop_reason, last_error from zoho_sync.sync_metadata "
                     "where user_id = %s and entity = %s", label, entity)[0]


def close_to_midnight(sb, org, seconds=4.0):
    """Move the sandbox's clock to ``seconds`` before the organisation's local midnight: Zoho's day
    (and its X-Rate-Limit-Reset) ends then."""
    sb.clock.advance(max(0.0, sb.usage(org)["reset"] - seconds))


def wait_for_reset(result):
    """Until the reset moment the ledger learnt from Zoho has passed."""
    resets_at = datetime.fromisoformat(result.budget["resets_at"])
    time.sleep(max(0.0, (resets_at - datetime.now(timezone.utc)).total_seconds()) + 0.5)


def test_budget_exhausted_mid_listing_then_the_next_run_resumes(env):
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
    close_to_midnight(sb, org)

    # Zoho answers code 45 from the second page of the invoice listing on (another integration spent
    # the day): a clean stop, not a failure
    ratelimit.reset_shared_limiters()
    sb.reset_calls()
    sb.faults.add("daily_45", count=None, path_prefix=INVOICES, org_id=oid, after=1)
    result, _ = sync(sb, uri, org, "incremental", label="limited")
    assert result.stopped == "zoho_budget_exhausted"
    assert [e.stopped for e in result.entities] == [None, "zoho_budget_exhausted"]
    assert result.budget["zoho_remaining"] == 0 and result.budget["resets_at"] is not None
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
    assert metadata(uri, "limited", "contacts")[:2] == ("success", None)
    status, reason, detail = metadata(uri, "limited", "invoices")
    assert (status, reason) == ("stopped", "zoho_budget_exhausted")
    assert "[tenant limited]" in detail and "resets at" in detail
    assert scalar(uri, "select stop_reason from zoho_sync.api_budget") == "zoho_budget_exhausted"
    renamed = rows(uri, "select count(*) from zoho_raw.contacts where user_id = %s "
                        "and payload->>'contact_name' like '%%(renamed)'", "limited")[0][0]
    assert renamed == 4  # the contacts' changes were committed
    landed = scalar(uri, "select count(*) from zoho_raw.invoices where user_id = %s "
                         "and payload->>'reference_number' = 'changed before the limit'", "limited")
    assert landed == 200  # the first page, paid for before the stop, landed

    # asking again before the reset makes no request at all (no retry loop), in a new process too
    ratelimit.reset_shared_limiters()
    calls = len(sb.calls)
    again, _ = sync(sb, uri, org, "incremental", label="limited")
    assert again.stopped == "zoho_budget_exhausted" and len(sb.calls) == calls
    sb.faults.clear()

    # meanwhile Zoho keeps changing
    late_invoice = changed_invoices[-1]
    sb.update_invoice(org, late_invoice, reference_number="changed while the budget was spent")
    late_contact = customers[10]["contact_id"]
    sb.update_contact(org, late_contact, contact_name="Changed While Limited")

    # Zoho's day resets (a new worker process for the next task run)
    wait_for_reset(result)
    ratelimit.reset_shared_limiters()
    sb.reset_calls()
    result, client = sync(sb, uri, org, "incremental", label="limited")
    assert result.stopped is None
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
    assert metadata(uri, "limited", "invoices")[:2] == ("success", None)

    # and converged: the raw tables equal those of a tenant that never hit the limit
    sync(sb, uri, org, "incremental", label="never-limited")
    assert_same_state(raw_state(uri, "limited"), raw_state(uri, "never-limited"))


def test_the_budget_tracked_from_the_headers_stops_the_client_before_zoho_refuses(env):
    """The sandbox's own daily limit (no injected fault): the ledger counts down
    ``X-Rate-Limit-Remaining`` and stops the run, with the reset time, before a 429."""
    sb, uri, org = env
    ratelimit.reset_shared_limiters()
    sb.reset_limits(org)
    sb.reset_calls()
    sb.clock.advance(60)
    for inv in sb.invoices(org)[:300]:
        sb.update_invoice(org, inv["invoice_id"], reference_number="budget test")
    close_to_midnight(sb, org)
    old_limit = sb.daily_limit
    sb.daily_limit = 2  # the contact listing and one invoice page, then the budget is spent
    try:
        result, _ = sync(sb, uri, org, "incremental", label="limited")
    finally:
        sb.daily_limit = old_limit
    # the ledger's share (the plan's 2 calls, less the one kept for a sweep's day probe) or Zoho's
    # remaining calls at 0: either way the run stopped itself
    assert result.stopped in ("budget_spent", "zoho_budget_exhausted"), result
    assert result.budget["plan_limit"] == 2 and result.budget["resets_at"] is not None
    assert sb.usage(org)["today"] <= 2
    assert sb.call_count(status=429) == 0  # stopped before Zoho had to refuse
    wait_for_reset(result)
    ratelimit.reset_shared_limiters()
    assert sync(sb, uri, org, "incremental", label="limited")[0].stopped is None
    # the sandbox's date moved (its midnight passed), which changes invoices' statuses without a new
    # last_modified_time: a full pass of each tenant reads today's Zoho for both
    for label in ("limited", "never-limited"):
        assert sync(sb, uri, org, "full", label=label)[0].stopped is None
    assert_same_state(raw_state(uri, "limited"), raw_state(uri, "never-limited"))
