"""List a tenant's invoices, newest first."""

import json

from django.core.management.base import CommandError

from billing import money
from billing.selectors import invoice_list
from tenants.commands import OperatorCommand
from tenants.context import tenant_scope
from tenants.services import TenantError, tenant_get

FIELDS = ("number", "status", "currency")
AMOUNTS = ("subtotal", "tax", "total")


def _row(invoice) -> dict:
    row = {name: str(getattr(invoice, name)) for name in FIELDS}
    for name in AMOUNTS:  # in the currency's minor unit, as the billing page shows them
        row[name] = str(money.quantize(getattr(invoice, name), invoice.currency))
    for name in ("period_start", "period_end", "issued_at", "paid_at", "voided_at"):
        value = getattr(invoice, name)
        row[name] = value.isoformat() if value else None
    return row


class Command(OperatorCommand):
    help = "List a tenant's invoices (newest first) with status, period and totals."

    def add_arguments(self, parser):
        parser.add_argument("subdomain")
        parser.add_argument("--json", action="store_true", help="Machine-readable output")

    def handle(self, *args, **opts):
        try:
            tenant = tenant_get(opts["subdomain"])
        except TenantError as exc:
            raise CommandError(str(exc)) from None
        with tenant_scope(tenant):
            rows = [_row(i) for i in invoice_list(tenant=tenant)]
        if opts["json"]:
            self.stdout.write(json.dumps(rows, indent=2))
            return
        if not rows:
            self.stdout.write(f"{tenant.subdomain} has no invoices")
            return
        self.stdout.write(f"{'number':<12} {'status':<6} {'period':<23} {'total':>12}")
        for r in rows:
            period = (
                f"{r['period_start'][:10]} – {r['period_end'][:10]}" if r["period_start"] else "-"
            )
            self.stdout.write(
                f"{r['number']:<12} {r['status']:<6} {period:<23} "
                f"{r['total'] + ' ' + r['currency']:>12}"
            )
