"""Token lifetime parsing (docs/ZOHO_API.md §1.2: old Zoho responses gave expires_in in milliseconds).

The token cache, refresh and error paths are exercised against the sandbox in test_client.py."""
from __future__ import annotations

import pytest

from zoho.books.auth import expires_in_seconds


@pytest.mark.parametrize(("raw", "seconds"), [(3600, 3600.0), ("3600", 3600.0), (3600000, 3600.0), (None, 3600.0)])
def test_expires_in_seconds_reads_large_values_as_milliseconds(raw, seconds):
    assert expires_in_seconds(raw) == seconds
