"""Every product command fails in one line on stderr, a non-zero exit and nothing written.

Run through the operator's door (`manage.py` in a subprocess), never `call_command`: the
promise is about what the operator's terminal shows.
"""

from __future__ import annotations

import pytest
from django.core.management import get_commands, load_command_class

from accounts.models import ApiToken
from billing.models import Plan
from jobs.models import Job
from operators.models import Operator
from tenants.context import tenant_scope
from tenants.control import control_alias
from tenants.models import DatabaseServer, Tenant, TenantStatus
from tests.conftest import unique_subdomain
from tests.factories import TenantFactory
from tests.live import ROOT, free_port
from tests.tenants.manage import manage

pytestmark = pytest.mark.slow

TOO_LONG = "x" * 300
PASSWORD = "a-long-operator-password-1"
PLAN_FIELDS = (
    "max_members",
    "api_requests_per_minute",
    "statement_timeout_ms",
    "monthly_price",
)


def assert_one_line_error(result) -> str:
    assert result.returncode != 0, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    return lines[0]


def test_every_product_command_reports_failures_in_one_line():
    """The class, not the cases: a new command that forgets the base fails here."""
    from tenants.commands import OneLineErrors

    product = [
        (name, app)
        for name, app in get_commands().items()
        if not app.startswith(("django.", "rest_framework", "drf_"))
        and (ROOT / app.split(".")[0]).is_dir()
    ]
    assert len(product) > 20
    plain = [
        name
        for name, app in product
        if not issubclass(type(load_command_class(app, name)), OneLineErrors)
    ]
    assert plain == []


@pytest.fixture
def tenant(committed_db):
    return TenantFactory(subdomain=unique_subdomain("cmd"))


def _plan_state():
    return Plan.objects.filter(code="pro").values(*PLAN_FIELDS).get()


def _case_args(case: str, tenant, test_database_url: str) -> list[str]:
    sub = tenant.subdomain
    return {
        "token-expiry-overflow": [
            "create_api_token", sub, "--name", "x", "--scopes", "read",
            "--expires-in-days", "99999999999",
        ],
        "token-expiry-not-a-number": [
            "create_api_token", sub, "--name", "x", "--scopes", "read", "--expires-in-days", "abc",
        ],
        "token-name-too-long": ["create_api_token", sub, "--name", TOO_LONG, "--scopes", "read"],
        "suspend-reason-too-long": ["suspend_tenant", sub, "--reason", TOO_LONG],
        "plan-max-members": ["update_plan", "pro", "--max-members", "99999999999999999999"],
        "plan-api-rpm": ["update_plan", "pro", "--api-rpm", "99999999999999"],
        "plan-timeout": ["update_plan", "pro", "--statement-timeout-ms", "99999999999"],
        "plan-price": ["update_plan", "pro", "--price", "9999999999999999"],
        "plan-negative": ["update_plan", "pro", "--max-members", "-1"],
        "server-name-too-long": [
            "add_database_server", "s" * 70, "--url", test_database_url, "--region", "r",
        ],
        "job-not-a-uuid": ["job_status", "not-a-uuid"],
        "job-unknown": ["job_status", "00000000-0000-0000-0000-000000000000"],
        "import-a-directory": ["import_tenant", "--input", "/tmp"],
        "export-to-missing-dir": ["export_tenant", sub, "--output", "/nonexistent/dir/x.jsonl"],
        "unknown-option": ["list_tenants", "--no-such-option"],
        "operator-email-invalid": ["create_operator", "bad-email", "--password", PASSWORD],
        "operator-email-no-domain-dot": ["create_operator", "x@y", "--password", PASSWORD],
        "operator-email-too-long": [
            "create_operator", "a" * 300 + "@ops.test", "--password", PASSWORD,
        ],
        "job-param-without-value": ["start_job", "tenant_export", "--tenant", sub, "--param", "x"],
        "job-move-to-unknown-mode": [
            "start_job", "tenant_move", "--tenant", sub, "--param", "to=bogus",
        ],
        "job-move-unknown-param": [
            "start_job", "tenant_move", "--tenant", sub, "--param", "to=schema", "--param", "srv=x",
        ],
    }[case]  # fmt: skip


