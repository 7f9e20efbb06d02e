"""Factories that keep one tenant per object graph."""

from tests.factories.accounts import UserFactory
from tests.factories.projects import ProjectFactory, TaskFactory
from tests.factories.tenants import TenantFactory

__all__ = ["ProjectFactory", "TaskFactory", "TenantFactory", "UserFactory"]
