from django.apps import AppConfig


class ObservabilityConfig(AppConfig):
    name = "observability"
    verbose_name = "Observability (health, logs, SLA measurement)"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.conf import settings

        # logs: connects the Celery signals that carry the request id into tasks and log them.
        from observability import logs, slow_statements  # noqa: F401
        from tenants.db import base

        # tenants.db times its statements; the slow ones are noted here (tenants imports nothing
        # of observability).
        base.SLOW_STATEMENT_SECONDS = settings.SLOW_STATEMENT_MS / 1000
        if slow_statements.observe not in base.slow_statement_observers:
            base.slow_statement_observers.append(slow_statements.observe)
