"""Online moves: the tenant keeps reading and writing through a real server while it moves.

A writer and a reader call the API of a running server (gunicorn) for the whole move of
a shared tenant holding ~50,000 rows. Every acknowledged write must be at the new placement
exactly once, nothing that was refused may be there, reads and writes succeed during the
copy, and the only refusals are the brief `tenant_moved` ones of the switch.
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections import Counter

import psycopg
import pytest
from django.conf import settings
from django.db import connections

from billing.models import Plan
from projects.models import Project, Task
from tenants.backends import backend_for, capture
from tenants.backends.move import MoveError, tenant_move, tenant_move_resume, tenant_move_rollback
from tenants.context import dangerously_unscoped, tenant_scope
from tenants.control import control_alias
from tenants.database_config import admin_conninfo
from tenants.models import MovePhase, TenantMove
from tenants.services import tenant_get
from tests.api.conftest import mint
from tests.conftest import make_tenant
from tests.factories import ProjectFactory, UserFactory
from tests.live import LiveServer
from tests.live_client import api, tenant_host
from tests.tenants.test_second_server import second_server  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.isolation, pytest.mark.slow]

SEED_PROJECTS, SEED_TASKS_EACH = 50, 1000  # 50,050 rows


def _plan() -> Plan:
    """No plan limit or rate limit in the way of a writer that never stops."""
    pro = Plan.objects.get(code="pro")
    return Plan.objects.using(control_alias("test: an unlimited plan")).create(
        code=f"online-{uuid.uuid4().hex[:8]}",
        features=pro.features,
        name="Online move test",
        api_requests_per_minute=1_000_000,
        max_concurrent_requests=None,
    )


def _seed(tenant) -> None:
    with connections["operator"].cursor() as cur:
        cur.execute(
            "INSERT INTO projects_project (id, tenant_id, name, description, created_at, "
            "updated_at) SELECT gen_random_uuid(), %s, 'seed-' || g, '', now(), now() "
            "FROM generate_series(1, %s) g",
            [tenant.pk, SEED_PROJECTS],
        )
        cur.execute(
            "INSERT INTO projects_task (id, tenant_id, project_id, title, status, created_at, "
            "updated_at) SELECT gen_random_uuid(), p.tenant_id, p.id, 'seed-' || g, 'todo', "
            "now(), now() FROM projects_project p, generate_series(1, %s) g "
            "WHERE p.tenant_id = %s AND p.name LIKE 'seed-%%'",
            [SEED_TASKS_EACH, tenant.pk],
        )


class Load:
    """A writer (POST a task, each with a new title) and a reader (GET the project) in threads."""

    def __init__(self, server, tenant, token, project_id):
        self.server, self.host, self.token = server, tenant_host(tenant), token
        self.path = f"/api/v1/projects/{project_id}/"
        self.writes: list[
            tuple[float, float, int, str, str]
        ] = []  # start, end, status, title, code
        self.reads: list[tuple[float, float, int]] = []
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._write), threading.Thread(target=self._read)]

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(30)

    def _write(self):
        n = 0
        while not self.stop.is_set():
            n += 1
            title = f"w-{n}"
            start = time.monotonic()
            status, body = api(
                self.server, self.host, self.token, "POST", self.path + "tasks/", {"title": title}
            )
            code = ((body or {}).get("error") or {}).get("code", "") if status != 201 else ""
            self.writes.append((start, time.monotonic(), status, title, code))
            if status != 201:
                time.sleep(0.02)

    def _read(self):
        while not self.stop.is_set():
            start = time.monotonic()
            status, _ = api(self.server, self.host, self.token, "GET", self.path)
            self.reads.append((start, time.monotonic(), status))
            time.sleep(0.01)

    def acknowledged(self) -> list[str]:
        return [title for _, _, status, title, _ in self.writes if status == 201]

    def write_pause_ms(self) -> float:
        """The longest gap between two acknowledged writes, as the writer saw it."""
        ends = [end for _, end, status, _, _ in self.writes if status == 201]
        return max((b - a for a, b in itertools.pairwise(ends)), default=0) * 1000


def _online_move(test_database_url, to, server=None, expect_server_url=None):
    tenant = make_tenant("shared", "online", plan=_plan())
    owner = UserFactory(tenant=tenant, email="owner@online.test", role="owner")
    project = ProjectFactory(tenant=tenant, name="writes-land-here", created_by=owner)
    _seed(tenant)
    token = mint(tenant)
    marks: dict[str, float] = {}

    def progress(pct, message):
        marks.setdefault(message.split(":")[0].split(" (")[0], time.monotonic())

    live = LiveServer(test_database_url, server="gthread", threads=4)
    with live, Load(live, tenant, token, project.pk) as load:
        time.sleep(1.0)  # writes before the move
        started = time.monotonic()
        with dangerously_unscoped("test: an operator's online move"):
            move = tenant_move(
                tenant=tenant_get(tenant.subdomain), to=to, server=server, progress=progress
            )
        finished = time.monotonic()
        time.sleep(1.5)  # writes after it
    assert move.phase == MovePhase.DONE, move.error
    moved = tenant_get(tenant.subdomain)
    assert (moved.isolation, moved.status) == (to, "active")
    if expect_server_url:
        assert moved.database_server.url == expect_server_url

    # Nothing lost, nothing duplicated, nothing refused that landed anyway.
    acknowledged = load.acknowledged()
    assert len(acknowledged) > 20, Counter((w[2], w[4]) for w in load.writes)
    with tenant_scope(moved):
        landed = list(
            Task.objects.filter(project_id=project.pk, title__startswith="w-").values_list(
                "title", flat=True
            )
        )
        total = Task.objects.count()
        assert Project.objects.count() == SEED_PROJECTS + 1
    assert len(landed) == len(set(landed)), "a write was duplicated"
    assert set(landed) == set(acknowledged), (
        f"lost: {sorted(set(acknowledged) - set(landed))[:5]}, "
        f"refused but landed: {sorted(set(landed) - set(acknowledged))[:5]}"
    )
    assert total == SEED_PROJECTS * SEED_TASKS_EACH + len(acknowledged)

    # The tenant was served during the copy: everything before the switch succeeded, …
    switching = marks["switching"]
    during_copy = [w for w in load.writes if started <= w[0] and w[1] < switching]
    reads_during_copy = [r for r in load.reads if started <= r[0] and r[1] < switching]
    assert during_copy and reads_during_copy
    assert {w[2] for w in during_copy} == {201}, (
        [(round(w[0] - started, 3), w[2], w[4]) for w in during_copy if w[2] != 201],
        {k: round(v - started, 3) for k, v in marks.items()},
    )
    assert {r[2] for r in reads_during_copy} == {200}
    # … the only refusals were the switch's retryable ones, …
    refused = [w for w in load.writes if w[2] != 201]
    assert {(w[2], w[4]) for w in refused} <= {(503, "tenant_moved")}, refused[:5]
    assert {r[2] for r in load.reads} <= {200, 503}
    # … and after the switch the new placement serves every request.
    after = [w for w in load.writes if w[0] > finished]
    assert after and {w[2] for w in after} == {201}

    # The source and its capture are gone.
    with connections["operator"].cursor() as cur:
        cur.execute("SELECT count(*) FROM public.projects_task WHERE tenant_id = %s", [tenant.pk])
        assert cur.fetchone()[0] == 0
        cur.execute(
            "SELECT count(*) FROM pg_trigger WHERE tgname LIKE %s",
            [f"saas_move_%{tenant.pk.hex}"],
        )
        assert cur.fetchone()[0] == 0
        cur.execute("SELECT to_regclass(%s)", [f"public.{capture.capture_table(tenant.pk)}"])
        assert cur.fetchone()[0] is None
    print(
        f"\nonline move shared → {to}: {total} tasks, copy+switch {finished - started:.1f}s, "
        f"{len(acknowledged)} writes acknowledged ({len(refused)} refused at the switch), "
        f"write pause {move.write_pause_ms:.0f} ms in the mover, "
        f"{load.write_pause_ms():.0f} ms as the writer saw it"
    )


def test_online_move_to_a_schema_under_load(committed_db, test_database_url):
    _online_move(test_database_url, "schema")


def test_online_move_to_another_server_under_load(
    committed_db,
    test_database_url,
    second_server,  # noqa: F811
):
    from tenants.servers import server_for_placement

    with dangerously_unscoped("test: registering a server"):
        server = server_for_placement(region="default", database_url=second_server)
    _online_move(test_database_url, "database", server=server, expect_server_url=second_server)


# --- interrupted moves: the capture keeps every change until the move resumes or rolls back


def _interrupted(monkeypatch, tenant):
    """A move that stopped right after its copy (the mover died): phase catching_up."""
    from tenants.backends import move as move_module

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("the mover died")

    monkeypatch.setattr(move_module, "_catch_up_and_switch", crash)
    with dangerously_unscoped("test: an operator's move"), pytest.raises(KeyboardInterrupt):
        tenant_move(tenant=tenant_get(tenant.subdomain), to="schema")
    monkeypatch.undo()
    with dangerously_unscoped("test: reading the move record"):
        assert TenantMove.objects.get(tenant=tenant).phase == MovePhase.CATCHING_UP


def _tasks(tenant, project) -> None:
    with tenant_scope(tenant):
        for i in range(1, 6):
            Task.objects.create(project=project, title=f"seed-{i}")


def _titles(tenant) -> list[str]:
    with tenant_scope(tenant_get(tenant.subdomain)):
        return sorted(Task.objects.values_list("title", flat=True))


def _change_while_interrupted(tenant, project):
    """Insert, update and delete as the app while the move is open: all captured."""
    with tenant_scope(tenant_get(tenant.subdomain)):
        Task.objects.create(project=project, title="added-while-moving")
        Task.objects.filter(title="seed-1").update(title="renamed-while-moving")
        Task.objects.filter(title="seed-2").delete()


def test_a_resumed_move_replays_what_changed_while_it_was_down(committed_db, monkeypatch):
    tenant = make_tenant("shared", "onres")
    project = ProjectFactory(tenant=tenant, name="p")
    _tasks(tenant, project)
    _interrupted(monkeypatch, tenant)
    _change_while_interrupted(tenant, project)
    expected = _titles(tenant)
    assert "added-while-moving" in expected and "seed-2" not in expected
    with dangerously_unscoped("test: an operator's move"):
        move = tenant_move_resume(tenant=tenant_get(tenant.subdomain))
    assert move.phase == MovePhase.DONE and move.write_pause_ms is not None
    moved = tenant_get(tenant.subdomain)
    assert moved.isolation == "schema"
    assert _titles(moved) == expected


def test_a_rolled_back_online_move_leaves_the_source_serving(committed_db, monkeypatch):
    tenant = make_tenant("shared", "onrb")
    project = ProjectFactory(tenant=tenant, name="p")
    _tasks(tenant, project)
    _interrupted(monkeypatch, tenant)
    _change_while_interrupted(tenant, project)
    expected = _titles(tenant)
    with dangerously_unscoped("test: an operator's move"):
        move = tenant_move_rollback(tenant=tenant_get(tenant.subdomain))
    assert move.phase == MovePhase.ROLLED_BACK
    back = tenant_get(tenant.subdomain)
    assert (back.isolation, back.status) == ("shared", "active")
    assert _titles(back) == expected
    schema = backend_for(tenant_get(tenant.subdomain)).placement(back)
    with psycopg.connect(admin_conninfo(settings.DATABASE_URL, schema.dbname)) as c:
        assert not c.execute(
            "SELECT 1 FROM pg_namespace WHERE nspname = %s", [back.schema_name]
        ).fetchone()
        assert not c.execute(
            "SELECT 1 FROM pg_trigger WHERE tgname LIKE %s", [f"saas_move_%{tenant.pk.hex}"]
        ).fetchone()
    # and it takes writes again, from its source, with nothing captured any more
    with tenant_scope(back):
        Task.objects.create(project=project, title="after-rollback")
    assert "after-rollback" in _titles(back)


def test_only_one_process_drives_a_move(committed_db):
    tenant = make_tenant("shared", "onlock")
    placement = backend_for(tenant).placement(tenant)
    with placement.connect(autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", [f"move:{tenant.pk}"])
        with (
            dangerously_unscoped("test: an operator's move"),
            pytest.raises(MoveError, match="another process"),
        ):
            tenant_move(tenant=tenant_get(tenant.subdomain), to="schema")
        with (
            dangerously_unscoped("test: an operator's move"),
            pytest.raises(MoveError, match="another process"),
        ):
            tenant_move_rollback(tenant=tenant_get(tenant.subdomain))


def test_a_tenant_is_not_deleted_under_an_open_move(committed_db, monkeypatch):
    from tenants.services import TenantError, tenant_delete

    tenant = make_tenant("shared", "ondel")
    _interrupted(monkeypatch, tenant)
    with pytest.raises(TenantError, match="is in progress"):
        tenant_delete(tenant=tenant_get(tenant.subdomain))
    assert tenant_get(tenant.subdomain).status == "active"
    with dangerously_unscoped("test: an operator's move"):
        tenant_move_rollback(tenant=tenant_get(tenant.subdomain))


def test_the_app_role_gains_nothing_on_the_capture(committed_db, monkeypatch):
    from django.db import DatabaseError, transaction

    tenant = make_tenant("shared", "oncap")
    _interrupted(monkeypatch, tenant)
    table = f"public.{capture.capture_table(tenant.pk)}"
    with tenant_scope(tenant_get(tenant.subdomain)), connections["default"].cursor() as cur:
        for statement in (
            f"SELECT count(*) FROM {table}",
            f"INSERT INTO {table} (tbl, key) VALUES ('projects_task', 'x')",
            f"DELETE FROM {table}",
        ):
            with pytest.raises(DatabaseError, match="permission denied"), transaction.atomic():
                cur.execute(statement)
    with dangerously_unscoped("test: an operator's move"):
        tenant_move_rollback(tenant=tenant_get(tenant.subdomain))
