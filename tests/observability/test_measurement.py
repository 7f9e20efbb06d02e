"""Per-tenant figures of a running server land on the right tenant; /metrics passes promtool."""

from __future__ import annotations

import shutil
import subprocess
import time

import pytest
from django.conf import settings

from observability.models import SlaRollup
from tenants.context import dangerously_unscoped, tenant_scope
from tests.conftest import unique_subdomain
from tests.factories import TenantFactory
from tests.live import LiveServer, http

pytestmark = pytest.mark.slow


def _rows(tenant_ids):
    with dangerously_unscoped("test: read SLA rows of the test's tenants"):
        return list(SlaRollup.unscoped.filter(tenant_id__in=tenant_ids, period="m"))


def test_requests_of_two_tenants_are_attributed_to_each_and_no_other(
    committed_db, test_database_url
):
    a = TenantFactory(subdomain=unique_subdomain("sla-a"))
    b = TenantFactory(subdomain=unique_subdomain("sla-b"))
    bystander = TenantFactory(subdomain=unique_subdomain("sla-c"))
    env = {"SLA_FLUSH_SECONDS": "0.3"}
    with LiveServer(test_database_url, env, workers=2) as server:
        for _ in range(7):
            assert (
                http("GET", server.url + "/accounts/login/", f"{a.subdomain}.localhost")[0] == 200
            )
        for _ in range(3):
            assert (
                http("GET", server.url + "/accounts/login/", f"{b.subdomain}.localhost")[0] == 200
            )
        # 404 from the URL conf: counted (not an error: errors are 5xx), under its own group.
        assert http("GET", server.url + "/no-such-page/", f"{b.subdomain}.localhost")[0] == 404
        # Probes are not a tenant's traffic.
        assert http("GET", server.url + "/healthz", f"{b.subdomain}.localhost")[0] == 200
        ids = [a.pk, b.pk, bystander.pk]
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            counts = {}
            for row in _rows(ids):
                key = (row.tenant_id, row.route_group)
                counts[key] = counts.get(key, 0) + row.count
            if sum(counts.values()) >= 11:
                break
            time.sleep(0.3)
    assert counts == {(a.pk, "accounts"): 7, (b.pk, "accounts"): 3, (b.pk, "unmatched"): 1}
    rows = _rows(ids)
    assert all(r.errors == 0 and sum(r.buckets) == r.count for r in rows)
    # Through RLS (the app role), each tenant sees its own figures only.
    with tenant_scope(b):
        assert {r.tenant_id for r in SlaRollup.objects.all()} == {b.pk}
    with tenant_scope(bystander):
        assert SlaRollup.objects.count() == 0


def _promtool():
    return shutil.which("promtool") or "/usr/bin/promtool"


@pytest.mark.parametrize("multiprocess", [False, True], ids=["one-process", "multiprocess-dir"])
def test_metrics_pass_promtool_and_carry_no_tenant(
    committed_db, test_database_url, tmp_path, multiprocess
):
    tenant = TenantFactory(subdomain=unique_subdomain("prom"))
    env = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path)} if multiprocess else {}
    with LiveServer(test_database_url, env, workers=2 if multiprocess else 1) as server:
        host = f"{tenant.subdomain}.{settings.BASE_DOMAIN}"
        for _ in range(4):
            http("GET", server.url + "/accounts/login/", host)
        http("GET", server.url + "/", f"x-{tenant.subdomain}.{settings.BASE_DOMAIN}")
        status, headers, body = http("GET", server.url + "/metrics", settings.BASE_DOMAIN)
        # Not on a tenant's host: the fleet's figures are the operator's.
        assert http("GET", server.url + "/metrics", host)[0] == 404
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    text = body.decode()
    check = subprocess.run(
        [_promtool(), "check", "metrics"], input=body, capture_output=True, timeout=30
    )
    assert check.returncode == 0, check.stdout.decode() + check.stderr.decode()
    plan = tenant.plan.code
    counted = [
        line
        for line in text.splitlines()
        if line.startswith("tenantry_http_request_duration_seconds_count{")
        and 'route="/accounts/login/"' in line
        and f'plan="{plan}"' in line
    ]
    assert counted and sum(float(line.rsplit(" ", 1)[1]) for line in counted) >= 4, text
    assert tenant.subdomain not in text and str(tenant.pk) not in text
    assert 'status="2xx"' in text and 'placement="shared"' in text
