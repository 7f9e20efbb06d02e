"""URLs of the operator console host: admin.<BASE_DOMAIN>."""

from django.urls import path

from operators import views as operator_views
from saas import views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("", operator_views.tenants, name="operator_tenants"),
    path("login/", operator_views.login_view, name="operator_login"),
    path("logout/", operator_views.logout_view, name="operator_logout"),
    path("tenants/<uuid:tenant_id>/", operator_views.tenant_detail, name="operator_tenant"),
    path(
        "tenants/<uuid:tenant_id>/suspend/",
        operator_views.tenant_suspend_view,
        name="operator_tenant_suspend",
    ),
    path(
        "tenants/<uuid:tenant_id>/reactivate/",
        operator_views.tenant_reactivate_view,
        name="operator_tenant_reactivate",
    ),
    path(
        "tenants/<uuid:tenant_id>/plan/",
        operator_views.tenant_plan_view,
        name="operator_tenant_plan",
    ),
    path(
        "tenants/<uuid:tenant_id>/jobs/",
        operator_views.tenant_job_start_view,
        name="operator_tenant_job",
    ),
]

handler400 = "saas.errors.bad_request"
handler403 = "saas.errors.permission_denied"
handler404 = "saas.errors.not_found"
handler500 = "saas.errors.server_error"
