"""Create a platform operator who can sign in to the operator console."""

from django.core.management.base import CommandError

from operators.services import OperatorError, operator_create
from tenants.commands import OperatorCommand


class Command(OperatorCommand):
    help = "Create a platform operator (console login on admin.<BASE_DOMAIN>)."

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--password", required=True)

    def handle(self, *args, email, password, **options):
        try:
            operator = operator_create(email=email, password=password)
        except OperatorError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(self.style.SUCCESS(f"Operator {operator.email} created."))
