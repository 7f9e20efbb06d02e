"""`migrate`, run as the owner role, after making sure the roles and database exist."""

from django.conf import settings
from django.core.management.commands.migrate import Command as DjangoMigrate
from django.db import DEFAULT_DB_ALIAS, connections

from tenants import roles
from tenants.commands import OneLineErrors


class Command(OneLineErrors, DjangoMigrate):
    help = (
        "Creates the database roles and the database if needed, then applies "
        "migrations as the owner role (the app role owns no table)."
    )
    # The system checks inspect the live database as the app role: they run after the
    # migrations, so neither a first migrate nor an upgrade is refused for lacking what
    # it is about to create (a table's RLS, a grant).
    requires_system_checks = []

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--skip-checks", action="store_true", help="Skip system checks.")

    def handle(self, *args, **options):
        if options["database"] == DEFAULT_DB_ALIAS:
            # `default` is the app role, which may not own or create tables.
            options["database"] = "owner"
        alias = options["database"]
        if alias == "owner":
            dbname = connections[alias].settings_dict["NAME"]
            roles.ensure_roles(settings.DATABASE_URL)
            if roles.ensure_database(settings.DATABASE_URL, dbname) and options["verbosity"]:
                self.stdout.write(f"Created database {dbname}")
            roles.grant_database(settings.DATABASE_URL, dbname)
        run_checks = not options["skip_checks"]
        super().handle(*args, **options)
        if alias == "owner":
            roles.grant_schema_privileges(settings.DATABASE_URL, dbname, "public")
        if run_checks:
            self.check(databases=[DEFAULT_DB_ALIAS, alias])
