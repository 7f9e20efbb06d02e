from django.apps import AppConfig


class ObservabilityConfig(AppConfig):
    name = "observability"
    verbose_name = "Observability (health, logs, SLA measurement)"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Connects the Celery signals that carry the request id into tasks and log them.
        from observability import logs  # noqa: F401
