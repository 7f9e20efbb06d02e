"""Test settings: same wiring as production, faster hashing, no outbound mail."""

import os

from .base import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
TENANT_RESOLVER_L1_TTL = 30.0
LOGGING["root"]["level"] = "WARNING"  # noqa: F405

# Parallel test workers share one Redis: keep their keys and channels apart.
_worker = os.environ.get("PYTEST_XDIST_WORKER", "main")  # noqa: F405
for _alias, _cache in CACHES.items():  # noqa: F405
    _cache["KEY_PREFIX"] = f"{_cache.get('KEY_PREFIX', '')}:{_worker}"
