"""WSGI entry of the same-placement baseline (benchmarks.settings_off_placed).

The product code on Django's stock backend as the BYPASSRLS role, like benchmarks.wsgi_off,
but a database tenant is read from its own database, where the product places it: the
runtime alias it is routed to is a stock connection (benchmarks.offdb) to that database as
the BYPASSRLS role (no tenant context, no fence, no RLS). Against the product this leaves the tenancy
mechanism's share; against `off` (every tenant pooled on one connection), what the
placement itself costs (a connection and a server process per tenant database).
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.settings_off_placed")

from django.core.wsgi import get_wsgi_application

application = get_wsgi_application()

from tenants.backends import database  # noqa: E402
from tenants.database_config import OPERATOR_ROLE, role_password  # noqa: E402

_config = database.RuntimeAliases.config


def _stock_config(self, server_url: str, dbname: str) -> dict:
    config = _config(self, server_url, dbname)
    config["ENGINE"] = "benchmarks.offdb"  # stock, with the product's pool check
    config["USER"], config["PASSWORD"] = OPERATOR_ROLE, role_password(OPERATOR_ROLE)
    return config


database.RuntimeAliases.config = _stock_config
