"""API faults during extraction (sandbox over real sockets, real Postgres), driving ``sync_tenant``.

What is compared: the raw tables (``zoho_raw.*``) and the sync state (``zoho_sync.sync_metadata``,
``zoho_sync.rejected_records``), not the marts: these faults happen in extraction, and the marts
are a deterministic function of the raw tables (dbt reads nothing else), so equal raw tables give
equal marts. tests/reliability/test_dag_faults.py does the comparison on the marts for faults
injected into a whole DAG run.

Every faulted sync lands under a tenant label of its own in one database, next to a clean sync of
the same organisation ("clean"); after the retries, its rows must equal the clean ones checksum for
checksum (load timestamps aside). Two shapes per fault:

- a burst the client absorbs (fewer consecutive failures than its retries): the run succeeds, the
  client's retries are visible in its stats;
- an outage longer than the client's retries: the task fails with a *retryable* typed error that
  names the tenant (Airflow retries it, ``retries=2``), nothing half-done is flagged or advanced,
  and the retry converges.
"""
from __future__ import annotations

import pytest

from zoho.books import errors

from tests.helpers import rows, scalar, sync
from .helpers import assert_same_state, raw_state

pytestmark = [pytest.mark.integration]

# 70 contacts (1 page, ~30 persons calls), 460 invoices (3 pages of 200/200/60)
SIZE = {"seed": 31, "orgs": 1, "contacts_per_org": 70, "invoices_per_org": 460}
INVOICES = "/books/v3/invoices"
CONTACT_LISTING = "/books/v3/contacts"  # prefix: the listing, the detail and the persons calls
PERSONS = "/books/v3/contacts/"  # detail and persons calls only


@pytest.fixture(scope="module")
def env(sandbox_factory, make_database):
    sb = sandbox_factory(**SIZE, per_minute_limit=None, daily_limit=None, max_concurrent=None)
    uri = make_database("faults")
    org = sb.organizations[0]
    sync(sb, uri, org, "full", label="clean")
    clean = raw_state(uri, "clean")
    assert len(clean["zoho_raw.invoices"]) == SIZE["invoices_per_org"]
    assert clean["zoho_raw.contact_persons"], "the data must make the sync fetch contact persons"
    return sb, uri, org, clean


# kind -> (fault options, client overrides). Each burst is shorter than the client's 4 retries.
BURSTS = {
    "throttle_44": (dict(count=3, path_prefix=INVOICES, after=1), {}),
    "throttle_1070": (dict(count=3, path_prefix=PERSONS, after=4), {}),
    "http_500": (dict(count=3, path_prefix=INVOICES, after=2), {}),
    "http_503": (dict(count=3, path_prefix=CONTACT_LISTING, after=0), {}),
    "drop": (dict(count=3, path_prefix=PERSONS, after=2), {}),
    "drop_mid_body": (dict(count=3, path_prefix=INVOICES, after=1), {}),
    # the answer comes after 2.5 s, the client gives up after 1 s and asks again
    "slow": (dict(count=2, path_prefix=INVOICES, after=1, delay=2.5), {"timeout": 1.0}),
    # every access token issued so far dies mid-run (the 11th request gets 401 code 57)
    "expire_tokens": (dict(count=1, after=10), {}),
}


@pytest.mark.parametrize("kind", sorted(BURSTS))
def test_a_burst_the_client_absorbs_leaves_the_same_rows_as_a_clean_run(env, kind):
    sb, uri, org, clean = env
    options, overrides = BURSTS[kind]
    label = f"burst-{kind}"
    sb.reset_calls()
    fault = sb.faults.add(kind, org_id=org.organization_id, **options)
    try:
        result, client = sync(sb, uri, org, "full", label=label, **overrides)
    finally:
        sb.faults.clear()
    fired = fault.fired
    assert fired == options["count"], f"the fault fired {fired} times"
    stats = client.stats
    if kind == "expire_tokens":
        assert stats.token_refreshes >= 1 and stats.retries >= 1  # one refresh, the request repeated
    else:
        assert stats.retries >= fired
    assert [e.entity for e in result.entities] == ["contacts", "invoices"]
    assert_same_state(raw_state(uri, label), clean)


# An outage: the fault lasts longer than the client's retries (max_retries=1 here, to keep it short).
OUTAGES = {
    "throttle_44": errors.ThrottledError,
    "throttle_1070": errors.ThrottledError,
    "http_500": errors.ServerError,
    "http_503": errors.ServerError,
    "drop": errors.ZohoConnectionError,
    "drop_mid_body": errors.ZohoConnectionError,
    "slow": errors.ZohoConnectionError,
}


