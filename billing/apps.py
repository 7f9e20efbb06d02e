from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from billing.receivers import move_when_plan_requires_another_placement
        from billing.signals import plan_changed

        plan_changed.connect(
            move_when_plan_requires_another_placement, dispatch_uid="billing.move_on_plan_change"
        )
