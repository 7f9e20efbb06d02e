from decimal import Decimal

from django.db import migrations, models

# code: (p95 objective ms, availability objective %, requests in flight at once)
OBJECTIVES = {
    "free": (1000, Decimal("99.000"), 2),
    "pro": (500, Decimal("99.500"), 4),
    "enterprise": (300, Decimal("99.900"), 8),
}


def set_objectives(apps, schema_editor):
    Plan = apps.get_model("billing", "Plan")
    for code, (p95, availability, concurrent) in OBJECTIVES.items():
        Plan.objects.using(schema_editor.connection.alias).filter(code=code).update(
            sla_p95_ms=p95, sla_availability_pct=availability, max_concurrent_requests=concurrent
        )


class Migration(migrations.Migration):
    dependencies = [("billing", "0003_plan_registry_notify")]

    operations = [
        migrations.AddField(
            model_name="plan",
            name="sla_p95_ms",
            field=models.PositiveIntegerField(default=1000),
        ),
        migrations.AddField(
            model_name="plan",
            name="sla_availability_pct",
            field=models.DecimalField(decimal_places=3, default=Decimal("99.000"), max_digits=6),
        ),
        migrations.AddField(
            model_name="plan",
            name="max_concurrent_requests",
            field=models.PositiveIntegerField(blank=True, default=4, null=True),
        ),
        migrations.RunPython(set_objectives, migrations.RunPython.noop),
    ]