@pytest.mark.parametrize("kind", sorted(OUTAGES))
def test_an_outage_fails_the_task_retryably_and_its_retry_converges(env, kind):
    from zoho.airflow.tasks import NOT_RETRYABLE  # the extract task's classification (Airflow import)

    sb, uri, org, clean = env
    label = f"outage-{kind}"
    overrides = {"max_retries": 1, "timeout": 1.0}
    # page 2 of the invoice listing fails on every attempt: the contacts are done by then
    sb.faults.add(kind, count=None, path_prefix=INVOICES, org_id=org.organization_id, after=1,
                  delay=2.0 if kind == "slow" else None)
    try:
        with pytest.raises(errors.ZohoError) as info:
            sync(sb, uri, org, "full", label=label, **overrides)
    finally:
        sb.faults.clear()
    err = info.value
    assert type(err) is OUTAGES[kind] and err.retryable  # Airflow retries the task (retries=2)
    assert not isinstance(err, NOT_RETRYABLE)
    assert label in str(err) and "gave up after 1 retries" in str(err)

    # what the failed try left: the contacts committed and their watermark moved; the invoices'
    # sync state says failed, with the error, and their watermark did not move
    partial = raw_state(uri, label)
    assert partial["zoho_raw.contacts"] == clean["zoho_raw.contacts"]
    meta = {r[0]: r[1:] for r in rows(uri, "select entity, status, watermark, last_error "
                                           "from zoho_sync.sync_metadata where user_id = %s", label)}
    assert meta["contacts"][0:2] == ("success", clean["zoho_sync.sync_metadata"]["contacts"][0])
    status, watermark, last_error = meta["invoices"]
    assert status == "failed" and watermark is None and type(err).__name__ in last_error
    assert scalar(uri, "select count(*) from zoho_raw.invoices where user_id = %s and is_deleted", label) == 0

    # the task's retry (same mode, fault over) converges to the clean run's rows
    sync(sb, uri, org, "full", label=label)
    assert_same_state(raw_state(uri, label), clean)


def test_the_token_expiring_again_right_after_its_refresh_is_a_credential_error_not_a_loop(env):
    """A token that dies, and whose replacement is refused too, means Zoho rejects these
    credentials: one refresh, then ``InvalidCredentialsError`` (not retried by the task)."""
    from zoho.airflow.tasks import NOT_RETRYABLE

    sb, uri, org, _ = env
    sb.reset_calls()
    fault = sb.faults.add("expire_tokens", count=2, path_prefix=INVOICES, org_id=org.organization_id)
    try:
        with pytest.raises(errors.InvalidCredentialsError) as info:
            sync(sb, uri, org, "incremental", label="expiry")
    finally:
        sb.faults.clear()
    assert isinstance(info.value, NOT_RETRYABLE)
    assert "[tenant expiry]" in str(info.value)
    assert sb.token_requests == 1  # one refresh, no loop
    assert fault.fired == 2
    sync(sb, uri, org, "incremental", label="expiry")  # the next run is fine (the fault is over)


def test_the_batch_size_does_not_change_what_lands(env, monkeypatch):
    """The nightly sweep commits a checkpoint with every batch of pages (10 by default); with a batch
    of one page, a failure leaves many committed batches behind. A mid-listing outage followed by
    the retry still converges, and the retry goes on from the checkpoint."""
    import zoho.sync.extract as extract
    import zoho.sync.nightly as nightly

    sb, uri, org, clean = env
    monkeypatch.setattr(extract, "BATCH_SIZE", 50)
    monkeypatch.setattr(nightly, "BATCH_PAGES", 1)
    label = "small-batches"
    # the open invoices' listing (one page here), then two pages of the sweep, then an outage
    sb.faults.add("http_500", count=None, path_prefix=INVOICES, org_id=org.organization_id, after=3)
    try:
        with pytest.raises(errors.ServerError):
            sync(sb, uri, org, "full", label=label, max_retries=0)
    finally:
        sb.faults.clear()
    # two pages (400 invoices) were committed page by page before page 3 failed; nothing flagged
    assert scalar(uri, "select next_page from zoho_sync.sweeps where user_id = %s and entity = 'invoices'",
                  label) == 3
    assert scalar(uri, "select count(*) from zoho_raw.invoices where user_id = %s", label) >= 400
    assert scalar(uri, "select count(*) from zoho_raw.invoices where user_id = %s and is_deleted", label) == 0
    assert scalar(uri, "select watermark from zoho_sync.sync_metadata where user_id = %s "
                       "and entity = 'invoices'", label) is None
    sb.reset_calls()
    sync(sb, uri, org, "full", label=label)
    pages = sorted(int(c.params["page"]) for c in sb.calls_matching(INVOICES, org_id=org.organization_id)
                   if c.params.get("sort_column") == "created_time")
    assert pages[0] == 2  # resumed one page before the checkpoint, not from page 1
    assert_same_state(raw_state(uri, label), clean)
