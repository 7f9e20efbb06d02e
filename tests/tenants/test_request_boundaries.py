"""Request boundaries visit the connections a request used, not every alias of the thread.

A process registers an alias per tenant database it serves (up to TENANT_DB_MAX_POOLS).
Django's own receivers visited every alias the thread had initialised, three times per
request; tenants.db.request_boundaries visits the wrappers that connected since the last
boundary (or still hold a connection) and gives their connections back as Django would.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper

from tenants.db import register_alias
from tenants.db import request_boundaries as boundaries


def test_a_server_process_has_these_receivers_in_place_of_djangos(test_database_url):
    probe = (
        "import django; django.setup()\n"
        "from django.core import signals\n"
        "from django.db import close_old_connections, reset_queries\n"
        "from tenants.db import request_boundaries as b\n"
        "started = signals.request_started._live_receivers(None)[0]\n"
        "finished = signals.request_finished._live_receivers(None)[0]\n"
        "assert b.request_started in started and b.request_finished in finished\n"
        "assert reset_queries not in started and close_old_connections not in started\n"
        "assert close_old_connections not in finished\n"
        "print('ok')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        env={
            **os.environ,
            "DATABASE_URL": test_database_url,
            "DJANGO_SETTINGS_MODULE": "saas.settings.base",
            "DEBUG": "1",
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.stdout.strip() == "ok", out.stderr[-2000:]


@pytest.fixture
def visits(monkeypatch):
    seen = []
    original = BaseDatabaseWrapper.close_if_unusable_or_obsolete

    def counting(self):
        seen.append(self.alias)
        return original(self)

    monkeypatch.setattr(BaseDatabaseWrapper, "close_if_unusable_or_obsolete", counting)
    return seen


def test_idle_tenant_aliases_are_not_visited_and_used_connections_go_back(committed_db, visits):
    # 30 tenant-database aliases this thread has initialised and given back (as after
    # serving 30 database tenants): none holds a connection.
    config = dict(connections.settings["default"])
    aliases = [f"boundary_probe_{i}" for i in range(30)]
    for alias in aliases:
        register_alias(alias, config)
        assert connections[alias].connection is None
    try:
        boundaries.request_started(sender=WSGIHandler)
        with connections["default"].cursor() as cur:  # the request uses one connection
            cur.execute("SELECT 1")
        visits.clear()
        boundaries.request_finished(sender=WSGIHandler)
        assert set(visits) <= {"default", "operator", "owner"}, visits
        assert "default" in visits
        assert not set(aliases) & set(visits)
        # The used connection is back in its pool (CONN_MAX_AGE 0: closed at the boundary).
        assert connections["default"].connection is None
        visits.clear()
        boundaries.request_started(sender=WSGIHandler)  # the next request: nothing left open
        assert not set(aliases) & set(visits)
    finally:
        for alias in aliases:
            del connections[alias]
            del connections.settings[alias]


def test_the_test_client_keeps_its_connections_like_djangos_receivers(committed_db, visits):
    from django.test.client import ClientHandler

    with connections["default"].cursor() as cur:
        cur.execute("SELECT 1")
    boundaries.request_started(sender=ClientHandler)
    boundaries.request_finished(sender=ClientHandler)
    assert visits == []
    assert connections["default"].connection is not None
