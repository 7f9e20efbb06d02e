"""The main database: its URL, the pools per process, one alias per role (tenants.database_config).

Imported by base.py (`from saas.settings.database import *`); every name here is a setting.
"""

import os

from saas import embedded
from tenants.database_config import build_databases, pool_options

DATABASE_URL = os.environ.get("DATABASE_URL") or embedded.url() or ""
_LOCAL = not os.environ.get("DATABASE_URL") or embedded.url() == DATABASE_URL
if not DATABASE_URL:
    # Nothing configured and the embedded server not started: point at the
    # conventional local socket so commands give a clear connection error.
    DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/saas"
# Connections per process (docs/operations.md, "Database connections"): each
# alias has one pool per process, shared by all its threads, whatever the server.
DB_POOL_TIMEOUT = float(os.environ.get("DB_POOL_TIMEOUT", "5"))
DB_POOL_MAX_IDLE = float(os.environ.get("DB_POOL_MAX_IDLE", "2"))
DB_POOL = pool_options(
    min_size=int(os.environ.get("DB_POOL_MIN_SIZE", "1")),
    max_size=int(os.environ.get("DB_POOL_MAX_SIZE", "4")),
    timeout=DB_POOL_TIMEOUT,
    max_idle=DB_POOL_MAX_IDLE,
)
DB_OPERATOR_POOL = pool_options(
    min_size=0,
    max_size=int(os.environ.get("DB_OPERATOR_POOL_MAX_SIZE", "2")),
    timeout=DB_POOL_TIMEOUT,
    max_idle=DB_POOL_MAX_IDLE,
    num_workers=1,
)
if os.environ.get("DB_POOL", "1") == "0":
    # One-shot commands (manage.py sets this): a connection when needed, errors at once.
    DB_POOL = DB_OPERATOR_POOL = None
DATABASES = build_databases(DATABASE_URL, pool=DB_POOL, operator_pool=DB_OPERATOR_POOL)
DATABASE_ROUTERS = ["tenants.routers.TenantRouter"]
