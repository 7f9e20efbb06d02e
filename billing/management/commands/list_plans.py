"""List the plans with their limits, features and price."""

import json

from billing.models import PLAN_OPERATOR_FIELDS
from billing.selectors import plan_list
from tenants.commands import OperatorCommand

FIELDS = PLAN_OPERATOR_FIELDS


def _row(plan) -> dict:
    row = {name: getattr(plan, name) for name in FIELDS}
    row["monthly_price"] = str(plan.monthly_price)
    row["sla_availability_pct"] = str(plan.sla_availability_pct)
    return row


class Command(OperatorCommand):
    help = "List the plans (tiers) with their limits; empty limits are unlimited."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Machine-readable output")

    def handle(self, *args, **opts):
        rows = [_row(p) for p in plan_list()]
        if opts["json"]:
            self.stdout.write(json.dumps(rows, indent=2))
            return

        def show(value):
            return "unlimited" if value is None else str(value)

        header = f"{'code':<12} {'price':>10} {'members':>9} {'projects':>9} {'tasks/proj':>10} {'api rpm':>8} {'timeout':>8} {'p95 obj':>8} {'avail':>7}  features"
        self.stdout.write(header)
        for r in rows:
            self.stdout.write(
                f"{r['code']:<12} {r['monthly_price'] + ' ' + r['currency']:>10} "
                f"{show(r['max_members']):>9} {show(r['max_projects']):>9} "
                f"{show(r['max_tasks_per_project']):>10} {r['api_requests_per_minute']:>8} "
                f"{str(r['statement_timeout_ms']) + 'ms':>8} {str(r['sla_p95_ms']) + 'ms':>8} "
                f"{r['sla_availability_pct'].rstrip('0').rstrip('.') + '%':>7}  "
                f"{', '.join(r['features']) or '-'}"
            )
