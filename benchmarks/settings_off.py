"""The product with tenancy off: the `tenancy off` baseline of the API stage.

Same code, middleware, auth, plan, rate limit, pagination and serializer as
benchmarks.settings; only the database layer is stock: Django's PostgreSQL backend
(no tenant context, no fence) as the BYPASSRLS role (no RLS), with the product's pool
check (benchmarks.offdb), every tenant read from the pooled tables (benchmarks.wsgi_off).
Its own cache prefix, so the two servers never share resolved tenants.
"""

from benchmarks.settings import *  # noqa: F403

# The stock backend with the product's pool check (benchmarks.offdb: not tenancy).
DATABASES["default"] = dict(DATABASES["plain"], ENGINE="benchmarks.offdb")  # noqa: F405
CACHES["tenants"]["KEY_PREFIX"] = "bench-off"  # noqa: F405
CACHES["default"]["KEY_PREFIX"] = "bench-off"  # noqa: F405
