from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from tenants import (
            checks,  # noqa: F401 - registers the system checks
            tasks,  # noqa: F401 - the outbox drain, in every process
        )
