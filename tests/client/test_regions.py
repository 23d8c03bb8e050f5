"""Data centre -> hosts (facts doc §1.1, §2.1), overrides, timestamps and the error type."""
from __future__ import annotations

import pickle
from datetime import datetime, timedelta, timezone

import pytest

from zoho import regions
from zoho.auth import expires_in_seconds
from zoho.client import format_timestamp, parse_timestamp
from zoho.errors import ConfigurationError, DailyBudgetExhaustedError, NotFoundError


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


@pytest.mark.parametrize(
    ("raw", "offset"),
    [
        ("2013-11-18T02:02:51+0530", timedelta(hours=5, minutes=30)),
        ("2013-11-18T02:02:51-0800", timedelta(hours=-8)),
        ("2013-11-18T02:02:51+05:30", timedelta(hours=5, minutes=30)),
        ("2013-11-18T02:02:51Z", timedelta(0)),
    ],
)
def test_parse_timestamp_reads_zoho_offsets(raw, offset):
    assert parse_timestamp(raw) == datetime(2013, 11, 18, 2, 2, 51, tzinfo=timezone(offset))
    assert parse_timestamp(raw).utcoffset() == offset


@pytest.mark.parametrize("raw", ["", " ", "2013-11-18", "2013-11-18T02:02:51", "yesterday"])
def test_parse_timestamp_rejects_what_is_not_an_aware_timestamp(raw):
    with pytest.raises(ValueError):
        parse_timestamp(raw)


def test_format_timestamp_writes_offset_without_colon():
    tz = timezone(timedelta(hours=-8))
    assert format_timestamp(datetime(2024, 1, 2, 3, 4, 5, 999, tzinfo=tz)) == "2024-01-02T03:04:05-0800"


def test_format_timestamp_reads_naive_values_as_utc():
    assert format_timestamp(datetime(2024, 1, 2, 3, 4, 5)) == "2024-01-02T03:04:05+0000"
    assert format_timestamp("2024-01-02T03:04:05+05:30") == "2024-01-02T03:04:05+0530"


@pytest.mark.parametrize(("raw", "seconds"), [(3600, 3600.0), ("3600", 3600.0), (3600000, 3600.0), (None, 3600.0)])
def test_expires_in_seconds_reads_large_values_as_milliseconds(raw, seconds):
    assert expires_in_seconds(raw) == seconds


def test_error_message_names_tenant_endpoint_status_and_code():
    err = NotFoundError("not found: Contact does not exist.", tenant="acme", endpoint="contact", status=404, code=1002)
    assert str(err) == "[tenant acme] contact: not found: Contact does not exist. (HTTP 404, code 1002)"


def test_error_survives_pickling_with_its_fields():
    resets = datetime(2030, 1, 1, tzinfo=timezone.utc)
    err = DailyBudgetExhaustedError("daily budget", resets_at=resets, tenant="acme", endpoint="invoices", code=45)
    copy = pickle.loads(pickle.dumps(err))
    assert (str(copy), copy.resets_at, copy.code) == (str(err), resets, 45)
