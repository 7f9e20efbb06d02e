import uuid

import factory

from billing.models import Plan
from tenants.backends.database import default_server
from tenants.models import Tenant, TenantStatus
from tenants.services import tenant_provision


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant
        # The registry is the operator role's to write: the row is committed for
        # real (outside the test's transaction) and removed after the test
        # (tests/conftest.py, control_plane_cleanup).
        database = "operator"

    name = factory.Sequence(lambda n: f"Org {n}")
    subdomain = factory.LazyFunction(lambda: f"org-{uuid.uuid4().hex[:12]}")
    plan = factory.LazyFunction(lambda: Plan.objects.get(code="pro"))
    isolation = "shared"
    status = TenantStatus.ACTIVE

    database_server = factory.LazyAttribute(
        lambda o: default_server() if o.isolation == "database" else None
    )

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        tenant = super()._create(model_class, *args, **kwargs)
        tenant._state.db = "default"  # read back as the app reads the registry
        return tenant_provision(tenant=tenant)


class TenantOwnedFactory(factory.django.DjangoModelFactory):
    """Creates the object inside its tenant's scope (RLS checks the insert)."""

    class Meta:
        abstract = True

    tenant = factory.SubFactory(TenantFactory)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        from tenants.context import tenant_scope

        tenant = kwargs.pop("tenant")
        with tenant_scope(tenant):
            return super()._create(model_class, *args, tenant_id=tenant.pk, **kwargs)

    @classmethod
    def _build(cls, model_class, *args, **kwargs):
        tenant = kwargs.pop("tenant")
        return super()._build(model_class, *args, tenant_id=tenant.pk, **kwargs)
