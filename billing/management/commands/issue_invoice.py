"""Issue a tenant's invoice for its subscription's current period."""

from django.core.management.base import CommandError

from billing import money
from billing.errors import BillingError
from billing.invoices import invoice_for_period
from tenants.actors import add_actor_argument, command_actor
from tenants.commands import OperatorCommand
from tenants.services import TenantError, tenant_get


class Command(OperatorCommand):
    help = (
        "Issue (open) the invoice for a tenant's current billing period at its plan's "
        "monthly price. Refused when a live invoice already covers the period."
    )

    def add_arguments(self, parser):
        parser.add_argument("subdomain")
        parser.add_argument(
            "--tax-rate", required=True, help="a fraction as a decimal string: 0.19 is 19 %%"
        )
        add_actor_argument(parser)

    def handle(self, *args, **opts):
        try:
            tenant = tenant_get(opts["subdomain"])
            invoice = invoice_for_period(
                tenant=tenant, tax_rate=opts["tax_rate"], actor=command_actor(opts["actor"])
            )
        except (TenantError, BillingError) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"{tenant.subdomain}: invoice {invoice.number} issued, "
            f"total {money.quantize(invoice.total, invoice.currency)} {invoice.currency}"
        )
