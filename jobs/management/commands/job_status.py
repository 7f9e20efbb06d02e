"""Show recent jobs (or one) with status and progress."""

from django.core.management.base import CommandError

from jobs.models import Job
from jobs.services import job_rows
from tenants.commands import OperatorCommand, column


class Command(OperatorCommand):
    help = "List the latest jobs, or show one by id."

    def add_arguments(self, parser):
        parser.add_argument("job_id", nargs="?", type=column(Job, "id"))
        parser.add_argument("--limit", type=int, default=20)

    def handle(self, *args, **opts):
        with job_rows():  # every tenant's jobs: the operator role reads them
            jobs = Job.objects.all()
            if opts["job_id"]:
                jobs = jobs.filter(pk=opts["job_id"])
            jobs = list(jobs[: opts["limit"]])
        if opts["job_id"] and not jobs:
            raise CommandError(f"no such job: {opts['job_id']}")
        for job in jobs:
            self.stdout.write(
                f"{job.pk} {job.kind:<16} {job.status:<9} {job.progress:>3}% "
                f"tenant={job.tenant_id or '-'} attempts={job.attempts} {job.message}"
            )
