"""Record an invoice's payment (the provider's reference) or void it."""

from django.core.management.base import CommandError

from billing.errors import BillingError
from billing.invoices import invoice_mark_paid, invoice_void
from billing.selectors import invoice_get
from tenants.actors import add_actor_argument, command_actor
from tenants.commands import OperatorCommand
from tenants.context import tenant_scope
from tenants.services import TenantError, tenant_get


class Command(OperatorCommand):
    help = "Mark an open invoice paid (--paid REFERENCE) or void a draft or open one (--void)."

    def add_arguments(self, parser):
        parser.add_argument("subdomain")
        parser.add_argument("number", help="the invoice number, e.g. 2026-00001")
        action = parser.add_mutually_exclusive_group(required=True)
        action.add_argument("--paid", metavar="REFERENCE", help="the payment provider's reference")
        action.add_argument("--void", action="store_true")
        add_actor_argument(parser)

    def handle(self, *args, **opts):
        actor = command_actor(opts["actor"])
        try:
            tenant = tenant_get(opts["subdomain"])
            with tenant_scope(tenant):
                invoice = invoice_get(tenant=tenant, number=opts["number"])
            if invoice is None:
                raise CommandError(f"{tenant.subdomain} has no invoice {opts['number']!r}.")
            if opts["void"]:
                invoice = invoice_void(tenant=tenant, invoice=invoice, actor=actor)
            else:
                invoice = invoice_mark_paid(
                    tenant=tenant,
                    invoice=invoice,
                    external_payment_reference=opts["paid"],
                    actor=actor,
                )
        except (TenantError, BillingError) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"{tenant.subdomain}: invoice {invoice.number} is {invoice.status}")
