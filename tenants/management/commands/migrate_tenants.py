"""Migrate every placement: pooled tables, each tenant schema, each tenant database."""

import json

from django.core.management.base import CommandError

from tenants.backends.fleet import migrate_tenants
from tenants.commands import OperatorCommand
from tenants.management.progress import Progress, table


class Command(OperatorCommand):
    help = (
        "Apply migrations to the pooled tables, every tenant schema and every tenant "
        "database. Reports per-tenant state; exits non-zero if any placement failed "
        "(re-run to resume: only what is behind is touched)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--parallel", type=int, default=4, help="placements migrated at once")
        parser.add_argument(
            "--skip-pooled",
            action="store_true",
            help="do not run `migrate` for the pooled tables first",
        )
        parser.add_argument("--json", action="store_true", help="machine-readable report")
        parser.add_argument(
            "--executor",
            action="store_true",
            help="run Django's executor in every placement instead of the SQL "
            "rendered once per group (slow; for migrations that introspect "
            "objects created earlier in the same batch)",
        )

    def handle(self, *args, **opts):
        if opts["parallel"] < 1:
            raise CommandError("--parallel must be at least 1")
        progress = Progress(self.stderr._out, label="migrate_tenants")

        def report(outcome, done, total):
            progress.count(
                done, total, f"{outcome.subdomain} ({outcome.isolation}): {_status(outcome)}"
            )

        if not opts["skip_pooled"]:
            progress.step("pooled", "migrating the pooled tables")
        try:
            outcomes = migrate_tenants(
                parallel=opts["parallel"],
                pooled=not opts["skip_pooled"],
                executor=opts["executor"],
                progress=report,
            )
        finally:
            progress.close()
        failed = [o for o in outcomes if not o.ok]
        if opts["json"]:
            self.stdout.write(
                json.dumps(
                    [
                        {
                            "subdomain": o.subdomain,
                            "isolation": o.isolation,
                            "applied": o.applied,
                            "status": "failed" if o.error else "ok",
                            "error": o.error,
                        }
                        for o in outcomes
                    ],
                    indent=2,
                )
            )
        else:
            headers = ("SUBDOMAIN", "MODE", "APPLIED", "RESULT", "ERROR")[: 5 if failed else 4]
            rows = [
                (o.subdomain, o.isolation, o.applied, _status(o), o.error)[: len(headers)]
                for o in outcomes
            ]
            if rows:
                for line in table(headers, rows):
                    self.stdout.write(line)
            migrated = sum(1 for o in outcomes if o.applied)
            self.stdout.write(
                f"{len(outcomes)} placements: {migrated} migrated, "
                f"{len(outcomes) - migrated - len(failed)} already current, {len(failed)} failed"
            )
        if failed:
            raise CommandError(
                f"{len(failed)} placement(s) not migrated; they are refused service until a "
                "re-run of migrate_tenants succeeds"
            )


def _status(outcome) -> str:
    if outcome.error:
        return "failed"
    return "migrated" if outcome.applied else "current"
