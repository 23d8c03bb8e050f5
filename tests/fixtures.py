"""Fixtures shared across test areas (the Zoho Books sandbox and friends)."""
from __future__ import annotations

import pytest

from zoho_sandbox import Sandbox

SMALL = {"seed": 7, "orgs": 2, "contacts_per_org": 150, "invoices_per_org": 900}


@pytest.fixture(scope="module")
def sandbox():
    """A running sandbox shared by one test module: two organisations, small data, Zoho's default
    limits on (100/min, 1000/day, 10 in flight). Tests that change its state should undo it or use
    ``sandbox_factory``."""
    with Sandbox(**SMALL) as sb:
        yield sb


@pytest.fixture(scope="module")
def sandbox_factory():
    """``sandbox_factory(**options)`` -> a started ``Sandbox`` (defaults: small data, two orgs, seed 7);
    every sandbox it made is stopped when the module's tests are done. Module-scoped so that
    module-scoped fixtures can build on it."""
    made: list[Sandbox] = []

    def make(**options) -> Sandbox:
        sb = Sandbox(**{**SMALL, **options}).start()
        made.append(sb)
        return sb

    yield make
    for sb in made:
        sb.stop()
