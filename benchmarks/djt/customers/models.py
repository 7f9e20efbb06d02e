"""django-tenants' tenant registry: one schema per Client."""

from django.db import models
from django_tenants.models import DomainMixin, TenantMixin


class Client(TenantMixin):
    name = models.CharField(max_length=100)
    created_on = models.DateTimeField(auto_now_add=True)
    auto_create_schema = True
    auto_drop_schema = True


class Domain(DomainMixin):
    pass
