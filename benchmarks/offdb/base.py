"""Django's stock PostgreSQL backend with the product's pool check (tenants.db.health).

The tenancy-off baselines (`off`, `placed`) run the product on the stock backend. The
product's backend also checks a pooled connection on checkout without a round trip, which is
not tenancy: with the stock check the baselines paid a round trip per request (an empty
query) that the product does not, and the tenancy ratios came out ~2% low. The stock-way
endpoints (`stock`, the `plain` alias) keep stock Django's check: that one is what a stock
deployment pays.
"""

from django.db.backends.postgresql import base

from tenants.db.health import with_local_check


class DatabaseWrapper(base.DatabaseWrapper):
    @property
    def pool(self):
        return with_local_check(super().pool)
