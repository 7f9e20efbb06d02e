"""URLs of the operator console host: admin.<BASE_DOMAIN>."""

from django.urls import path

from saas import views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
]
