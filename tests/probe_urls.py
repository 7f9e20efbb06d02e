"""Test-only views that report what the database sees inside a request."""

from django.db import connections
from django.http import JsonResponse
from django.urls import path

from tenants.routers import data_alias
from tenants.transactions import tenant_atomic


def _snapshot():
    with connections[data_alias()].cursor() as cur:
        cur.execute(
            "SELECT pg_backend_pid(), current_setting('app.current_tenant', true), "
            "coalesce(array_agg(name ORDER BY name) FILTER (WHERE name IS NOT NULL), '{}') "
            "FROM (SELECT name FROM projects_project) p"
        )
        pid, setting, names = cur.fetchone()
    return {"pid": pid, "setting": setting, "names": list(names)}


def probe(request):
    return JsonResponse(_snapshot())


def probe_atomic(request):
    with tenant_atomic():
        return JsonResponse(_snapshot())


def boom(request):
    with tenant_atomic():
        _snapshot()
        raise RuntimeError("view failed after querying")


def boom_autocommit(request):
    _snapshot()
    raise RuntimeError("view failed after querying")


urlpatterns = [
    path("probe/", probe),
    path("probe/atomic/", probe_atomic),
    path("probe/boom/", boom),
    path("probe/boom-autocommit/", boom_autocommit),
]
