"""Data centre -> hosts (docs/ZOHO_API.md §1.1, §2.1) and their overrides."""
from __future__ import annotations

import pytest

from zoho.books import regions
from zoho.books.errors import ConfigurationError


@pytest.mark.parametrize(
    ("region", "accounts", "api"),
    [
        ("com", "https://accounts.zoho.com", "https://www.zohoapis.com"),
        ("eu", "https://accounts.zoho.eu", "https://www.zohoapis.eu"),
        ("in", "https://accounts.zoho.in", "https://www.zohoapis.in"),
        ("com.au", "https://accounts.zoho.com.au", "https://www.zohoapis.com.au"),
        ("jp", "https://accounts.zoho.jp", "https://www.zohoapis.jp"),
        ("ca", "https://accounts.zohocloud.ca", "https://www.zohoapis.ca"),
        ("com.cn", "https://accounts.zoho.com.cn", "https://www.zohoapis.com.cn"),
        ("sa", "https://accounts.zoho.sa", "https://www.zohoapis.sa"),
    ],
)
def test_resolve_maps_each_region_to_its_hosts(region, accounts, api):
    assert regions.resolve(region) == (accounts, api)


def test_resolve_defaults_to_com_when_region_missing():
    assert regions.resolve(None) == ("https://accounts.zoho.com", "https://www.zohoapis.com")


def test_resolve_prefers_explicit_roots_and_strips_pasted_suffixes():
    assert regions.resolve("eu", "http://127.0.0.1:8000/books/v3/", "http://127.0.0.1:8000/oauth/v2/token") == (
        "http://127.0.0.1:8000",
        "http://127.0.0.1:8000",
    )


def test_resolve_rejects_an_unknown_region():
    with pytest.raises(ConfigurationError, match="unknown Zoho region 'uk'"):
        regions.resolve("uk")
