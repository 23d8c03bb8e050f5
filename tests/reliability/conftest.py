"""Fixtures of the fault suite."""
from __future__ import annotations

import pytest

from .dagrun import whole_run as _whole_run


@pytest.fixture(scope="session")
def whole_run(make_database):
    """The suite's one whole-DAG run (tests/reliability/dagrun.py), shared with tests/security."""
    return _whole_run(make_database)
