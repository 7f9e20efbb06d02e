"""Template filters that show a job in words (jobs.display)."""

from django import template

from jobs.display import job_sentence, job_sentence_for_tenant, job_title

register = template.Library()
register.filter("job_title", job_title)
register.filter("job_sentence", job_sentence)
register.filter("job_sentence_for_tenant", job_sentence_for_tenant)
