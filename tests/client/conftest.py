"""Fixtures of the client tests: fresh shared state per test, clients pointed at the sandbox."""
from __future__ import annotations

import time

import pytest

from zoho.books.auth import reset_shared_token_sources
from zoho.books.client import ZohoBooksClient
from zoho.books.ratelimit import reset_shared_limiters


@pytest.fixture(autouse=True)
def _fresh_shared_state():
    """No limiter history and no cached token carried over from an earlier test."""
    reset_shared_limiters()
    reset_shared_token_sources()
    yield
    reset_shared_limiters()
    reset_shared_token_sources()


@pytest.fixture
def sb(sandbox):
    """The module's sandbox with its counters, limits and faults cleared for this test."""
    sandbox.faults.clear()
    sandbox.reset_limits()
    sandbox.reset_calls()
    yield sandbox
    sandbox.faults.clear()


def client_for(sandbox, org=0, **overrides) -> ZohoBooksClient:
    """A client for one of the sandbox's organisations. Backoff is shortened so retry tests are
    quick; everything else is the production default unless overridden."""
    o = sandbox.org(org)
    settings = dict(
        client_id=o.client_id,
        client_secret=o.client_secret,
        refresh_token=o.refresh_token,
        organization_id=o.organization_id,
        api_base_url=sandbox.url,
        accounts_url=sandbox.url,
        tenant=o.user_id,
        backoff_base=0.01,
        timeout=10,
    )
    settings.update(overrides)
    return ZohoBooksClient(**settings)


@pytest.fixture
def make_client():
    made: list[ZohoBooksClient] = []

    def make(sandbox, org=0, **overrides) -> ZohoBooksClient:
        client = client_for(sandbox, org, **overrides)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def settled(sandbox, quiet: float = 0.05, timeout: float = 3.0):
    """The sandbox, once its call log has stopped growing.

    The sandbox appends a request to ``calls`` only after it has written the answer, so a client
    can return before its last request is logged; counting right away would miss it.
    """
    deadline = time.monotonic() + timeout
    last = -1
    while time.monotonic() < deadline:
        count = len(sandbox.calls)
        if count == last:
            break
        last = count
        time.sleep(quiet)
    return sandbox
