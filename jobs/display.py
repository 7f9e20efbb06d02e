"""How people see a job: a title and a sentence, never a kind name or a Python dict."""

from __future__ import annotations

from django.db import DatabaseError

from jobs.models import Job, JobStatus

# Seconds between two polls of a page that shows unfinished jobs (htmx `every`).
POLL_SECONDS = 2

_MOVE_TARGETS = {
    "database": "Move to a dedicated database",
    "schema": "Move to its own schema",
    "shared": "Move to the shared tables",
}
_TITLES = {"tenant_export": "Data export", "tenant_provision": "Provisioning"}
# What a job without a message of its own is doing, by status.
_IDLE = {
    JobStatus.QUEUED: "Waiting for a worker to start it.",
    JobStatus.RUNNING: "Started.",
    JobStatus.SUCCEEDED: "Finished.",
    JobStatus.FAILED: "Failed.",
    JobStatus.REFUSED: "Not run.",
}


def job_title(job: Job) -> str:
    if job.kind == "tenant_move":
        title = _MOVE_TARGETS.get(str(job.params.get("to", "")), "Move")
        server = job.params.get("server")
        return f"{title} on {server}" if isinstance(server, str) and server else title
    return _TITLES.get(job.kind) or job.kind.replace("_", " ").capitalize()


def job_sentence(job: Job) -> str:
    """The job's last message as a sentence: capitalised, ending with a full stop."""
    message = job.message if isinstance(job.message, str) else ""
    message = " ".join(message.split())
    if not message or (job.status == JobStatus.SUCCEEDED and message.lower() == "done"):
        return _IDLE.get(job.status, "")
    message = message[0].upper() + message[1:]
    return message if message.endswith((".", "!", "?")) else message + "."


# What a tenant reads when its job failed: the recorded error is for operators (it may name
# internals such as hosts or exception text); the console shows it in full.
TENANT_FAILED = "It did not complete. Request it again; if it fails again, contact support."


def job_sentence_for_tenant(job: Job) -> str:
    return TENANT_FAILED if job.status == JobStatus.FAILED else job_sentence(job)


def jobs_unfinished(jobs) -> bool:
    return any(not job.is_finished for job in jobs)


def with_requesters(*, tenant, jobs) -> list[Job]:
    """Give each job its `requester_label`: the member's address, read now from the tenant's
    placement (the global job row holds only the id), else the row's own label.

    Call it in the tenant's scope or not: the lookup enters it. One query for the page.
    """
    from accounts.models import User
    from tenants.context import tenant_scope

    ids = {job.requester_id for job in jobs if job.requester_id}
    emails, unknown = {}, "a former member"
    if ids:
        try:
            with tenant_scope(tenant):
                emails = dict(
                    User.objects.filter(tenant_id=tenant.pk, pk__in=ids).values_list("pk", "email")
                )
        except DatabaseError:
            # The tenant's placement is unreachable (the console still lists its jobs).
            unknown = "a member (not reachable now)"
    for job in jobs:
        if job.requester_id:
            job.requester_label = emails.get(job.requester_id, unknown)
        else:
            job.requester_label = job.requested_by
    return jobs
