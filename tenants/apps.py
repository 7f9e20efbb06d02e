from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from billing.signals import plan_changed
        from tenants import (
            checks,  # noqa: F401 - registers the system checks
            tasks,  # noqa: F401 - the outbox drain, in every process
        )
        from tenants.receivers import move_when_plan_requires_another_placement

        plan_changed.connect(
            move_when_plan_requires_another_placement, dispatch_uid="tenants.move_on_plan_change"
        )
