"""Signals tenancy sends, so the apps above it react without tenancy importing them.

`tenant_status_changed(sender=Tenant, tenant, action, actor)`: sent once a suspension
or reactivation has committed, by every door (console, command, API). `action` is
`tenant.suspend` / `tenant.reactivate`; `actor` the operator's audit label
(tenants.actors). The audit log connects it in `audit/apps.py`.

`tenant_rows_imported(sender=Tenant, tenant)`: sent by `tenant_import` inside its
transaction, once every row is written and before it commits. A receiver that raises
(`tenants.export.ImportRefused`) refuses the import whole: billing checks the plan's
limits there (`billing/receivers.py`), so an import is a door like any other.
"""

from django.dispatch import Signal

tenant_status_changed = Signal()
tenant_rows_imported = Signal()
