"""Whether an error means no database connection was free in time, and when to come back.

One rule for the pages (saas/middleware.py) and the API's error envelope alike.
"""

from __future__ import annotations

from psycopg_pool import PoolTimeout

from tenants.backends.database import TenantPoolsBusy

# Seconds a client should wait after a 503 for lack of database connections:
# a pool's timeout is a few seconds, so capacity is back within about that.
BUSY_RETRY_AFTER = "2"


def pool_exhausted(exc: BaseException | None) -> bool:
    """No pooled connection was free in time (the pool's own timeout, as Django re-raises it).

    Only the exception and its direct cause: an unreachable tenant database is
    reported as TenantDatabaseUnavailable raised *from* a pool timeout, and
    that is not "busy".
    """
    return isinstance(exc, PoolTimeout | TenantPoolsBusy) or isinstance(
        getattr(exc, "__cause__", None), PoolTimeout
    )
