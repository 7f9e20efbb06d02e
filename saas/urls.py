"""URLs of the apex domain (public pages)."""

from django.urls import path

from saas import signup, views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("signup/", signup.signup, name="signup"),
    path("signup/check-subdomain/", signup.subdomain_check, name="subdomain_check"),
    path(".well-known/tenantry/tls-ask", views.tls_ask, name="tls_ask"),
]

handler400 = "saas.errors.bad_request"
handler403 = "saas.errors.permission_denied"
handler404 = "saas.errors.not_found"
handler500 = "saas.errors.server_error"
