"""WSGI entry of the tenancy-off baseline server (benchmarks.settings_off).

Every resolved tenant is served from the pooled tables (the bench's schema and
database tenants are copies that kept their pooled rows), so no tenant alias,
search_path or context is involved.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.settings_off")

from django.core.wsgi import get_wsgi_application

application = get_wsgi_application()

from tenants import resolvers  # noqa: E402

_read = resolvers._from_database


def _as_pooled(where):
    tenant = _read(where)
    if tenant != resolvers._NEGATIVE:
        tenant.isolation = "shared"
        tenant.__dict__.pop("context_prefix", None)
    return tenant


resolvers._from_database = _as_pooled
