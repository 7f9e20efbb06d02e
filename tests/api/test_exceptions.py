"""The exception handler: every failure in the one error shape, nothing internal leaked."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, OperationalError
from django.http import Http404

from api.exceptions import api_exception_handler
from billing.limits import FeatureNotInPlan, PlanLimitExceeded


def test_unexpected_exception_is_a_bare_500():
    response = api_exception_handler(RuntimeError("password=hunter2 at /srv/app.py:12"), {})
    assert response.status_code == 500
    assert response.data == {"error": {"code": "server_error", "message": "Internal error."}}
    assert "hunter2" not in str(response.data)


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (OperationalError("canceling statement due to statement timeout"), 503, "unavailable"),
        (IntegrityError("duplicate key value violates unique constraint"), 409, "conflict"),
        (Http404("secret path"), 404, "not_found"),
        (DjangoValidationError({"name": ["Too long."]}), 400, "invalid"),
        (
            PlanLimitExceeded(
                limit="max_projects", limit_value=3, usage=3, plan="Free", upgrade_to="Pro"
            ),
            403,
            "plan_limit_exceeded",
        ),
        (
            FeatureNotInPlan(feature="api_access", plan="X", upgrade_to="Pro"),
            403,
            "feature_not_in_plan",
        ),
    ],
)
def test_mapped_exceptions(exc, status, code):
    response = api_exception_handler(exc, {})
    assert response.status_code == status
    assert response.data["error"]["code"] == code
    assert "secret path" not in str(response.data)
    assert "constraint" not in str(response.data)
    if status == 503:
        assert response["Retry-After"] == "5"
