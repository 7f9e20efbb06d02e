"""Billing test helpers: plans by code, tenants on a given plan."""

import uuid

import pytest

from billing.models import Plan
from tests.conftest import unique_subdomain
from tests.factories import TenantFactory


def plan(code: str) -> Plan:
    return Plan.objects.get(code=code)


def tenant_on(code: str, prefix: str = "bill"):
    return TenantFactory(subdomain=unique_subdomain(prefix), plan=plan(code))


def private_plan(**limits) -> Plan:
    """A non-public plan with the given limits (unique code: committed tests leave it behind)."""
    defaults = dict(
        name="Test",
        max_members=None,
        max_projects=None,
        max_tasks_per_project=None,
        features=["api_access"],
        is_public=False,
        sort_order=0,
    )
    defaults.update(limits)
    # Plans are the operator role's to write.
    return Plan.objects.using("operator").create(code=f"test-{uuid.uuid4().hex[:10]}", **defaults)


@pytest.fixture
def free_tenant(db):
    return tenant_on("free", "free")


@pytest.fixture
def pro_tenant(db):
    return tenant_on("pro", "pro")
