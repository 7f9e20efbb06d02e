from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from billing.receivers import (
            move_when_plan_requires_another_placement,
            refuse_import_over_plan,
        )
        from billing.signals import plan_changed
        from tenants.signals import tenant_rows_imported

        plan_changed.connect(
            move_when_plan_requires_another_placement, dispatch_uid="billing.move_on_plan_change"
        )
        tenant_rows_imported.connect(
            refuse_import_over_plan, dispatch_uid="billing.refuse_import_over_plan"
        )
