"""A registered server's login leaves the registry row the app role reads.

`tenants_databaseserver.url` held a URL with the login that may create roles and
databases (for the main server, DATABASE_URL's own); the app role could read it.
The row keeps the address (`address`, no credential); the login of every server but
the main one moves to `tenants_databaseserverlogin`, which only the operator role can
read (tenants.roles); the main server's login stays in DATABASE_URL and is dropped.
"""

from django.db import migrations, models


def split_logins(apps, schema_editor):
    from tenants.database_config import split_credentials

    DatabaseServer = apps.get_model("tenants", "DatabaseServer")
    DatabaseServerLogin = apps.get_model("tenants", "DatabaseServerLogin")
    db = schema_editor.connection.alias
    for server in DatabaseServer.objects.using(db).all():
        address, user, password = split_credentials(server.address)
        if (user or password) and server.name != "main":
            DatabaseServerLogin.objects.using(db).update_or_create(
                server_id=server.pk, defaults={"user": user, "password": password}
            )
        if address != server.address:
            DatabaseServer.objects.using(db).filter(pk=server.pk).update(address=address)


def join_logins(apps, schema_editor):
    from tenants.database_config import with_credentials

    DatabaseServer = apps.get_model("tenants", "DatabaseServer")
    DatabaseServerLogin = apps.get_model("tenants", "DatabaseServerLogin")
    db = schema_editor.connection.alias
    for login in DatabaseServerLogin.objects.using(db).all():
        server = DatabaseServer.objects.using(db).get(pk=login.server_id)
        url = with_credentials(server.address, login.user, login.password)
        DatabaseServer.objects.using(db).filter(pk=server.pk).update(address=url)


class Migration(migrations.Migration):
    dependencies = [("tenants", "0014_online_moves")]

    operations = [
        migrations.RenameField("databaseserver", "url", "address"),
        migrations.CreateModel(
            name="DatabaseServerLogin",
            fields=[
                (
                    "server",
                    models.OneToOneField(
                        on_delete=models.deletion.CASCADE,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to="tenants.databaseserver",
                    ),
                ),
                ("user", models.CharField(blank=True, default="", max_length=63)),
                ("password", models.CharField(blank=True, default="", max_length=500)),
            ],
        ),
        migrations.RunPython(split_logins, join_logins),
    ]
