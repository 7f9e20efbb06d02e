"""Shared schema: the tenant's rows sit in the pooled tables, kept apart by RLS alone."""

from tenants.backends.base import IsolationBackend


class SharedBackend(IsolationBackend):
    mode = "shared"
