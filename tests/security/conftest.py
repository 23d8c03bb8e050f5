"""Fixtures of the security tests."""
from __future__ import annotations

import pytest

from tests.reliability.dagrun import whole_run as _whole_run


@pytest.fixture(scope="session")
def whole_run(make_database):
    """The whole-DAG run of tests/reliability/dagrun.py (run once per session, memoised there)."""
    return _whole_run(make_database)
