"""Tenant URL conf for live tests: the real one plus a view that takes its time."""

import time

from django.http import JsonResponse
from django.urls import path

from saas.urls_tenant import urlpatterns as tenant_urlpatterns


def slow(request):
    time.sleep(min(float(request.GET.get("s", "1")), 5))
    return JsonResponse({"slept": True})


urlpatterns = [path("test-slow/", slow, name="test_slow"), *tenant_urlpatterns]
