"""Even out the servers of a region: print the plan (dry run), or perform it with --apply."""

import json

from django.core.management.base import CommandError

from tenants.backends.rebalance import MEASURES, RebalanceError, rebalance_apply, rebalance_plan
from tenants.backends.sizes import human
from tenants.commands import OperatorCommand
from tenants.context import dangerously_unscoped
from tenants.management.progress import table


class Command(OperatorCommand):
    help = (
        "Plan moves that even out the servers of a region by the size of the tenants' data "
        "(--by size, the default) or by their number (--by count). Prints the plan with "
        "each server's tenants and bytes before and after; --apply performs the moves "
        "(move_tenant's copy, verification and switch), one at a time."
    )

    def add_arguments(self, parser):
        parser.add_argument("--region", required=True)
        parser.add_argument("--max-moves", type=int, default=10)
        parser.add_argument(
            "--by",
            choices=MEASURES,
            default="size",
            help="what to even out: the bytes of tenant data (size) or the tenants (count)",
        )
        parser.add_argument("--apply", action="store_true", help="perform the planned moves")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, **opts):
        # Registry and move records are the operator role's to write.
        with dangerously_unscoped(f"rebalance_tenants --region {opts['region']}"):
            self._handle(opts)

    def _handle(self, opts):
        try:
            plan = rebalance_plan(region=opts["region"], max_moves=opts["max_moves"], by=opts["by"])
        except RebalanceError as exc:
            raise CommandError(str(exc)) from None
        if opts["apply"]:
            rebalance_apply(plan)
        failed = [m for m in plan.moves if m.outcome not in ("planned", "done")]
        if opts["json"]:
            self.stdout.write(
                json.dumps(
                    {
                        "region": plan.region,
                        "by": plan.by,
                        "applied": opts["apply"],
                        "before": plan.before,
                        "after": plan.after,
                        "bytes_before": plan.bytes_before,
                        "bytes_after": plan.bytes_after,
                        "moves": [
                            {
                                "subdomain": m.tenant.subdomain,
                                "isolation": m.tenant.isolation,
                                "from": m.source.name,
                                "to": m.target.name,
                                "bytes": m.size,
                                "outcome": m.outcome,
                            }
                            for m in plan.moves
                        ],
                    },
                    indent=2,
                )
            )
        else:

            def size(sizes, name):
                return human(sizes[name]) if name in sizes else "?"

            servers = [
                (
                    n,
                    plan.before[n],
                    plan.after[n],
                    size(plan.bytes_before, n),
                    size(plan.bytes_after, n),
                )
                for n in plan.before
            ]
            heads = ("SERVER", "TENANTS", "AFTER", "DATA", "DATA AFTER")
            for line in table(heads, servers):
                self.stdout.write(line)
            if plan.moves:
                rows = [
                    (
                        m.tenant.subdomain,
                        m.tenant.isolation,
                        m.source.name,
                        m.target.name,
                        human(m.size) if plan.bytes_before else "?",
                        m.outcome,
                    )
                    for m in plan.moves
                ]
                heads = ("SUBDOMAIN", "MODE", "FROM", "TO", "DATA", "OUTCOME")
                for line in table(heads, rows):
                    self.stdout.write(line)
            if not opts["apply"]:
                self.stdout.write(
                    f"dry run: {len(plan.moves)} move(s) planned in region {plan.region} "
                    f"(by {plan.by}); "
                    "run again with --apply to perform them"
                )
            else:
                done = sum(1 for m in plan.moves if m.outcome == "done")
                self.stdout.write(f"{done} of {len(plan.moves)} move(s) done")
        if failed:
            raise CommandError(f"{len(failed)} move(s) not done: {failed[0].outcome}")
