"""The ``zoho_tenants`` setting: unset means the default tenant; anything else is validated."""
from __future__ import annotations

import pytest

from zoho.sync.tenants import TenantConfigError, parse_tenants


@pytest.mark.parametrize("raw", [None, "", "   "])
def test_unset_means_the_default_tenant(raw):
    assert parse_tenants(raw) == [{"user_id": "default", "conn_id": "zoho_books_default"}]


def test_text_and_parsed_lists_give_the_same_tenants():
    text = '[{"user_id": "acme", "conn_id": "zoho_books_acme"}, {"user_id": "brit"}]'
    expected = [{"user_id": "acme", "conn_id": "zoho_books_acme"}, {"user_id": "brit", "conn_id": "zoho_books_default"}]
    assert parse_tenants(text) == expected
    assert parse_tenants([{"user_id": "acme", "conn_id": "zoho_books_acme"}, {"user_id": "brit"}]) == expected


@pytest.mark.parametrize("raw,message", [
    ("[{", "Variable zoho_tenants is not valid JSON"),
    ('{"user_id": "acme"}', "Variable zoho_tenants must be a JSON list of"),
    ("[]", "Variable zoho_tenants must be a non-empty JSON list of"),
    ('["acme"]', "zoho_tenants[0] is not an object"),
    ('[{"user_id": ""}]', "zoho_tenants[0].user_id must be a non-empty string"),
    ('[{"user_id": "a", "conn_id": "bad id!"}]', "zoho_tenants[0].conn_id 'bad id!' is not a valid Airflow"),
    ('[{"user_id": "a"}, {"user_id": "a"}]', "zoho_tenants lists user_id 'a' twice"),
])
def test_a_bad_setting_is_an_error_naming_what_to_fix(raw, message):
    with pytest.raises(TenantConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_tenants(raw)
