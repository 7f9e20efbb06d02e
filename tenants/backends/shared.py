"""Shared schema: the tenant's rows sit in the pooled tables, kept apart by RLS alone."""

from django.conf import settings
from django.db import connections

from tenants.backends.base import IsolationBackend
from tenants.backends.placement import Placement


class SharedBackend(IsolationBackend):
    mode = "shared"

    def placement(self, tenant) -> Placement:
        return Placement(
            settings.DATABASE_URL, connections["owner"].settings_dict["NAME"], "public", pooled=True
        )

    def deprovision(self, tenant) -> None:
        from tenants.backends.copy import delete_tenant_rows

        delete_tenant_rows(self.placement(tenant), tenant.pk)
