"""Signals tenancy sends, so the apps above it react without tenancy importing them.

`tenant_status_changed(sender=Tenant, tenant, action, actor)`: sent once a suspension
or reactivation has committed, by every door (console, command, API). `action` is
`tenant.suspend` / `tenant.reactivate`; `actor` the operator's audit label
(tenants.actors). The audit log connects it in `audit/apps.py`.
"""

from django.dispatch import Signal

tenant_status_changed = Signal()
