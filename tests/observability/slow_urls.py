"""Tenant URL conf for live tests: the real one plus a view that takes its time."""

import time

from django.db import connection
from django.http import JsonResponse
from django.urls import path

from saas.urls_tenant import urlpatterns as tenant_urlpatterns


def slow(request):
    time.sleep(min(float(request.GET.get("s", "1")), 5))
    return JsonResponse({"slept": True})


def db_sleep(request):
    """A statement that holds one of the tenant's database slots for `s` seconds."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_sleep(%s)", [min(float(request.GET.get("s", "1")), 5)])
    return JsonResponse({"slept": True})


# A literal in the statement text: the console must show it as `?`.
SLOW_SQL = "SELECT pg_sleep(%s) WHERE 'slow-marker-literal' <> ''"


def slow_sql(request):
    """A slow statement of the request's tenant (its context rides with it)."""
    with connection.cursor() as cur:
        cur.execute(SLOW_SQL, [min(float(request.GET.get("s", "0.3")), 5)])
    return JsonResponse({"slept": True})


urlpatterns = [
    path("test-slow/", slow, name="test_slow"),
    path("test-db-sleep/", db_sleep, name="test_db_sleep"),
    path("test-slow-sql/", slow_sql, name="test_slow_sql"),
    *tenant_urlpatterns,
]
