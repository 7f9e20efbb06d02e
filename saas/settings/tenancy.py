"""Tenancy settings (TENANT_*): isolation, the registry's bound, placement, residency, pools.

Imported by base.py (`from saas.settings.tenancy import *`); every name here is a setting.
"""

import os
from pathlib import Path

from saas.settings.database import DB_POOL_MAX_IDLE
from saas.settings.env import BASE_DIR
from tenants.database_config import pool_options

TENANT_DEFAULT_ISOLATION = os.environ.get("TENANT_DEFAULT_ISOLATION", "shared")
# The registry's staleness bound (seconds): no process acts on tenant status,
# placement or plan read longer ago than this (tenants/resolvers.py).
TENANT_REGISTRY_MAX_AGE = float(os.environ.get("TENANT_REGISTRY_MAX_AGE", "5"))
# Each tenant's transactions carry its plan's statement timeout: the function that reads it
# (tenant → ms or None) belongs to billing; tenancy only calls it.
TENANT_STATEMENT_TIMEOUT_PROVIDER = "billing.tenant_context.statement_timeout_ms"
# A new tenant's plan by code (None: the default plan) → the plan row, LookupError for an
# unknown code: billing's too (tenants.services.tenant_build).
TENANT_PLAN_PROVIDER = "billing.tenant_context.plan_for_code"
# Restoring rows into a tenant (tenants.export.tenant_import) runs inside this context manager
# (tenant, recreated= → context; raises ImportRefused): billing holds the result to the plan.
TENANT_IMPORT_GUARD = "billing.tenant_context.import_guard"
# Entries (tenants and unknown subdomains) kept per process.
TENANT_RESOLVER_L1_SIZE = int(os.environ.get("TENANT_RESOLVER_L1_SIZE", "10000"))
TENANT_RESERVED_SUBDOMAINS = frozenset(
    {
        "www",
        "admin",
        "api",
        "static",
        "media",
        "app",
        "mail",
        "smtp",
        "ftp",
        "status",
        "help",
        "support",
        "docs",
        "blog",
        "assets",
        "cdn",
        "public",
        "root",
        "system",
        "operator",
        "console",
        "dashboard",
        "billing",
        "auth",
        "login",
        "signup",
        "localhost",
    }
)

# Residency of cached values (tenants.cache.RegionalCache): region → Redis URL of that
# region, e.g. TENANT_REGION_CACHES="eu=redis://eu-cache:6379/0". The default region uses
# REDIS_URL; a tenant of a region without an entry is not cached at all.
TENANT_REGION_CACHES = {
    region.strip(): url.strip()
    for region, _, url in (
        item.partition("=")
        for item in os.environ.get("TENANT_REGION_CACHES", "").split(",")
        if item.strip()
    )
}

# Database-per-tenant connections
TENANT_DEFAULT_REGION = os.environ.get("TENANT_DEFAULT_REGION", "default")
# Each tenant database gets a small pool (min 0: an idle tenant holds nothing);
# a process keeps at most TENANT_DB_MAX_POOLS of them, closing the least
# recently used idle one, so it holds at most MAX_POOLS x POOL_MAX_SIZE.
TENANT_DB_POOL = pool_options(
    min_size=0,
    max_size=int(os.environ.get("TENANT_DB_POOL_MAX_SIZE", "2")),
    timeout=float(os.environ.get("TENANT_DB_POOL_TIMEOUT", "3")),
    max_idle=DB_POOL_MAX_IDLE,
    num_workers=1,
)
TENANT_DB_MAX_POOLS = int(os.environ.get("TENANT_DB_MAX_POOLS", "10"))
# One thread (a request, a task, a command) keeps at most this many tenant
# connections checked out; older ones go back to their pools.
TENANT_DB_MAX_OPEN = int(os.environ.get("TENANT_DB_MAX_OPEN", "2"))
# Server start (saas.wsgi/asgi) checks every placement for row-level security
# (tenants.guards): unsafe pooled tables stop the start, unsafe placements are refused.
TENANT_GUARD_AT_START = os.environ.get("TENANT_GUARD_AT_START", "1") == "1"
TENANT_DB_CONNECT_TIMEOUT = int(os.environ.get("TENANT_DB_CONNECT_TIMEOUT", "2"))
TENANT_DB_STATEMENT_TIMEOUT_MS = int(os.environ.get("TENANT_DB_STATEMENT_TIMEOUT_MS", "60000"))
# Deleting a tenant: its subdomain stays reserved and its operator backup is kept this long
# (docs/operations.md#deleting-a-tenant). Backups are operator-only: a 0700 directory, 0600 files.
TENANT_DELETED_RETENTION_DAYS = int(os.environ.get("TENANT_DELETED_RETENTION_DAYS", "30"))
TENANT_BACKUP_DIR = Path(os.environ.get("TENANT_BACKUP_DIR") or BASE_DIR / ".data" / "backups")
# Residency of files (tenants.residency): region → storage root for that region's exports
# and backups, e.g. TENANT_REGION_STORAGE="eu=/srv/eu,us=/srv/us". A region without an entry
# is refused (the default region falls back to MEDIA_ROOT and TENANT_BACKUP_DIR).
TENANT_REGION_STORAGE = {
    region.strip(): directory.strip()
    for region, _, directory in (
        item.partition("=")
        for item in os.environ.get("TENANT_REGION_STORAGE", "").split(",")
        if item.strip()
    )
}

# Fair share of a database server (tenants.fair_share): a tenant's transactions may hold at
# most TENANT_DB_SHARE of the server's cores at once (at least one); one over waits up to
# TENANT_DB_SLOT_WAIT_MS, then gets 503 tenant_busy. 0 turns it off. Cores default to this
# machine's; set TENANT_DB_SERVER_CORES when PostgreSQL runs elsewhere.
TENANT_DB_SHARE = float(os.environ.get("TENANT_DB_SHARE", "0.5"))
TENANT_DB_SERVER_CORES = int(os.environ.get("TENANT_DB_SERVER_CORES", "0"))
TENANT_DB_SLOT_WAIT_MS = int(os.environ.get("TENANT_DB_SLOT_WAIT_MS", "2000"))

# Spare placements (tenants.backends.spares, docs/placements.md#spare-placements): each
# database server keeps this many schemas and databases built ahead at the code's
# migration state; a sign-up claims one with a rename instead of building its own (the
# DDL floor: ~45 index builds per schema, a template copy per database). 0: every
# sign-up of that mode builds cold. A spare database costs the template's size (~8 MB).
TENANT_SPARES = {
    "schema": int(os.environ.get("TENANT_SPARE_SCHEMAS", "2")),
    "database": int(os.environ.get("TENANT_SPARE_DATABASES", "2")),
}
# Queue the server's refill (Celery `tenants.spares_refill`) right after each claim;
# beat also refills every minute, and `manage.py refill_spares` does it by hand.
TENANT_SPARES_REFILL_ON_CLAIM = os.environ.get("TENANT_SPARES_REFILL_ON_CLAIM", "1") == "1"
