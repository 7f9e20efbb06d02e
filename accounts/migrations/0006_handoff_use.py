from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("accounts", "0005_login_failure")]

    operations = [
        migrations.CreateModel(
            name="HandoffUse",
            fields=[
                ("nonce", models.CharField(max_length=64, primary_key=True, serialize=False)),
                ("used_at", models.DateTimeField()),
            ],
        ),
    ]