CASES = {
    "token-expiry-overflow": "3650",
    "token-expiry-not-a-number": "--expires-in-days",
    "token-name-too-long": "--name",
    "suspend-reason-too-long": "--reason",
    "plan-max-members": "--max-members",
    "plan-api-rpm": "--api-rpm",
    "plan-timeout": "--statement-timeout-ms",
    "plan-price": "--price",
    "plan-negative": "--max-members",
    "server-name-too-long": "server name",
    "job-not-a-uuid": "not a valid UUID",
    "job-unknown": "no such job",
    "import-a-directory": "/tmp",
    "export-to-missing-dir": "/nonexistent/dir/x.jsonl",
    "unknown-option": "--no-such-option",
    "operator-email-invalid": "valid email",
    "operator-email-no-domain-dot": "valid email",
    "operator-email-too-long": "email",
    "job-param-without-value": "--param",
    "job-move-to-unknown-mode": "to=shared|schema|database",
    "job-move-unknown-param": "'srv'",
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_one_line_and_writes_nothing(case, tenant, test_database_url):
    plan_before = _plan_state()
    tenants_before = Tenant.objects.count()
    servers_before = DatabaseServer.objects.count()
    operators_before = Operator.objects.count()

    line = assert_one_line_error(
        manage(test_database_url, *_case_args(case, tenant, test_database_url))
    )
    assert CASES[case] in line, line

    tenant.refresh_from_db()
    assert tenant.status == TenantStatus.ACTIVE
    with tenant_scope(tenant):
        assert not ApiToken.objects.exists()
    assert _plan_state() == plan_before
    assert Tenant.objects.count() == tenants_before
    assert DatabaseServer.objects.count() == servers_before
    assert Operator.objects.count() == operators_before
    with tenant_scope(tenant):
        assert not Job.objects.filter(tenant_id=tenant.pk).exists()


def test_a_garbage_database_url_is_one_line():
    result = manage("garbage", "list_tenants")
    line = assert_one_line_error(result)
    assert "postgresql://" in line  # says what a database URL looks like


def test_a_failure_the_code_also_logs_is_still_one_line(tenant, test_database_url):
    """The broker down: jobs log why a job was not queued (ERROR) and outbox rows why they
    were not published (WARNING) before the command fails. The terminal shows the one
    error line (before the fix: the JSON log lines too); --traceback shows everything."""
    closed = {"REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}
    result = manage(
        test_database_url, "start_job", "tenant_export", "--tenant", tenant.subdomain, **closed
    )
    assert "queue is unavailable" in assert_one_line_error(result)
    verbose = manage(
        test_database_url, "start_job", "tenant_export", "--tenant", tenant.subdomain,
        "--traceback", **closed,
    )  # fmt: skip
    assert "not queued" in verbose.stderr and "Traceback" in verbose.stderr


def test_traceback_stays_available_on_request(tenant, test_database_url):
    result = manage(
        test_database_url, "job_status", "00000000-0000-0000-0000-000000000000", "--traceback"
    )
    assert result.returncode != 0
    assert "Traceback" in result.stderr


@pytest.mark.parametrize(
    ("name", "url", "expected"),
    [
        ("", "DATABASE_URL", "server name ''"),
        ("Bad Name!", "DATABASE_URL", "server name"),
        ("notaurl", "notaurl", "--url must look like postgresql://"),
        ("unreachable", "closed-port", "cannot connect"),
    ],
)
def test_add_database_server_refuses_what_it_cannot_use(
    committed_db, test_database_url, name, url, expected
):
    if url == "DATABASE_URL":
        url = test_database_url
    elif url == "closed-port":
        url = f"postgresql://postgres@127.0.0.1:{free_port()}/postgres"
    region = unique_subdomain("region")
    result = manage(
        test_database_url, "add_database_server", name, "--url", url, "--region", region
    )
    assert expected in assert_one_line_error(result)
    assert not DatabaseServer.objects.filter(region=region).exists()


def test_add_database_server_registers_a_reachable_server(committed_db, test_database_url):
    name, region = unique_subdomain("srv"), unique_subdomain("region")
    result = manage(
        test_database_url,
        "add_database_server",
        name,
        "--url",
        test_database_url,
        "--region",
        region,
    )
    try:
        assert result.returncode == 0, result.stderr
        assert DatabaseServer.objects.filter(name=name, region=region).exists()
    finally:
        DatabaseServer.objects.using(control_alias("test")).filter(name=name).delete()


def test_create_tenant_on_an_unreachable_server_leaves_nothing_behind(
    committed_db, test_database_url
):
    """A server registered before the checks (or down since): the creation fails in one line,
    and the tenant is not left `deleting` with its subdomain blocked."""
    region, sub = unique_subdomain("gone"), unique_subdomain("gone")
    server = DatabaseServer.objects.using(control_alias("test")).create(
        name=unique_subdomain("gone"),
        region=region,
        address=f"postgresql://127.0.0.1:{free_port()}/postgres",
    )
    try:
        for isolation in ("shared", "schema", "database"):
            result = manage(
                test_database_url,
                "create_tenant",
                "--name",
                "Gone",
                "--subdomain",
                sub,
                "--region",
                region,
                "--isolation",
                isolation,
            )
            # A registered server that is unreachable is also logged (a JSON record) by the
            # start-up checks: information, not the failure; the failure is one line.
            result.stderr = "\n".join(
                line for line in result.stderr.splitlines() if not line.startswith('{"time"')
            )
            assert "provisioning" in assert_one_line_error(result)
            assert not Tenant.objects.filter(subdomain=sub).exists(), isolation
    finally:
        server.delete()
