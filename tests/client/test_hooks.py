"""ZohoBooksHook: connection contract, lazy reading, secrets masking, test_connection."""
from __future__ import annotations

import json


from zoho.airflow.hooks import ZohoBooksHook

SECRET = "client-secret-0123456789"
REFRESH = "1000.refresh.token.abcdef0123456789"


def set_connection(monkeypatch, conn_id: str, **extra) -> None:
    conn = {
        "conn_type": "zoho_books",
        "login": "1000.CLIENTID",
        "password": SECRET,
        "extra": {"refresh_token": REFRESH, "organization_id": "10234695", **extra},
    }
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))


def test_hook_declares_the_connection_contract():
    assert (ZohoBooksHook.conn_name_attr, ZohoBooksHook.default_conn_name) == ("zoho_conn_id", "zoho_books_default")
    assert (ZohoBooksHook.conn_type, ZohoBooksHook.hook_name) == ("zoho_books", "Zoho Books")


def test_hook_init_reads_no_connection(monkeypatch):
    def boom(*args, **kwargs):
        raise AssertionError("connection read at construction")

    monkeypatch.setattr(ZohoBooksHook, "get_connection", classmethod(boom))
    hook = ZohoBooksHook(zoho_conn_id="zoho_lazy", tenant="acme")
    assert (hook.zoho_conn_id, hook.tenant) == ("zoho_lazy", "acme")


def test_get_client_uses_region_hosts_when_no_override(monkeypatch):
    set_connection(monkeypatch, "zoho_ca", region="ca")
    client = ZohoBooksHook("zoho_ca", tenant="acme").get_client()
    assert (client.accounts_url, client.api_base_url) == ("https://accounts.zohocloud.ca", "https://www.zohoapis.ca")
    assert (client.organization_id, client.tenant) == ("10234695", "acme")


def test_get_client_defaults_to_com_and_the_conn_id_as_tenant(monkeypatch):
    set_connection(monkeypatch, "zoho_books_default")
    client = ZohoBooksHook().get_client()
    assert client.api_base_url == "https://www.zohoapis.com" and client.tenant == "zoho_books_default"


def test_get_client_applies_url_overrides_and_limits_from_extra(monkeypatch):
    set_connection(
        monkeypatch, "zoho_sb", api_base_url="http://127.0.0.1:9/", accounts_url="http://127.0.0.1:9",
        requests_per_minute="40", max_concurrent=3,
    )
    client = ZohoBooksHook("zoho_sb").get_client()
    assert client.api_base_url == "http://127.0.0.1:9"
    assert (client.limiter.requests_per_window, client.limiter.max_concurrent) == (40, 3)


def test_default_country_comes_from_extra_upper_cased(monkeypatch):
    set_connection(monkeypatch, "zoho_gb", default_country="gb")
    assert ZohoBooksHook("zoho_gb").default_country == "GB"


def test_default_country_is_none_when_unset(monkeypatch):
    set_connection(monkeypatch, "zoho_nc")
    assert ZohoBooksHook("zoho_nc").default_country is None


def test_get_client_registers_secret_and_refresh_token_with_the_masker(monkeypatch):
    from airflow.sdk._shared.secrets_masker import redact

    set_connection(monkeypatch, "zoho_mask")
    ZohoBooksHook("zoho_mask").get_client()
    line = f"secret={SECRET} refresh={REFRESH}"
    redacted = redact(line)
    assert SECRET not in redacted and REFRESH not in redacted


def test_test_connection_reports_unreachable_api_without_secrets(monkeypatch):
    set_connection(monkeypatch, "zoho_down", api_base_url="http://127.0.0.1:9", accounts_url="http://127.0.0.1:9")
    ok, message = ZohoBooksHook("zoho_down", tenant="acme", max_retries=0, timeout=2).test_connection()
    assert ok is False
    assert "acme" in message and SECRET not in message and REFRESH not in message


def test_test_connection_succeeds_against_the_sandbox(monkeypatch, sandbox):
    monkeypatch.setenv("AIRFLOW_CONN_ZOHO_SANDBOX", json.dumps(sandbox.airflow_connection(0)))
    ok, message = ZohoBooksHook("zoho_sandbox", tenant="acme-us").test_connection()
    assert ok, message
    assert sandbox.org(0).organization_id in message


def test_access_tokens_issued_are_registered_with_the_masker(monkeypatch, sandbox):
    from airflow.sdk._shared.secrets_masker import redact

    issued: list[str] = []
    monkeypatch.setenv("AIRFLOW_CONN_ZOHO_SANDBOX", json.dumps(sandbox.airflow_connection(0)))
    hook = ZohoBooksHook("zoho_sandbox", tenant="acme-us")
    client = hook.get_client()
    original = client._tokens.on_new_token
    client._tokens.on_new_token = lambda token: (issued.append(token), original(token))
    client.get_contact(sandbox.contact_ids(0)[0])
    assert issued and issued[0] not in redact(f"Authorization: Zoho-oauthtoken {issued[0]}")


def test_test_connection_reports_missing_settings(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_ZOHO_EMPTY", json.dumps({"conn_type": "zoho_books", "login": "id"}))
    ok, message = ZohoBooksHook("zoho_empty").test_connection()
    assert ok is False and "client_secret" in message and "refresh_token" in message


def test_ui_field_behaviour_hides_host_fields_and_relabels_credentials():
    behaviour = ZohoBooksHook.get_ui_field_behaviour()
    assert {"host", "schema", "port"} <= set(behaviour["hidden_fields"])
    assert behaviour["relabeling"] == {"login": "Client ID", "password": "Client Secret"}
    assert "refresh_token" in behaviour["placeholders"]["extra"]


def test_hook_and_provider_info_declare_the_same_connection_type():
    from zoho.airflow import provider

    (conn,) = provider.get_provider_info()["connection-types"]
    hook_module, _, hook_class = conn["hook-class-name"].rpartition(".")
    assert (hook_module, hook_class) == (ZohoBooksHook.__module__, ZohoBooksHook.__name__)
    assert (conn["connection-type"], conn["hook-name"]) == (ZohoBooksHook.conn_type, ZohoBooksHook.hook_name)
    behaviour = conn["ui-field-behaviour"]
    assert ZohoBooksHook.get_ui_field_behaviour() == {
        "hidden_fields": behaviour["hidden-fields"], "relabeling": behaviour["relabeling"],
        "placeholders": behaviour["placeholders"]}


def test_form_fields_are_declared_in_provider_info_not_by_the_deprecated_hook_method():
    # Airflow 3.2+ reads conn-fields from provider info; a get_connection_form_widgets() on the hook is
    # deprecated there (and would not reach the React form).
    assert "get_connection_form_widgets" not in ZohoBooksHook.__dict__
