"""URLs on a tenant's host: <subdomain>.<BASE_DOMAIN>."""

from django.urls import include, path

from projects.web import views as project_views
from saas import views

urlpatterns = [
    path("", project_views.dashboard, name="dashboard"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/", include("accounts.urls")),
    path("api/", include("saas.api.urls")),
    path("exports/", include("jobs.urls")),
]
