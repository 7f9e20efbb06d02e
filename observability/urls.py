"""The probe and scrape endpoints, included by every host kind's URL conf."""

from django.urls import path

from observability import health

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
]
