"""URLs of the apex domain (public pages)."""

from django.urls import path

from observability import urls as observability_urls
from saas import signup, views

urlpatterns = [
    path("", views.home, name="home"),
    *observability_urls.urlpatterns,
    *observability_urls.metrics_urlpatterns,
    path("signup/", signup.signup, name="signup"),
    path("signup/check-subdomain/", signup.subdomain_check, name="subdomain_check"),
    path(".well-known/tenantry/tls-ask", views.tls_ask, name="tls_ask"),
]
