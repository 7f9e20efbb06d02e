"""Tenant-host URLs for the bench: the product's, plus the bench list/create endpoint."""

from django.urls import path

from benchmarks import views
from saas.urls_tenant import urlpatterns as product

urlpatterns = [
    path("bench/projects/", views.TenantProjectsApi.as_view()),
    *product,
]
