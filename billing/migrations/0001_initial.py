from decimal import Decimal

from django.db import migrations, models

PLANS = [
    dict(
        code="free",
        name="Free",
        monthly_price=Decimal("0.00"),
        max_members=3,
        max_projects=3,
        max_tasks_per_project=50,
        api_requests_per_minute=60,
        features=["api_access"],
        required_isolation="",
        statement_timeout_ms=2000,
        sort_order=1,
    ),
    dict(
        code="pro",
        name="Pro",
        monthly_price=Decimal("49.00"),
        max_members=25,
        max_projects=100,
        max_tasks_per_project=1000,
        api_requests_per_minute=600,
        features=["api_access", "audit_log", "custom_domain"],
        required_isolation="",
        statement_timeout_ms=5000,
        sort_order=2,
    ),
    dict(
        code="enterprise",
        name="Enterprise",
        monthly_price=Decimal("499.00"),
        max_members=None,
        max_projects=None,
        max_tasks_per_project=None,
        api_requests_per_minute=6000,
        features=["api_access", "audit_log", "custom_domain", "dedicated_database"],
        required_isolation="database",
        statement_timeout_ms=30000,
        sort_order=3,
    ),
]


def seed_plans(apps, schema_editor):
    Plan = apps.get_model("billing", "Plan")
    for plan in PLANS:
        Plan.objects.using(schema_editor.connection.alias).update_or_create(
            code=plan["code"], defaults=plan
        )


class Migration(migrations.Migration):
    initial = True
    dependencies = []

    operations = [
        migrations.CreateModel(
            name="Plan",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True,
                        primary_key=True,
                        serialize=False,
                        verbose_name="ID",
                    ),
                ),
                ("code", models.SlugField(max_length=32, unique=True)),
                ("name", models.CharField(max_length=64)),
                (
                    "monthly_price",
                    models.DecimalField(
                        decimal_places=2, default=Decimal("0"), max_digits=10
                    ),
                ),
                ("currency", models.CharField(default="EUR", max_length=3)),
                (
                    "max_members",
                    models.PositiveIntegerField(
                        blank=True, help_text="empty = unlimited", null=True
                    ),
                ),
                ("max_projects", models.PositiveIntegerField(blank=True, null=True)),
                (
                    "max_tasks_per_project",
                    models.PositiveIntegerField(blank=True, null=True),
                ),
                ("api_requests_per_minute", models.PositiveIntegerField(default=60)),
                ("features", models.JSONField(blank=True, default=list)),
                (
                    "required_isolation",
                    models.CharField(blank=True, default="", max_length=16),
                ),
                ("statement_timeout_ms", models.PositiveIntegerField(default=5000)),
                ("is_public", models.BooleanField(default=True)),
                ("sort_order", models.PositiveSmallIntegerField(default=0)),
            ],
            options={"ordering": ["sort_order", "code"]},
        ),
        migrations.RunPython(seed_plans, migrations.RunPython.noop),
    ]
