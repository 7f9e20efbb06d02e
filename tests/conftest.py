"""Test wiring: one database per xdist worker, migrated as the owner, used as the app role."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import uuid
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.test import testcases

from tenants import roles
from tenants.database_config import admin_conninfo
from tests.factories import ProjectFactory, TenantFactory, UserFactory  # noqa: F401

# Tenant databases (database mode) and placement-migration connections are
# registered at runtime and are deliberately NOT part of the per-test
# transaction: they are other databases, committed for real and dropped at
# session end. Django's TestCase refuses any registered alias it was not told
# about; let these through, and only these.
#
# The `operator` alias too: control-plane rows (registry, plans, servers) are the
# operator role's to write, so they are committed for real, visible to the app
# role's test transaction, and removed after each test (control_plane_cleanup).
_DYNAMIC_ALIASES = ("tenant_", "placement_owner_", "operator")
_original_patch = testcases.SimpleTestCase.ensure_connection_patch_method.__func__


def _ensure_connection_patch_method(cls):
    guarded = _original_patch(cls)
    real = BaseDatabaseWrapper.ensure_connection

    def ensure_connection(self, *args, **kwargs):
        if self.alias.startswith(_DYNAMIC_ALIASES):
            return real(self, *args, **kwargs)
        return guarded(self, *args, **kwargs)

    return ensure_connection


testcases.SimpleTestCase.ensure_connection_patch_method = classmethod(
    _ensure_connection_patch_method
)
_original_add_failures = testcases.SimpleTestCase._add_databases_failures.__func__
_original_remove_failures = testcases.SimpleTestCase._remove_databases_failures.__func__


def _dynamic_connections():
    return [connections[a] for a in connections if a.startswith(_DYNAMIC_ALIASES)]


def _add_databases_failures(cls):
    _original_add_failures(cls)
    for conn in _dynamic_connections():
        for name, _ in cls._disallowed_connection_methods:
            method = getattr(conn, name)
            if isinstance(method, testcases._DatabaseFailure):
                setattr(conn, name, method.wrapped)


def _remove_databases_failures(cls):
    for conn in _dynamic_connections():
        if conn.alias in cls.databases:  # the original leaves those alone
            continue
        for name, _ in cls._disallowed_connection_methods:
            method = getattr(conn, name)
            if not isinstance(method, testcases._DatabaseFailure):
                setattr(conn, name, testcases._DatabaseFailure(method, "unused"))
    _original_remove_failures(cls)


_original_databases_names = testcases.TransactionTestCase._databases_names.__func__


def _databases_names(cls, include_mirrors=True):
    # Never wrapped in the test's transaction, even when a test names it: what the
    # operator role writes (the control plane) must be visible to the app role.
    return [a for a in _original_databases_names(cls, include_mirrors) if a != "operator"]


testcases.TransactionTestCase._databases_names = classmethod(_databases_names)
testcases.SimpleTestCase._add_databases_failures = classmethod(_add_databases_failures)
testcases.SimpleTestCase._remove_databases_failures = classmethod(_remove_databases_failures)


def _test_db_name() -> str:
    # One database per checkout and xdist worker: parallel checkouts (CI, a
    # second work tree) on one server never share or drop each other's.
    base = settings.DATABASES["owner"]["NAME"]
    checkout = hashlib.sha1(str(settings.BASE_DIR).encode()).hexdigest()[:6]
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    return f"test_{base}_{checkout}_{worker}"


def _drop_database(name: str) -> None:
    with psycopg.connect(admin_conninfo(settings.DATABASE_URL, "postgres"), autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _drop_tenant_databases(main: str) -> None:
    """Tenant databases of this test database: `<main>_t_<id>`, `<main>_tmpl`, `<main>_pool_<id>`,
    spare databases (`<main>_spare_…`)."""
    from tenants.backends.spares import database_spare_prefix

    with psycopg.connect(admin_conninfo(settings.DATABASE_URL, "postgres"), autocommit=True) as c:
        names = [
            r[0]
            for r in c.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE %s OR datname LIKE %s "
                "OR datname LIKE %s OR datname = %s",
                [
                    main.replace("_", "\\_") + "\\_t\\_%",
                    main.replace("_", "\\_") + "\\_pool\\_%",
                    database_spare_prefix(main).replace("_", "\\_") + "%",
                    f"{main}_tmpl"[:63],
                ],
            )
        ]
        for db in names:
            c.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


@pytest.fixture(scope="session")
def django_db_setup(django_test_environment, django_db_blocker):
    name = _test_db_name()
    with django_db_blocker.unblock():
        for conn in connections.all():
            conn.close()
        roles.ensure_roles(settings.DATABASE_URL)
        _drop_database(name)
        _drop_tenant_databases(name)
        for alias in ("default", "owner", "operator"):
            settings.DATABASES[alias]["NAME"] = name
            connections[alias].settings_dict["NAME"] = name
            connections[alias].close_pool()  # a pool opened earlier would still use the old name
        call_command("migrate", database="owner", verbosity=0, interactive=False)
    yield name
    with django_db_blocker.unblock():
        for conn in connections.all():
            conn.close()
        from tests.shell import drop_database_and_placements

        drop_database_and_placements(name)  # with the tenant databases moves created
        _drop_tenant_databases(name)
    # Exports and operator backups the tests (and the servers and commands they started)
    # wrote: this worker's own directories, tenant data that must not outlive the run.
    for directory in (settings.MEDIA_ROOT, settings.TENANT_BACKUP_DIR):
        shutil.rmtree(directory, ignore_errors=True)
        with contextlib.suppress(OSError):  # the parent too, once no other worker uses it
            Path(directory).parent.rmdir()
    _forget_redis_keys()


def _forget_redis_keys() -> None:
    """Keys this worker left in the shared test Redis: its queues, leases and cache entries."""
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        return
    import redis

    namespace = settings.CELERY_NAMESPACE  # test-<checkout>-<worker>, also in cache prefixes
    worker = namespace.removeprefix("test-")
    try:
        client = redis.Redis.from_url(url, socket_timeout=5)
        for pattern in (f"{namespace}:*", f"*:{worker}:*"):
            for key in client.scan_iter(match=pattern, count=1000):
                client.delete(key)
    except redis.RedisError:  # Redis down: nothing of ours is left in it either
        return


# Control-plane rows committed by the previous test, removed when the next one starts:
# by then the previous test's own transaction has surely ended (deleting a tenant row
# while that transaction still holds a key lock on it would wait for ever).
_committed_by_earlier_tests: dict[str, list] = {"tenants": [], "plans": [], "operators": []}


def _remove_committed_control_plane_rows() -> None:
    from billing.models import Plan
    from operators.models import Operator
    from tenants.models import Tenant

    pending = _committed_by_earlier_tests
    Tenant.objects.using("operator").filter(pk__in=pending["tenants"]).delete()
    Operator.objects.filter(pk__in=pending["operators"]).delete()
    for plan in Plan.objects.using("operator").filter(pk__in=pending["plans"]):
        try:
            plan.delete(using="operator")
        except Exception:  # still referenced by a committed test's rows: keep it
            continue
    for ids in pending.values():
        ids.clear()


def allow_task_joins() -> None:
    """This process is a client of its tasks, never a worker: joining a result is allowed.

    Celery marks "inside a task" with one flag per process, not per thread: an eager
    `apply_async` sets it and restores the value it found. Two threads applying eagerly at
    once (a threaded test server, a race test's threads) can restore each other's value
    and leave it set, and every later `result.get()` in this process then fails with
    "Never call result.get() within a task!" (which test hit it depended on the order)."""
    from celery._state import _set_task_join_will_block

    _set_task_join_will_block(False)


@pytest.fixture(autouse=True)
def task_joins_allowed():
    allow_task_joins()
    yield


@pytest.fixture(autouse=True)
def control_plane_cleanup(request):
    """Remove the tenants, plans and operators tests commit through the operator role.

    Database servers a test registers are deactivated instead (tenants may still name them).
    """
    uses_db = "django_db_setup" in request.fixturenames or request.node.get_closest_marker(
        "django_db"
    )
    if not uses_db:
        yield
        return
    from django.utils import timezone

    from billing.models import Plan
    from operators.models import Operator
    from tenants.backends.pools import MAIN_SERVER
    from tenants.models import DatabaseServer, Tenant

    request.getfixturevalue("django_db_setup")
    blocker = request.getfixturevalue("django_db_blocker")
    started = timezone.now()
    with blocker.unblock():
        _remove_committed_control_plane_rows()
        last_plan = Plan.objects.using("operator").order_by("-pk").values_list("pk", flat=True)
        last_plan = last_plan.first() or 0
    yield
    with blocker.unblock():
        pending = _committed_by_earlier_tests
        tenants = Tenant.objects.using("operator").filter(created_at__gte=started)
        pending["tenants"] += list(tenants.values_list("pk", flat=True))
        operators = Operator.objects.filter(created_at__gte=started)
        pending["operators"] += list(operators.values_list("pk", flat=True))
        plans = Plan.objects.using("operator").filter(pk__gt=last_plan)
        pending["plans"] += list(plans.values_list("pk", flat=True))
        # Servers a test registered (often at a URL that stops answering after it) are
        # never chosen by a later test's placement (the least-loaded rule) or health check.
        DatabaseServer.objects.using("operator").filter(created_at__gte=started).exclude(
            name=MAIN_SERVER
        ).update(is_active=False)
    # A tenant database's connection stays checked out of its pool until closed; a request
    # closes it at its end, a test must too, or a later test finds every pool of the
    # process busy (TENANT_DB_MAX_POOLS) and is refused.
    for conn in connections.all(initialized_only=True):
        if conn.alias.startswith(("tenant_", "pool_")) and not conn.in_atomic_block:
            conn.close()


@pytest.fixture
def committed_db(django_db_setup, django_db_blocker):
    """Database access without the per-test transaction: writes really commit.

    For tests about connections, transactions and other processes. Such tests
    create uniquely named tenants, so they need no flush.
    """
    with django_db_blocker.unblock():
        yield
        for conn in connections.all():
            conn.close()


@pytest.fixture
def test_database_url(django_db_setup) -> str:
    """DATABASE_URL pointing at this worker's test database (for subprocesses)."""
    base, _, _ = settings.DATABASE_URL.rpartition("/")
    return f"{base}/{django_db_setup}"


def unique_subdomain(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def tenant_a(db):
    return TenantFactory(name="Alpha", subdomain=unique_subdomain("alpha"))


@pytest.fixture
def tenant_b(db):
    return TenantFactory(name="Beta", subdomain=unique_subdomain("beta"))


MODES = ["shared", "schema", "database"]


@pytest.fixture(params=MODES)
def mode(request) -> str:
    """The isolation mode: a test that takes `mode` runs once in each of the three.

    The one home of "in every mode": a test that means a subset says so with its own
    `@pytest.mark.parametrize("mode", [...])`, which overrides this fixture.
    """
    return request.param


def make_tenant(mode: str, prefix: str = "t", **kwargs):
    return TenantFactory(subdomain=unique_subdomain(prefix), isolation=mode, **kwargs)


@pytest.fixture
def registry_listening():
    """This process's registry listener connected (and its reset on connecting done), so a
    test's cached entries are not dropped by that reset halfway through."""
    import time

    from tenants import registry_listener

    registry_listener.ensure_running()
    deadline = time.monotonic() + 10
    while not registry_listener.is_connected() and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.2)  # the reset follows the connection


@pytest.fixture(scope="module")
def server(django_db_setup):
    """A gunicorn server (tests.live.LiveServer) on this worker's test database, one per test
    module: the real door. A module that needs other settings defines its own `server`."""
    from tests.live import LiveServer

    base, _, _ = settings.DATABASE_URL.rpartition("/")
    with LiveServer(f"{base}/{django_db_setup}") as live:
        yield live
