"""Test settings: same wiring as production, faster hashing, no outbound mail."""

import hashlib
import os

# The test settings sign nothing that outlives the test run; a fixed key lets test
# processes and the servers they start (tests/live.py) read each other's cookies.
os.environ.setdefault("SECRET_KEY", "test-settings-only-" + "t" * 40)

from .base import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# A live server started by a browser test may ask for another backend (filebased) to read mail.
EMAIL_BACKEND = os.environ.get(
    "TEST_EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend"
)

# A test that reads what a live process logs at INFO (tests/jobs/test_task_secrets.py) asks
# for it; otherwise warnings only.
LOGGING["root"]["level"] = os.environ.get("TEST_LOG_LEVEL", "WARNING")  # noqa: F405

# Parallel test workers (and checkouts) share one Redis: keep keys and channels apart.
_checkout = hashlib.sha1(str(BASE_DIR).encode(), usedforsecurity=False).hexdigest()[:6]  # noqa: F405
_worker = f"{_checkout}-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
for _alias, _cache in CACHES.items():  # noqa: F405
    _cache["KEY_PREFIX"] = f"{_cache.get('KEY_PREFIX', '')}:{_worker}"

# Celery queues and keys per checkout and xdist worker, like the cache keys above.
CELERY_NAMESPACE = f"test-{_worker}"
MEDIA_ROOT = BASE_DIR / "artifacts" / "media" / _worker  # noqa: F405

# A short registry bound keeps tests that wait it out (deletion, suspension) quick;
# live servers started by tests inherit it.
TENANT_REGISTRY_MAX_AGE = float(os.environ.get("TENANT_REGISTRY_MAX_AGE", "1"))
# Tests change token and user rows inside transactions that never commit (no NOTIFY):
# the token cache is off unless a test turns it on (tests/api/test_token_cache.py).
API_TOKEN_CACHE_SECONDS = float(os.environ.get("API_TOKEN_CACHE_SECONDS", "0"))
# The same for webhook subscriptions (tests/webhooks/test_subscription_cache.py turns it on).
WEBHOOK_SUBSCRIPTION_CACHE_SECONDS = float(
    os.environ.get("WEBHOOK_SUBSCRIPTION_CACHE_SECONDS", "0")
)
TENANT_BACKUP_DIR = BASE_DIR / "artifacts" / "backups" / _worker  # noqa: F405
# In-process tests race up to 20 threads, each on its own connection; server
# processes started by tests set DB_POOL_MAX_SIZE themselves when it matters.
if "DB_POOL_MAX_SIZE" not in os.environ and "pool" in DATABASES["default"]["OPTIONS"]:  # noqa: F405
    DATABASES["default"]["OPTIONS"]["pool"]["max_size"] = 24  # noqa: F405
# The test process never writes SLA figures in the background (a live server test sets it).
SLA_FLUSH_SECONDS = float(os.environ.get("SLA_FLUSH_SECONDS", "0"))
# Concurrency leases in the shared Redis, per checkout and worker like the cache keys.
FAIR_SHARE_KEY_PREFIX = f"test-{_worker}:"
# A live server test may serve extra test views on tenant hosts (tests/observability/slow_urls.py).
TENANT_URLCONF = os.environ.get("TEST_TENANT_URLCONF", TENANT_URLCONF)  # noqa: F405

# Importing saas.wsgi in-process (tests that inspect it) must not scan the database;
# real servers (tests/live.py) turn the start-up check on like production.
TENANT_GUARD_AT_START = os.environ.get("TENANT_GUARD_AT_START", "0") == "1"
# Webhook retries in tenths of a second (a test may set its own; live servers and workers
# started by tests read the same variable).
WEBHOOKS_RETRY_SCHEDULE = [
    float(s) for s in os.environ.get("WEBHOOKS_RETRY_SCHEDULE", "0.1,0.2,0.4").split(",") if s
]
# No spare placements unless a test asks for them (tests/tenants/test_spares.py): tests
# count what provisioning does, and a test session must leave no spare behind.
TENANT_SPARES = {
    "schema": int(os.environ.get("TENANT_SPARE_SCHEMAS", "0")),
    "database": int(os.environ.get("TENANT_SPARE_DATABASES", "0")),
}
