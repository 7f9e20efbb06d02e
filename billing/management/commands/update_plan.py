"""Edit a plan's limits, features or price (takes effect at once for its tenants)."""

from django.core.management.base import BaseCommand, CommandError

from billing.errors import BillingError
from billing.models import Feature
from billing.plans import plan_update


def _limit(value: str):
    if value.strip().lower() in {"unlimited", "none"}:
        return None
    try:
        number = int(value)
    except ValueError:
        raise CommandError(f"{value!r} is not a whole number or 'unlimited'.") from None
    if number < 0:
        raise CommandError(f"{value!r} must not be negative.")
    return number


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise CommandError(f"{value!r} is not a whole number.") from None
    return number


class Command(BaseCommand):
    help = (
        "Edit a plan. Limits take a number or 'unlimited'. Lowering a limit below a tenant's "
        "usage blocks its new creations; the compliance run reports such tenants."
    )

    def add_arguments(self, parser):
        parser.add_argument("code", help="Plan code, e.g. pro")
        for name in ("max-members", "max-projects", "max-tasks-per-project"):
            parser.add_argument(f"--{name}", metavar="N|unlimited")
        parser.add_argument("--api-rpm", metavar="N", help="API requests per minute")
        parser.add_argument("--statement-timeout-ms", metavar="N")
        parser.add_argument("--price", metavar="D", help="Monthly price, e.g. 49.00")
        parser.add_argument(
            "--add-feature", action="append", default=[], choices=Feature.values, metavar="F"
        )
        parser.add_argument(
            "--remove-feature", action="append", default=[], choices=Feature.values, metavar="F"
        )

    def handle(self, *args, **opts):
        kwargs = {}
        for opt in ("max_members", "max_projects", "max_tasks_per_project"):
            if opts[opt] is not None:
                kwargs[opt] = _limit(opts[opt])
        if opts["api_rpm"] is not None:
            kwargs["api_requests_per_minute"] = _positive(opts["api_rpm"])
        if opts["statement_timeout_ms"] is not None:
            kwargs["statement_timeout_ms"] = _positive(opts["statement_timeout_ms"])
        if opts["price"] is not None:
            kwargs["monthly_price"] = opts["price"]
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
