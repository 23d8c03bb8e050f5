"""The typed errors: message shape and pickling (Airflow may carry exceptions across processes)."""
from __future__ import annotations

import pickle
from datetime import datetime, timezone

from zoho.books.errors import DailyBudgetExhaustedError, NotFoundError, ServerError, ThrottledError, WrongOrganizationError


def test_error_message_names_tenant_endpoint_status_and_code():
    err = NotFoundError("not found: Contact does not exist.", tenant="acme", endpoint="contact", status=404, code=1002)
    assert str(err) == "[tenant acme] contact: not found: Contact does not exist. (HTTP 404, code 1002)"


def test_error_survives_pickling_with_its_fields():
    resets = datetime(2030, 1, 1, tzinfo=timezone.utc)
    err = DailyBudgetExhaustedError("daily budget", resets_at=resets, tenant="acme", endpoint="invoices", code=45)
    copy = pickle.loads(pickle.dumps(err))
    assert (str(copy), copy.resets_at, copy.code) == (str(err), resets, 45)


def test_only_transient_errors_are_retryable():
    assert ServerError.retryable and ThrottledError.retryable
    assert not (NotFoundError.retryable or WrongOrganizationError.retryable or DailyBudgetExhaustedError.retryable)
