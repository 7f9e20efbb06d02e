"""Celery settings derived from Django's (imported lazily by saas.celery)."""

from __future__ import annotations

from django.conf import settings

_redis = settings.REDIS_URL
# Parallel checkouts and test workers share one Redis: a namespace keeps their
# queues and keys apart, so no worker ever consumes another's tasks.
_namespace = getattr(settings, "CELERY_NAMESPACE", "")

# The in-memory broker's URL names a host, or kombu warns "No hostname was supplied" on every send.
broker_url = _redis or "memory://localhost/"
result_backend = _redis or "cache+memory://"
# No Redis (the embedded default, `make run`): run tasks in-process at queue time.
task_always_eager = not _redis
task_eager_propagates = False
task_store_eager_result = False

task_default_queue = f"tenantry.{_namespace}" if _namespace else "tenantry"
broker_transport_options = {
    "global_keyprefix": f"{_namespace}:" if _namespace else "",
    # An unacknowledged message (its worker died) is redelivered after this long.
    # Must exceed the longest task; jobs are idempotent, so a late duplicate is harmless.
    "visibility_timeout": getattr(settings, "CELERY_VISIBILITY_TIMEOUT", 3600),
    # A down broker must fail a web request fast, not hang it.
    "socket_connect_timeout": 1,
    "socket_timeout": 2,
}
result_backend_transport_options = {
    "global_keyprefix": f"{_namespace}:" if _namespace else "",
    "socket_connect_timeout": 1,
    "socket_timeout": 2,
}
redis_socket_connect_timeout = 1
redis_socket_timeout = 2
result_expires = 24 * 3600
# Outcomes live in the database (jobs.Job, audit markers), not in the result
# backend; storing none also means queueing never subscribes to a result
# channel, which would retry for ~20 s against a down Redis.
task_ignore_result = True

# Publishing: a few quick tries, then jobs.services reports QueueUnavailable.
task_publish_retry = True
task_publish_retry_policy = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
broker_connection_timeout = 1
broker_connection_retry_on_startup = True

# A task is acknowledged after it finished: a worker killed mid-task (SIGKILL,
# OOM) gives the message back and another run happens. Tasks are idempotent.
task_acks_late = True
task_reject_on_worker_lost = True
worker_prefetch_multiplier = 1
worker_max_tasks_per_child = 500
task_serializer = "json"
result_serializer = "json"
accept_content = ["json"]
timezone = "UTC"
enable_utc = True
worker_hijack_root_logger = False
beat_schedule_filename = str(settings.BASE_DIR / ".data" / "celerybeat-schedule")
