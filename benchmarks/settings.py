"""Bench-only settings: the product's settings plus a no-tenancy baseline alias and URLs.

`plain` is the same database through Django's stock PostgreSQL backend as the
BYPASSRLS operator role: no tenant prefix, no RLS, pooled like `default`.
Baseline code must filter on tenant_id explicitly.
"""

import os

# Benchmark servers sign nothing that outlives the run; production needs a real key.
os.environ.setdefault("SECRET_KEY", "bench-settings-only-" + "b" * 40)

from saas.settings.base import *  # noqa: F403

DATABASES["plain"] = dict(  # noqa: F405
    DATABASES["operator"],  # noqa: F405
    # Pooled like `default`, so both sides pay the same for their connections.
    OPTIONS=dict(DATABASES["operator"]["OPTIONS"], pool=DB_POOL),  # noqa: F405
    ENGINE="django.db.backends.postgresql",
    CONN_MAX_AGE=DATABASES["default"]["CONN_MAX_AGE"],  # noqa: F405
    CONN_HEALTH_CHECKS=DATABASES["default"]["CONN_HEALTH_CHECKS"],  # noqa: F405
)
ROOT_URLCONF = "benchmarks.urls"
TENANT_URLCONF = "benchmarks.urls_tenant"
DEBUG = False
ALLOWED_HOSTS = [*ALLOWED_HOSTS, "127.0.0.1"]  # noqa: F405
LOGGING["root"]["level"] = os.environ.get("LOG_LEVEL", "WARNING")  # noqa: F405
LOGGING["loggers"]["tenants.context"] = {"level": "ERROR"}  # noqa: F405
