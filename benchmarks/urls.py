"""Apex URLs for the bench: the product's, plus the no-tenancy baseline endpoint."""

from django.urls import path

from benchmarks import stock, views
from saas.urls import urlpatterns as product

urlpatterns = [
    path("plain/<uuid:tenant_id>/projects/", views.PlainProjectsApi.as_view()),
    path("stock/<slug:subdomain>/api/v1/projects/", stock.StockProjectsApi.as_view()),
    *product,
]
