"""URLs of the operator console host: admin.<BASE_DOMAIN>."""

from django.urls import path

from observability import urls as observability_urls
from operators import sla_views
from operators import views as operator_views

urlpatterns = [
    *observability_urls.urlpatterns,
    *observability_urls.metrics_urlpatterns,
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
    path(
        "tenants/<uuid:tenant_id>/jobs/table/",
        operator_views.tenant_jobs_view,
        name="operator_tenant_jobs",
    ),
    path("sla/", sla_views.sla_fleet, name="operator_sla_fleet"),
    path("tenants/<uuid:tenant_id>/sla/", sla_views.sla_tenant, name="operator_sla_tenant"),
    path(
        "tenants/<uuid:tenant_id>/sla.csv",
        sla_views.sla_tenant_csv,
        name="operator_sla_tenant_csv",
    ),
]

handler400 = "saas.errors.bad_request"
handler403 = "saas.errors.permission_denied"
handler404 = "saas.errors.not_found"
handler500 = "saas.errors.server_error"
