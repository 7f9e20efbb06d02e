"""Start a job from the command line and optionally follow its progress."""

import time

from django.core.management.base import CommandError

from jobs.models import Job
from jobs.registry import kinds
from jobs.services import JobError, job_rows, job_start
from tenants.commands import OperatorCommand
from tenants.services import TenantError, tenant_get


class Command(OperatorCommand):
    help = "Queue a job (see --list) for a tenant or the operator; --wait follows it."

    def add_arguments(self, parser):
        parser.add_argument("kind", nargs="?")
        parser.add_argument("--tenant", help="subdomain, for tenant jobs")
        parser.add_argument(
            "--param", action="append", default=[], help="KEY=VALUE, repeatable (e.g. to=schema)"
        )
        parser.add_argument("--wait", action="store_true")
        parser.add_argument("--list", action="store_true", help="list job kinds")

    def handle(self, *args, **opts):
        if opts["list"] or not opts["kind"]:
            self.stdout.write("\n".join(kinds()))
            return
        malformed = [p for p in opts["param"] if "=" not in p or not p.split("=", 1)[0]]
        if malformed:
            # Dropping it would start a job other than the one asked for.
            raise CommandError(f"--param {malformed[0]!r}: expected KEY=VALUE (e.g. to=schema)")
        try:
            tenant = tenant_get(opts["tenant"]) if opts["tenant"] else None
            params = dict(p.split("=", 1) for p in opts["param"])
            job = job_start(
                kind=opts["kind"], tenant=tenant, params=params, requested_by="operator (command)"
            )
        except (JobError, TenantError, LookupError) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"job {job.pk} {job.status}")
        while opts["wait"] and not job.is_finished:
            time.sleep(1)
            with job_rows():  # an operator command: the operator role reads the row
                job = Job.objects.get(pk=job.pk)
            self.stdout.write(f"  {job.status} {job.progress}% {job.message}")
        if job.status in ("failed", "refused"):
            raise CommandError(job.message)
