"""The same-placement baseline of the API stage (database mode): tenancy off, placement kept.

benchmarks.settings_off with caches of its own: the `off` server caches every tenant as
pooled, this one keeps a database tenant in its own database (benchmarks.wsgi_off_placed).
"""

from benchmarks.settings_off import *  # noqa: F403

CACHES["tenants"]["KEY_PREFIX"] = "bench-placed"  # noqa: F405
CACHES["default"]["KEY_PREFIX"] = "bench-placed"  # noqa: F405
