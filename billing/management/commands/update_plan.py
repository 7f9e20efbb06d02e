"""Edit a plan's limits, features or price (takes effect at once for its tenants)."""

from django.core.management.base import CommandError

from billing.errors import BillingError
from billing.models import Feature, Plan
from billing.plans import UNSET, plan_update
from tenants.commands import OperatorCommand, column

UNLIMITED = ("unlimited", "none")


class Command(OperatorCommand):
    help = (
        "Edit a plan. Limits take a number or 'unlimited'. Lowering a limit below a tenant's "
        "usage blocks its new creations; the compliance run reports such tenants."
    )

    def add_arguments(self, parser):
        parser.add_argument("code", help="Plan code, e.g. pro")
        # Each value is checked against its column up front (range, digits): a value the
        # database cannot hold is refused before anything is written.
        for name in ("max-members", "max-projects", "max-tasks-per-project"):
            field = name.replace("-", "_")
            parser.add_argument(
                f"--{name}",
                metavar="N|unlimited",
                default=UNSET,
                type=column(Plan, field, unlimited=UNLIMITED),
            )
        parser.add_argument(
            "--api-rpm",
            metavar="N",
            type=column(Plan, "api_requests_per_minute"),
            help="API requests per minute",
        )
        parser.add_argument(
            "--statement-timeout-ms", metavar="N", type=column(Plan, "statement_timeout_ms")
        )
        parser.add_argument(
            "--price",
            metavar="D",
            type=column(Plan, "monthly_price"),
            help="Monthly price, e.g. 49.00",
        )
        parser.add_argument(
            "--add-feature", action="append", default=[], choices=Feature.values, metavar="F"
        )
        parser.add_argument(
            "--remove-feature", action="append", default=[], choices=Feature.values, metavar="F"
        )

    def handle(self, *args, **opts):
        kwargs = {}
        for opt in ("max_members", "max_projects", "max_tasks_per_project"):
            if opts[opt] is not UNSET:
                kwargs[opt] = opts[opt]  # None: unlimited
        for opt, field in (
            ("api_rpm", "api_requests_per_minute"),
            ("statement_timeout_ms", "statement_timeout_ms"),
            ("price", "monthly_price"),
        ):
            if opts[opt] is not None:
                kwargs[field] = opts[opt]
        try:
            plan = plan_update(
                code=opts["code"],
                add_features=opts["add_feature"],
                remove_features=opts["remove_feature"],
                **kwargs,
            )
        except BillingError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"updated {plan.code}: members={plan.max_members} projects={plan.max_projects} "
            f"tasks/project={plan.max_tasks_per_project} api_rpm={plan.api_requests_per_minute} "
            f"timeout={plan.statement_timeout_ms}ms price={plan.monthly_price} "
            f"features={','.join(plan.features)}"
        )
