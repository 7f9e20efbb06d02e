"""Create or repair the owner, app and operator roles (idempotent)."""

from django.conf import settings

from tenants import roles
from tenants.commands import OperatorCommand
from tenants.database_config import APP_ROLE, OPERATOR_ROLE, OWNER_ROLE


class Command(OperatorCommand):
    help = "Create or repair the database roles saas_owner, saas_app and saas_operator."

    def handle(self, *args, **options):
        roles.ensure_roles(settings.DATABASE_URL)
        self.stdout.write(
            f"roles ready: {OWNER_ROLE} (owner), {APP_ROLE} (app), {OPERATOR_ROLE} (operator)"
        )
