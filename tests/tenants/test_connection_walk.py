"""The walk over open connections (Django's request signals): Django's answer, without a step per alias.

A process serving tenant databases registers an alias per database; Django's own walk asked
the thread's storage once per registered alias, three times per request.
"""

import asyncio
import threading
import uuid

import pytest
from django.conf import settings
from django.db import connections
from django.db.utils import ConnectionHandler

from tenants.db import register_alias
from tenants.db.handler import TenantConnectionHandler


def djangos_walk():
    return ConnectionHandler.all(connections, initialized_only=True)


@pytest.fixture
def many_aliases():
    """Forty registered aliases (no connection is ever opened); the even ones initialised."""
    prefix = f"walk_{uuid.uuid4().hex[:6]}_"
    names = [f"{prefix}{i}" for i in range(40)]
    for name in names:
        register_alias(name, dict(settings.DATABASES["default"]))
    for name in names[::2]:
        connections[name]
    yield names
    for name in names:
        if hasattr(connections._connections, name):
            del connections[name]
        connections.settings.pop(name, None)


class CountingLocal:
    """Django's storage, counting how often the walk consults it."""

    def __init__(self, real):
        object.__setattr__(self, "real", real)
        object.__setattr__(self, "reads", 0)

    def __getattr__(self, name):
        object.__setattr__(self, "reads", self.reads + 1)
        return getattr(self.real, name)


def test_djangos_connections_walk_with_the_tenancy_handler():
    assert type(connections) is TenantConnectionHandler


def test_the_walk_answers_what_djangos_answers_in_the_same_order(many_aliases):
    walked = connections.all(initialized_only=True)

    assert [c.alias for c in walked] == [c.alias for c in djangos_walk()]
    assert all(a is b for a, b in zip(walked, djangos_walk(), strict=True))
    held = {c.alias for c in walked}
    assert set(many_aliases[::2]) <= held
    assert not set(many_aliases[1::2]) & held
    # Without initialized_only, every registered alias, as Django does.
    assert [c.alias for c in connections.all()] == list(connections.settings)


def test_another_thread_walks_only_its_own_connections(many_aliases):
    seen = {}

    def walk():
        seen["ours"] = [c.alias for c in connections.all(initialized_only=True)]
        seen["djangos"] = [c.alias for c in djangos_walk()]

    thread = threading.Thread(target=walk)
    thread.start()
    thread.join()

    assert seen["ours"] == seen["djangos"]
    assert not set(seen["ours"]) & set(many_aliases)


def test_inside_an_event_loop_djangos_walk_answers(many_aliases):
    async def walk():
        return [c.alias for c in connections.all(initialized_only=True)], [
            c.alias for c in djangos_walk()
        ]

    ours, djangos = asyncio.run(walk())

    assert ours == djangos


def test_the_walk_reads_the_storage_once_however_many_aliases_are_registered(many_aliases):
    real = connections._connections
    counting = CountingLocal(real)
    connections._connections = counting
    try:
        ours = connections.all(initialized_only=True)
        our_reads = counting.reads
        object.__setattr__(counting, "reads", 0)
        djangos = djangos_walk()
        django_reads = counting.reads
    finally:
        connections._connections = real

    assert [c.alias for c in ours] == [c.alias for c in djangos]
    assert our_reads == 1
    assert django_reads >= len(many_aliases)
