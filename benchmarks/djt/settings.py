"""A minimal django-tenants project: the baseline our schema mode is compared with.

Its own database (BENCH_DJT_DB) on the same server, django-tenants' backend
and router, a TenantMixin/DomainMixin pair, and a tenant app mirroring our
tenant-owned models. Runs as the DATABASE_URL role, as django-tenants expects.
"""

import os

import dj_database_url

_db = dj_database_url.parse(os.environ["DATABASE_URL"])
_db.update(
    ENGINE="django_tenants.postgresql_backend", NAME=os.environ.get("BENCH_DJT_DB", "bench_djt")
)
DATABASES = {"default": _db}
DATABASE_ROUTERS = ("django_tenants.routers.TenantSyncRouter",)

SHARED_APPS = [
    "django_tenants",
    "benchmarks.djt.customers",
    "django.contrib.contenttypes",
]
TENANT_APPS = [
    "django.contrib.contenttypes",
    "benchmarks.djt.tenantapp",
]
INSTALLED_APPS = SHARED_APPS + [a for a in TENANT_APPS if a not in SHARED_APPS]
TENANT_MODEL = "customers.Client"
TENANT_DOMAIN_MODEL = "customers.Domain"

SECRET_KEY = "django-tenants-bench"
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
MIDDLEWARE = []
ROOT_URLCONF = "benchmarks.djt.urls"
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
