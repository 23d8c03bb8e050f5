"""The typed errors: message shape and pickling (Airflow may carry exceptions across processes)."""
from __future__ import annotations

import pickle
from datetime import datetime, timezone

import pytest

from zoho.books.errors import (ERROR_CODES, ERROR_STATUSES, BadParameterError, DailyBudgetExhaustedError,
                               InvalidCredentialsError, NotFoundError, ServerError, ThrottledError,
                               WrongOrganizationError, ZohoError, error_class)


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


# The table of Zoho's codes and statuses (zoho.books.errors.ERROR_CODES, ERROR_STATUSES, PRECEDENCE):
# when the code and the status stand for different errors, the earlier in PRECEDENCE wins.
@pytest.mark.parametrize(("status", "code", "expected"), [
    (401, None, InvalidCredentialsError), (200, 57, InvalidCredentialsError), (401, 6041, InvalidCredentialsError),
    (400, 6041, WrongOrganizationError), (429, 6041, WrongOrganizationError), (500, 6041, WrongOrganizationError),
    (429, 45, DailyBudgetExhaustedError), (404, 45, DailyBudgetExhaustedError),
    (429, 44, ThrottledError), (200, 1070, ThrottledError), (429, None, ThrottledError), (429, 1002, ThrottledError),
    (429, 2, ThrottledError), (404, None, NotFoundError), (400, 1002, NotFoundError), (404, 2, NotFoundError),
    (500, 1002, NotFoundError), (400, 2, BadParameterError), (503, 2, BadParameterError),
    (502, None, ServerError), (200, 1000, ServerError), (404, 1000, NotFoundError),
    (400, 9999, None), (200, 0, None), (200, None, None),
])
def test_error_class_reads_the_table_of_codes_and_statuses(status, code, expected):
    assert error_class(status, code) is expected


def test_every_code_of_the_table_names_a_zoho_error():
    assert all(issubclass(cls, ZohoError) for cls in (*ERROR_CODES.values(), *ERROR_STATUSES.values()))
    assert {cls for cls in ERROR_CODES.values() if cls.retryable} == {ThrottledError, ServerError}
