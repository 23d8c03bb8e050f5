"""Airflow plugin: the "Customer sync" page.

- ``fastapi_apps``: the API server mounts the JSON API (``zoho.api.app``) under
  ``/customer-sync/api/v1`` and the page's FastAPI app (``zoho.ui.app``) under ``/customer-sync``
  (same origin as the UI, so the login cookie reaches them). The API is listed first: the server
  mounts the apps in this order and the first prefix that matches a path serves it;
- ``external_views``: a top-level entry "Customer sync" in the UI's navigation; with a ``url_route``
  the UI shows the page inside its own frame at ``/plugin/customer-sync``.

This file lives directly in ``plugins/`` (``plugins/.airflowignore`` keeps Airflow from scanning the
``zoho`` package as plugin files); the implementation is imported from the ``zoho`` package.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from airflow.configuration import conf
from airflow.plugins_manager import AirflowPlugin

URL_PREFIX = "/customer-sync"
API_PREFIX = URL_PREFIX + "/api/v1"
# the UI may be served under a path ([api] base_url); the app is mounted below it
BASE_PATH = urlsplit(conf.get("api", "base_url", fallback="") or "").path.rstrip("/")


class CustomerSyncPlugin(AirflowPlugin):
    name = "customer_sync"

    @property
    def fastapi_apps(self):  # imported when the API server asks, not when other components load plugins
        from zoho.api.app import app as api
        from zoho.ui.app import app as page

        return [{"app": api, "url_prefix": API_PREFIX, "name": "Customer sync API"},
                {"app": page, "url_prefix": URL_PREFIX, "name": "Customer sync"}]

    external_views = [
        {
            "name": "Customer sync",
            "href": f"{BASE_PATH}{URL_PREFIX}/",
            "destination": "nav",
            "url_route": "customer-sync",
        }
    ]
