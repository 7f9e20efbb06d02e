"""Schemathesis over the whole served schema against a real server, as a tenant with a valid token.

Checks: no 5xx, every status code and content type is documented, every body
matches its schema. Bounded (examples per operation) to finish in about a minute.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from django.conf import settings

from billing.models import Plan
from tests.api.conftest import mint
from tests.conftest import unique_subdomain
from tests.factories import ProjectFactory, TaskFactory, TenantFactory, UserFactory
from tests.live import ROOT, LiveServer, http

pytestmark = pytest.mark.slow

CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
    ]
)


def test_schemathesis_whole_schema(committed_db, test_database_url, tmp_path):
    # Enterprise: no count limits, 6000 requests a minute, so refusals are not plan noise.
    tenant = TenantFactory(
        subdomain=unique_subdomain("fuzz"), plan=Plan.objects.get(code="enterprise")
    )
    UserFactory(tenant=tenant, role="owner")
    project = ProjectFactory(tenant=tenant)
    TaskFactory(tenant=tenant, project=project)
    secret = mint(tenant, ["admin"])
    host = f"{tenant.subdomain}.{settings.BASE_DOMAIN}"

    with LiveServer(test_database_url, workers=2) as server:
        status, _, body = http("GET", server.url + "/api/schema/?format=json", host)
        assert status == 200
        schema = json.loads(body)
        assert len(schema["paths"]) >= 13
        schema_file = tmp_path / "openapi.json"
        schema_file.write_text(json.dumps(schema))
        report = tmp_path / "junit.xml"
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "schemathesis.cli",
                "run",
                str(schema_file),
                "--url",
                server.url,
                "-H",
                f"Host: {host}",
                "-H",
                f"Authorization: Bearer {secret}",
                # Revoking or rotating the token under test would end the run early (schemathesis
                # reuses ids it saw in responses); tests/api/test_tokens.py covers both.
                "--exclude-name",
                "DELETE /api/v1/tokens/{id}/",
                "--exclude-name",
                "POST /api/v1/tokens/{id}/rotate/",
                "--checks",
                CHECKS,
                "--phases",
                "examples,coverage,fuzzing",
                "--max-examples",
                "12",
                "--seed",
                "20261125",
                # One worker: hypothesis' lambda introspection is not thread-safe on 3.11.
                "--workers",
                "1",
                "--request-timeout",
                "20",
                "--no-shrink",
                "--suppress-health-check",
                "all",
                "--report",
                "junit",
                "--report-junit-path",
                str(report),
                "--no-color",
            ],
            cwd=tmp_path,  # schemathesis keeps its example cache in the working directory
            capture_output=True,
            text=True,
            timeout=300,
        )
        # The token survived the run (nothing revoked it), so every operation was really exercised.
        still = http(
            "GET",
            server.url + "/api/v1/tokens/",
            host,
            headers={"Authorization": f"Bearer {secret}"},
        )
        server_log = server.log.read_text()
    output = run.stdout + run.stderr
    (ROOT / "artifacts").mkdir(exist_ok=True)
    (ROOT / "artifacts" / "schemathesis.txt").write_text(output)
    assert run.returncode == 0, output[-8000:]
    assert still[0] == 200, still
    assert "Traceback" not in server_log, server_log[-4000:]
    # It really ran the whole API, not zero operations.
    tested = report.read_text().count("<testcase")
    assert tested >= 23, output[-3000:]
