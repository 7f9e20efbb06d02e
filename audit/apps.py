from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from audit.receivers import record_tenant_status_change
        from tenants.signals import tenant_status_changed

        tenant_status_changed.connect(
            record_tenant_status_change, dispatch_uid="audit.tenant_status_changed"
        )
