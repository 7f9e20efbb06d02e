from decimal import Decimal

from django.db import migrations, models

OBJECTIVES = {
    "free": (1000, Decimal("99.000")),
    "pro": (500, Decimal("99.500")),
    "enterprise": (300, Decimal("99.900")),
}


def set_objectives(apps, schema_editor):
    Plan = apps.get_model("billing", "Plan")
    for code, (p95, availability) in OBJECTIVES.items():
        Plan.objects.using(schema_editor.connection.alias).filter(code=code).update(
            sla_p95_ms=p95, sla_availability_pct=availability
        )


class Migration(migrations.Migration):
    dependencies = [("billing", "0002_billing")]

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
        migrations.RunPython(set_objectives, migrations.RunPython.noop),
    ]
