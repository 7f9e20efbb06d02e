"""Tasks and a job kind the worker tests load into a real worker (`celery worker -I`)."""

from __future__ import annotations

import os
import time

from celery import shared_task
from django.db import connections

from jobs.models import Job
from jobs.registry import job_kind
from jobs.services import job_effect_once, job_finish, job_report
from tenants.context import get_current_tenant, require_current_tenant
from tenants.routers import data_alias


class ProbeFailure(Exception):
    pass


@shared_task(name="tests.probe_visible", ignore_result=False)
def probe_visible(label: str, fail: bool = False):
    """What this task can see: its context, the database setting and the projects RLS shows."""
    tenant = get_current_tenant()
    # The connection that holds this tenant's rows (its own database in database mode).
    with connections[data_alias()].cursor() as cur:
        cur.execute("SELECT name FROM projects_project ORDER BY name")
        names = [row[0] for row in cur.fetchall()]
        cur.execute("SELECT current_setting('app.current_tenant', true)")
        setting = cur.fetchone()[0]
    seen = {
        "label": label,
        "tenant": str(tenant.pk) if tenant is not None else None,
        "setting": setting or "",
        "projects": names,
        "pid": os.getpid(),
    }
    if fail:
        raise ProbeFailure(f"failing on purpose after seeing {seen}")
    return seen


@job_kind("test_slow_effect", tenant=True)
def slow_effect(job, *, report):
    """Sleeps where the test wants to kill the worker; its effect (a project) must happen once."""
    from projects.models import Project

    tenant = require_current_tenant()
    job_report(job=job, progress=10, message=f"pid={os.getpid()} attempt={job.attempts}")
    if job.attempts == 1:
        time.sleep(job.params.get("sleep_before", 0))
    with job_effect_once(job) as already_done:
        if not already_done:
            Project.objects.create(tenant_id=tenant.pk, name=f"effect-{job.pk}")
            job_finish(job=job, result={"pid": os.getpid()})
    if job.attempts == 1:
        # The job is finished, so job_report() no longer writes: note the pid directly.
        Job.objects.filter(pk=job.pk).update(message=f"pid={os.getpid()} committed")
        time.sleep(job.params.get("sleep_after", 0))
    return {"pid": os.getpid()}
