"""Jobs are shown in words: a title from the kind and its parameters, the message as a sentence."""

from __future__ import annotations

import pytest

from jobs.display import TENANT_FAILED, job_sentence, job_sentence_for_tenant, job_title
from jobs.models import Job, JobStatus


@pytest.mark.parametrize(
    ("kind", "params", "title"),
    [
        ("tenant_move", {"to": "schema"}, "Move to its own schema"),
        (
            "tenant_move",
            {"to": "database", "server": "eu-1"},
            "Move to a dedicated database on eu-1",
        ),
        ("tenant_move", {"to": "shared"}, "Move to the shared tables"),
        ("tenant_export", {}, "Data export"),
        ("tenant_provision", {}, "Provisioning"),
        ("some_new_kind", {"x": 1}, "Some new kind"),
    ],
)
def test_title_never_shows_the_kind_or_its_parameters(kind, params, title):
    assert job_title(Job(kind=kind, params=params)) == title


@pytest.mark.parametrize(
    ("status", "message", "sentence"),
    [
        (JobStatus.QUEUED, "", "Waiting for a worker to start it."),
        (JobStatus.RUNNING, "copying rows", "Copying rows."),
        (JobStatus.RUNNING, "exported tasks (2 of 9 tables)", "Exported tasks (2 of 9 tables)."),
        (
            JobStatus.QUEUED,
            "waiting: the organisation is moving",
            "Waiting: the organisation is moving.",
        ),
        (JobStatus.SUCCEEDED, "done", "Finished."),
        (JobStatus.FAILED, "gave up after 3 attempts", "Gave up after 3 attempts."),
        (JobStatus.FAILED, "Already a sentence!", "Already a sentence!"),
        (JobStatus.RUNNING, "  two\n lines  ", "Two lines."),
    ],
)
def test_message_reads_as_a_sentence(status, message, sentence):
    assert job_sentence(Job(kind="tenant_move", status=status, message=message)) == sentence


def test_a_tenant_reads_no_recorded_error_and_the_console_reads_it_whole():
    error = 'OperationalError: connection to server at "10.0.0.5", port 5432 failed'
    job = Job(kind="tenant_export", status=JobStatus.FAILED, message=error)
    assert job_sentence_for_tenant(job) == TENANT_FAILED
    assert job_sentence(job) == error + "."
    running = Job(kind="tenant_export", status=JobStatus.RUNNING, message="copying rows")
    assert job_sentence_for_tenant(running) == "Copying rows."
