"""Writes to the control plane (registry, servers, plans) go through the operator role.

The app role only reads these tables (tenants.roles): nothing a request sends
can change a tenant's plan, status or placement. The services that do change
them (operator commands and console, sign-up, a plan change, provisioning)
name each write here, with a reason that is logged:

    Tenant.objects.using(control_alias("suspending acme")).filter(...).update(...)

`.using()` rather than `dangerously_unscoped()`: only the control-plane
statement leaves the app role; the tenant's own rows around it stay under RLS
in their placement.
"""

from __future__ import annotations

import logging

from tenants.routers import OPERATOR_ALIAS

logger = logging.getLogger("tenants.control")


def control_alias(reason: str) -> str:
    """The alias for a control-plane write (the operator role); logs the reason."""
    if not reason:
        raise ValueError("control_alias() needs a reason")
    logger.info("control-plane write: %s", reason)
    return OPERATOR_ALIAS
