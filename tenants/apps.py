from django.apps import AppConfig
from django.db import connections


class TenantsConfig(AppConfig):
    name = "tenants"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from tenants import (
            checks,  # noqa: F401 - registers the system checks
            tasks,  # noqa: F401 - the outbox drain, in every process
        )
        from tenants.backends import register
        from tenants.backends.database import DatabaseBackend
        from tenants.backends.schema import SchemaBackend
        from tenants.backends.shared import SharedBackend
        from tenants.db import handler
        from tenants.models import Isolation

        # The backends import the model; the model reaches them through this registry.
        register(Isolation.SHARED, SharedBackend())
        register(Isolation.SCHEMA, SchemaBackend())
        register(Isolation.DATABASE, DatabaseBackend())
        # The request signals' walk over open connections, without a step per tenant database.
        handler.install(connections)
