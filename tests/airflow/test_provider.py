"""The package as Airflow sees it: installed (pyproject.toml), registered as a provider through the
``apache_airflow_provider`` entry point, its ``zoho_books`` connection type with its own form fields,
and the Test button, through Airflow's own API.

The API tests start a real ``airflow api-server`` the way tests/ui does (an Airflow metadata database
of its own, the simple auth manager, a JWT from ``/auth/token``), here without ``plugins/`` on
``PYTHONPATH``, so that the server finds the provider as a deployment does: from the installed
package's metadata.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from importlib import metadata
from pathlib import Path

import pytest
import requests

from tests.apiserver import ApiServer, api_server_env
from zoho.airflow import provider
from zoho.airflow.hooks import ZohoBooksHook

ROOT = Path(__file__).resolve().parents[2]
FIELDS = ("organization_id", "refresh_token", "region", "default_country", "requests_per_minute",
          "max_concurrent", "daily_budget", "budget_reserve", "api_base_url", "accounts_url")
INTEGER_FIELDS = ("requests_per_minute", "max_concurrent", "daily_budget", "budget_reserve")


def _airflow_dir() -> Path:
    import airflow

    return Path(airflow.__file__).parent


# --------------------------------------------------------------------------- the package
def test_provider_info_is_valid_for_airflows_runtime_and_provider_yaml_schemas():
    import jsonschema
    from airflow.providers_manager import _create_provider_info_schema_validator

    info = provider.get_provider_info()
    _create_provider_info_schema_validator().validate(info)  # what ProvidersManager checks at discovery
    # the stricter development schema describes conn-fields / ui-field-behaviour: check the entry too
    strict = json.loads((_airflow_dir() / "provider.yaml.schema.json").read_text())
    item = strict["properties"]["connection-types"]["items"]
    (conn,) = info["connection-types"]
    jsonschema.validate(conn, item)
    assert (conn["connection-type"], conn["hook-class-name"]) == ("zoho_books", "zoho.airflow.hooks.ZohoBooksHook")
    assert info["package-name"] == metadata.distribution(provider.PACKAGE_NAME).metadata["Name"]
    assert info["versions"] == [metadata.version(provider.PACKAGE_NAME)]


def test_the_form_fields_are_the_extra_keys_the_client_reads():
    fields = provider.CONN_FIELDS
    assert tuple(fields) == FIELDS
    for name in INTEGER_FIELDS:
        assert fields[name]["schema"]["type"] == ["integer", "null"], name
    for name in ("daily_budget", "budget_reserve"):
        assert "optional integer" in fields[name]["label"].lower()
    assert fields["refresh_token"]["schema"]["format"] == "password"
    from zoho.books.regions import REGIONS

    assert fields["region"]["schema"]["enum"] == list(REGIONS) and fields["region"]["schema"]["default"] == "com"
    # what the form stores (its own keys in extra, empty fields as null) builds a client
    from zoho.books.client import ZohoBooksClient

    extra = {"organization_id": "10234695", "refresh_token": "1000.r", "region": "eu", "default_country": None,
             "requests_per_minute": 40, "max_concurrent": 3, "daily_budget": None, "budget_reserve": None,
             "api_base_url": None, "accounts_url": None}
    client = ZohoBooksClient.from_connection_fields("1000.id", "secret", extra, tenant="t")
    assert client.api_base_url == "https://www.zohoapis.eu" and client.organization_id == "10234695"
    assert (client.limiter.requests_per_window, client.limiter.max_concurrent) == (40, 3)


def test_the_installed_package_imports_without_plugins_on_the_path(tmp_path):
    code = (
        "import json, sys, zoho, importlib.metadata as m\n"
        "d = m.distribution('zoho-customer-sync')\n"
        "(ep,) = [e for e in d.entry_points if e.group == 'apache_airflow_provider']\n"
        "info = ep.load()()\n"
        "print(json.dumps({'file': zoho.__file__, 'ep': ep.value, 'name': info['package-name'],\n"
        "                  'types': [c['connection-type'] for c in info['connection-types']],\n"
        "                  'pythonpath': [p for p in sys.path if p.rstrip('/').endswith('plugins')]}))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    # -I: no PYTHONPATH, no current directory, no user site; only what is installed in the venv
    out = subprocess.run([sys.executable, "-I", "-c", code], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["ep"] == "zoho.airflow.provider:get_provider_info"
    assert (got["name"], got["types"]) == ("zoho-customer-sync", ["zoho_books"])
    assert Path(got["file"]).resolve() in {(ROOT / "plugins" / "zoho" / "__init__.py").resolve()} or (
        "site-packages" in got["file"])


def test_providers_manager_registers_the_connection_type_with_its_fields():
    from airflow.providers_manager import ProvidersManager
    from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime

    pm = ProvidersManager()
    assert pm.providers[provider.PACKAGE_NAME].version == metadata.version(provider.PACKAGE_NAME)
    hook = ProvidersManagerTaskRuntime().hooks["zoho_books"]
    assert (hook.hook_class_name, hook.package_name, hook.hook_name) == (
        "zoho.airflow.hooks.ZohoBooksHook", provider.PACKAGE_NAME, "Zoho Books")
    assert hook.connection_id_attribute_name == "zoho_conn_id" and hook.connection_testable
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "get_connection_form_widgets() is deprecated" fallback
        widgets = pm.connection_form_widgets
        behaviour = pm.field_behaviours["zoho_books"]
    mine = {w.field_name: w for key, w in widgets.items() if key.startswith("extra__zoho_books__")}
    assert tuple(mine) == FIELDS
    assert mine["refresh_token"].is_sensitive and not mine["organization_id"].is_sensitive
    assert mine["daily_budget"].field["schema"]["title"] == "Daily API budget (optional integer)"
    assert {"host", "schema", "port"} <= set(behaviour["hidden_fields"])
    assert behaviour == ZohoBooksHook.get_ui_field_behaviour()


# --------------------------------------------------------------------------- through the API server
@pytest.fixture(scope="module")
def api(make_database, tmp_path_factory):
    """``(base_url, auth headers)`` of an API server with connection testing enabled."""
    tmp = tmp_path_factory.mktemp("provider_api")
    base_env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith("AIRFLOW_CONN_ZOHO")}
    env = api_server_env(make_database, tmp, "provaf", base_env=base_env, AIRFLOW__CORE__TEST_CONNECTION="Enabled")
    with ApiServer(env, tmp) as server:
        server.wait_ready()
        yield server.base, server.auth()


def _body(conn: dict, connection_id: str = "zoho_books_form") -> dict:
    """A connection as the UI's form posts it: ``extra`` is a JSON string."""
    return {"connection_id": connection_id, "conn_type": conn["conn_type"], "login": conn["login"],
            "password": conn["password"], "extra": json.dumps(conn["extra"])}


