"""The probe and scrape endpoints of each host kind's URL conf."""

from django.urls import path

from observability import health, metrics

# Every host kind: a load balancer probes whichever host it routes.
urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
]
# Apex and operator console only, and only for a scraper (see metrics.metrics_view).
metrics_urlpatterns = [path("metrics", metrics.metrics_view, name="metrics")]
