"""Fixtures shared with the jobs tests: a real broker for this process."""

from tests.jobs.conftest import broker_at, redis_broker  # noqa: F401