@pytest.mark.integration
@pytest.mark.slow
def test_the_api_lists_the_provider_and_the_form_fields(api):
    base, auth = api
    r = requests.get(base + "/api/v2/providers", headers=auth, params={"limit": 100}, timeout=60)
    assert r.status_code == 200, r.text
    mine = [p for p in r.json()["providers"] if p["package_name"] == provider.PACKAGE_NAME]
    assert [p["version"] for p in mine] == [metadata.version(provider.PACKAGE_NAME)]

    r = requests.get(base + "/ui/connections/hook_meta", headers=auth, timeout=60)
    assert r.status_code == 200, r.text
    (meta,) = [m for m in r.json() if m["connection_type"] == "zoho_books"]
    assert (meta["hook_name"], meta["hook_class_name"]) == ("Zoho Books", "zoho.airflow.hooks.ZohoBooksHook")
    standard = meta["standard_fields"]
    assert standard["host"]["hidden"] and standard["port"]["hidden"] and standard["url_schema"]["hidden"]
    assert (standard["login"]["title"], standard["password"]["title"]) == ("Client ID", "Client Secret")
    extra = meta["extra_fields"]
    assert tuple(extra) == FIELDS
    assert extra["organization_id"]["schema"]["title"] == "Organisation ID"
    assert extra["refresh_token"]["schema"]["format"] == "password"
    assert extra["region"]["value"] == "com" and "eu" in extra["region"]["schema"]["enum"]
    for name in INTEGER_FIELDS:
        assert extra[name]["schema"]["type"] == ["integer", "null"], name
    assert extra["daily_budget"]["schema"]["title"] == "Daily API budget (optional integer)"
    assert extra["budget_reserve"]["schema"]["title"] == "Budget reserve (optional integer)"


@pytest.mark.integration
@pytest.mark.slow
def test_the_test_button_connects_to_the_sandbox(api, sandbox):
    base, auth = api
    conn = sandbox.airflow_connection(0)
    # as the form stores it: every field present, the empty ones null, integers as integers
    conn["extra"] = {**dict.fromkeys(FIELDS), **conn["extra"], "requests_per_minute": 60, "max_concurrent": 2}
    r = requests.post(base + "/api/v2/connections/test", headers=auth, json=_body(conn), timeout=120)
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["status"] is True, result
    assert sandbox.org(0).organization_id in result["message"]


@pytest.mark.integration
@pytest.mark.slow
def test_the_test_button_reports_a_wrong_secret(api, sandbox):
    base, auth = api
    conn = sandbox.airflow_connection(0)
    conn["password"] = "not-the-client-secret-4242"
    r = requests.post(base + "/api/v2/connections/test", headers=auth, json=_body(conn), timeout=120)
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["status"] is False, result
    assert "invalid_client" in result["message"]  # Zoho's answer to an unknown client or wrong secret
    assert "not-the-client-secret-4242" not in result["message"]
    assert conn["extra"]["refresh_token"] not in result["message"]


@pytest.mark.integration
@pytest.mark.slow
def test_the_test_button_needs_an_authenticated_user(api, sandbox):
    base, _ = api
    r = requests.post(base + "/api/v2/connections/test", json=_body(sandbox.airflow_connection(0)), timeout=60)
    assert r.status_code in (401, 403)
