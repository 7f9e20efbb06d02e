"""The plan page advertises only what is built: each line is a limit the code enforces or a
feature that some door refuses without it (and serves with it)."""

from __future__ import annotations

import re

import pytest

from accounts.models import Role
from billing.models import Feature, Plan
from tests.api.conftest import ApiTestClient, host_of, mint
from tests.billing.conftest import private_plan
from tests.factories import TenantFactory, UserFactory
from tests.web.conftest import signed_in

pytestmark = pytest.mark.django_db

# Every line a plan card may show, besides feature labels.
LIMIT_LINES = [
    r"(Unlimited|\d+) members",  # billing.limits: max_members
    r"(Unlimited|\d+) projects",  # billing.limits: max_projects
    r"\d+ API requests / minute",  # billing.ratelimit
    r"p95 latency ≤ \d+ ms, [\d.]+% availability per month",  # observability (docs/sla.md)
]


def _plan_cards(html: str) -> dict[str, list[str]]:
    cards = re.findall(r'<h3 id="plan-([\w-]+)">.*?<ul class="plain">(.*?)</ul>', html, re.S)
    return {
        code: [
            re.sub(r"\s+", " ", item).strip() for item in re.findall(r"<li>(.*?)</li>", ul, re.S)
        ]
        for code, ul in cards
    }


def test_every_line_on_the_plan_page_is_built(tenant_a):
    owner = UserFactory(tenant=tenant_a, role=Role.OWNER)
    html = signed_in(tenant_a, owner).get("/billing/").content.decode()
    cards = _plan_cards(html)
    assert set(cards) == set(Plan.objects.filter(is_public=True).values_list("code", flat=True))
    labels = {f.label: f.value for f in Feature}
    for code, lines in cards.items():
        plan = Plan.objects.get(code=code)
        for line in lines:
            if line in labels:
                assert plan.has_feature(labels[line]), (code, line)
            else:
                assert any(re.fullmatch(p, line) for p in LIMIT_LINES), (code, line)


def _denied(response) -> bool:
    return response.status_code == 403 and response.json()["error"]["code"] == "feature_not_in_plan"


# One door per feature: refused without it, served with it. A feature added to `Feature`
# without an entry here fails the test below, so the page cannot sell it unbuilt.
def _api_access(client):
    return client.get("/api/v1/projects/")


def _audit_log(client):
    return client.get("/api/v1/audit/")


def _custom_domain(client):
    return client.post("/api/v1/domains/", {"domain": "app.plan-check.example.org"}, format="json")


DOORS = {
    Feature.API_ACCESS: _api_access,
    Feature.AUDIT_LOG: _audit_log,
    Feature.CUSTOM_DOMAIN: _custom_domain,
}


def test_each_feature_has_a_door_or_a_placement():
    assert set(Feature.values) == {*DOORS, Feature.DEDICATED_DATABASE}


@pytest.mark.parametrize("feature", list(DOORS))
def test_a_feature_is_refused_without_it_and_served_with_it(feature):
    others = [f for f in Feature.values if f not in (feature, Feature.DEDICATED_DATABASE)]
    if feature != Feature.API_ACCESS:
        others = sorted({*others, Feature.API_ACCESS})
    without = TenantFactory(plan=private_plan(features=others))
    response = DOORS[feature](ApiTestClient(host_of(without), mint(without)))
    assert _denied(response), response.content
    with_it = TenantFactory(plan=private_plan(features=sorted({*others, feature})))
    response = DOORS[feature](ApiTestClient(host_of(with_it), mint(with_it)))
    assert response.status_code in (200, 201), response.content


def test_dedicated_database_is_sold_only_where_the_plan_places_tenants_in_one():
    for plan in Plan.objects.all():
        if plan.has_feature(Feature.DEDICATED_DATABASE):
            assert plan.required_isolation == "database", plan.code
