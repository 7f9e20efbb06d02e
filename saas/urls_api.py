"""The API on a tenant's host: /api/v1/ resources, /api/schema/, /api/docs/."""

from django.conf import settings
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import SimpleRouter

from accounts.api.views import InvitationViewSet, MemberViewSet, TokenViewSet
from api import schema  # noqa: F401  (registers the bearer scheme)
from api.filters import UUID_RE
from api.views import api_not_found
from audit.api.views import AuditEventViewSet
from billing.api.views import PlanApi, UsageApi
from domains.api import DomainViewSet
from projects.api.views import ProjectViewSet, TaskViewSet
from webhooks.api import DeliveryViewSet, WebhookViewSet

router = SimpleRouter()
router.register("projects", ProjectViewSet, basename="project")
router.register(rf"projects/(?P<project_pk>{UUID_RE})/tasks", TaskViewSet, basename="task")
router.register("members", MemberViewSet, basename="member")
router.register("invitations", InvitationViewSet, basename="invitation")
router.register("tokens", TokenViewSet, basename="token")
router.register("domains", DomainViewSet, basename="domain")
router.register("audit", AuditEventViewSet, basename="audit")
router.register("webhooks", WebhookViewSet, basename="webhook")
router.register(
    rf"webhooks/(?P<webhook_pk>{UUID_RE})/deliveries", DeliveryViewSet, basename="webhook-delivery"
)

v1 = [
    *router.urls,
    path("plan/", PlanApi.as_view(), name="plan"),
    path("usage/", UsageApi.as_view(), name="usage"),
]

app_name = "api"
urlpatterns = [
    path("v1/", include(v1)),
    path(
        "schema/",
        SpectacularAPIView.as_view(urlconf=settings.TENANT_URLCONF),
        name="schema",
    ),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    re_path(r"^[\s\S]*$", api_not_found),  # any path, newlines included
]
