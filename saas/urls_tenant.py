"""URLs on a tenant's host: <subdomain>.<BASE_DOMAIN>."""

from django.urls import include, path
from django.views.generic import RedirectView

from observability import urls as observability_urls
from projects.web import views as project_views

urlpatterns = [
    path("", project_views.dashboard, name="dashboard"),
    *observability_urls.urlpatterns,
    path("accounts/", include("accounts.urls")),
    # Where people type it: the sign-in page lives under /accounts/.
    path("login/", RedirectView.as_view(pattern_name="accounts:login", query_string=True)),
    path("api/", include("saas.urls_api")),
    path("exports/", include("jobs.urls")),
]

# --- Web UI: the tenant's server-rendered pages ------------------------------------------------
from accounts import views as account_views  # noqa: E402
from audit import views as audit_views  # noqa: E402
from billing import views as billing_views  # noqa: E402
from domains import views as domain_views  # noqa: E402
from webhooks import views as webhook_views  # noqa: E402

urlpatterns += [
    path(
        "invitations/accept/<str:token>/",
        account_views.invitation_accept,
        name="invitation_accept",
    ),
    path("members/", account_views.members, name="members"),
    path("members/<uuid:member_id>/role/", account_views.member_role, name="member_role"),
    path("members/<uuid:member_id>/remove/", account_views.member_remove, name="member_remove"),
    path(
        "members/invitations/<uuid:invitation_id>/revoke/",
        account_views.invitation_revoke,
        name="invitation_revoke",
    ),
    path("tokens/", account_views.tokens, name="tokens"),
    path("tokens/<uuid:token_id>/revoke/", account_views.token_revoke, name="token_revoke"),
    path("projects/", project_views.projects, name="projects"),
    path("projects/new/", project_views.project_create, name="project_create"),
    path("projects/<uuid:project_id>/", project_views.project_detail, name="project_detail"),
    path("projects/<uuid:project_id>/edit/", project_views.project_edit, name="project_edit"),
    path("projects/<uuid:project_id>/delete/", project_views.project_delete, name="project_delete"),
    path(
        "projects/<uuid:project_id>/tasks/<uuid:task_id>/edit/",
        project_views.task_edit,
        name="task_edit",
    ),
    path(
        "projects/<uuid:project_id>/tasks/<uuid:task_id>/delete/",
        project_views.task_delete,
        name="task_delete",
    ),
    path("billing/", billing_views.billing, name="billing"),
    path("audit/", audit_views.audit_log, name="audit_log"),
    path("domains/", domain_views.domains, name="domains"),
    path("domains/<uuid:domain_id>/verify/", domain_views.domain_verify, name="domain_verify"),
    path("domains/<uuid:domain_id>/remove/", domain_views.domain_remove, name="domain_remove"),
    path("audit/export.csv", audit_views.audit_export, name="audit_export"),
    path("webhooks/", webhook_views.webhooks, name="webhooks"),
    path("webhooks/<uuid:endpoint_id>/", webhook_views.webhook_detail, name="webhook_detail"),
    path(
        "webhooks/<uuid:endpoint_id>/toggle/", webhook_views.webhook_toggle, name="webhook_toggle"
    ),
    path(
        "webhooks/<uuid:endpoint_id>/rotate/", webhook_views.webhook_rotate, name="webhook_rotate"
    ),
    path(
        "webhooks/<uuid:endpoint_id>/delete/", webhook_views.webhook_delete, name="webhook_delete"
    ),
    path(
        "webhooks/<uuid:endpoint_id>/deliveries/<uuid:delivery_id>/resend/",
        webhook_views.webhook_resend,
        name="webhook_resend",
    ),
]

handler400 = "saas.errors.bad_request"
handler403 = "saas.errors.permission_denied"
handler404 = "saas.errors.not_found"
handler500 = "saas.errors.server_error"
