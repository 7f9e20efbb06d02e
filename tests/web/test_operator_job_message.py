"""The console says which job it queued in words, not as a Python dict."""

from __future__ import annotations

import uuid

import pytest

from operators.services import operator_create
from tests.web.test_operator import console

pytestmark = pytest.mark.django_db


def test_job_queued_message_is_readable(tenant_a):
    operator = operator_create(
        email=f"ops-{uuid.uuid4().hex[:8]}@tenantry.test", password="operator-password-1"
    )
    ops = console(operator)
    response = ops.post(f"/tenants/{tenant_a.pk}/jobs/", {"job": "provision"}, follow=True)
    html = response.content.decode()
    assert f"Re-run of provisioning of {tenant_a.subdomain} queued" in html
    assert "{" not in html.split('class="messages"', 1)[-1].split("</div>", 1)[0]
