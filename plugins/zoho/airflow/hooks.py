"""``ZohoBooksHook``: the Airflow face of the Zoho Books client.

Connection (type ``zoho_books``, default id ``zoho_books_default``; docs/CONTRACT.md "Configuration"):
``login`` = OAuth client id, ``password`` = client secret, ``extra`` = ``refresh_token``,
``organization_id``, ``region`` (default ``com``), ``default_country``, optional ``api_base_url`` /
``accounts_url`` (roots) and ``requests_per_minute`` / ``max_concurrent``; ``daily_budget`` /
``budget_reserve`` (optional integers) are in the form for the daily API budget, not read yet.

The connection type is registered by the installed package's provider info
(``zoho.airflow.provider``, entry point ``apache_airflow_provider``), which also declares the
connection form: Airflow 3's React form shows each of those ``extra`` keys as a field of its own
(``conn-fields``) and reads them without importing this module. ``get_ui_field_behaviour`` below is
derived from the same declaration for callers that still ask the hook.

Like Airflow's HttpHook / PostgresHook, ``__init__`` stores only the connection id; the Connection
is read when the client is first needed (never at DAG parse time). The client secret, the
refresh token and every access token issued are registered with Airflow's secrets masker, so
they are redacted from task logs even where Airflow's key-name heuristics would not catch them.
``test_connection`` backs the connection form's Test button (``[core] test_connection = Enabled``).
"""
from __future__ import annotations

from typing import Any

from airflow.sdk import BaseHook

from zoho.airflow import provider
from zoho.books.client import ZohoBooksClient
from zoho.books.errors import ZohoError


def _mask(value: Any) -> None:
    if not value:
        return
    try:
        from airflow.sdk.log import mask_secret
    except ImportError:  # pragma: no cover - older layouts
        from airflow.sdk.execution_time.secrets_masker import mask_secret
    mask_secret(str(value))


class ZohoBooksHook(BaseHook):
    """Builds a ``ZohoBooksClient`` from an Airflow connection.

    :param zoho_conn_id: the connection id (one per tenant, default ``zoho_books_default``; docs/CONTRACT.md "Configuration").
    :param tenant: label used in error messages and logs (the tenant's ``user_id``); defaults to
        the connection id.
    :param client_overrides: keyword arguments passed to ``ZohoBooksClient`` over the connection's
        values (e.g. ``timeout``), for callers that need them.
    """

    conn_name_attr = "zoho_conn_id"
    default_conn_name = "zoho_books_default"
    conn_type = provider.CONN_TYPE
    hook_name = provider.HOOK_NAME

    # keys of the connection's extra that hold secrets
    SECRET_EXTRAS = ("refresh_token",)

    def __init__(self, zoho_conn_id: str = default_conn_name, tenant: str | None = None, **client_overrides: Any) -> None:
        super().__init__()
        self.zoho_conn_id = zoho_conn_id
        self.tenant = tenant
        self._client_overrides = client_overrides
        self._client: ZohoBooksClient | None = None
        self._extra: dict[str, Any] | None = None

    # ----------------------------------------------------------------- connection

    def _read_connection(self) -> tuple[Any, dict[str, Any]]:
        conn = self.get_connection(self.zoho_conn_id)
        extra = dict(conn.extra_dejson or {})
        _mask(conn.password)
        for key in self.SECRET_EXTRAS:
            _mask(extra.get(key))
        self._extra = extra
        return conn, extra

    @property
    def extra(self) -> dict[str, Any]:
        if self._extra is None:
            self._read_connection()
        return dict(self._extra or {})

    @property
    def default_country(self) -> str | None:
        """ISO 3166 alpha-2 country used to read phone numbers written without a country code."""
        value = str(self.extra.get("default_country") or "").strip().upper()
        return value or None

    def get_client(self) -> ZohoBooksClient:
        """The client for this connection (built once per hook)."""
        if self._client is None:
            conn, extra = self._read_connection()
            self._client = ZohoBooksClient.from_connection_fields(
                conn.login,
                conn.password,
                extra,
                tenant=self.tenant or self.zoho_conn_id,
                on_new_token=_mask,
                **self._client_overrides,
            )
        return self._client

    def get_conn(self) -> ZohoBooksClient:
        return self.get_client()

    def test_connection(self) -> tuple[bool, str]:
        """Airflow's "Test connection": ``(ok, message)``, never raises, never shows a secret."""
        try:
            return self.get_client().test_connection()
        except ZohoError as err:
            return False, str(err)
        except Exception as err:  # noqa: BLE001 - the UI wants a message, not a traceback
            return False, f"{type(err).__name__}: could not build the Zoho Books client for {self.zoho_conn_id!r}"

    # ----------------------------------------------------------------- UI

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """The standard fields' behaviour, from the provider info's ``ui-field-behaviour`` (which is
        what Airflow 3 reads; the form's own fields are its ``conn-fields``)."""
        behaviour = provider.UI_FIELD_BEHAVIOUR
        return {
            "hidden_fields": list(behaviour["hidden-fields"]),
            "relabeling": dict(behaviour["relabeling"]),
            "placeholders": dict(behaviour["placeholders"]),
        }
