"""Onboarding an organisation: its tenant, subscription, owner and the audit row, all or nothing.

Tenancy creates the tenant and its placement (tenants.services); what an organisation
starts with in the product is written here, in the new tenant's scope, before the
creation is final: if any of it fails, the tenant and its placement are removed.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError

from accounts import services
from accounts.models import Role
from audit.services import audit_record
from billing.subscriptions import subscription_start
from tenants.models import Tenant
from tenants.services import TenantError, tenant_create


def organisation_create(
    *,
    name: str,
    subdomain: str,
    plan_code: str | None = None,
    isolation: str | None = None,
    owner_email: str | None = None,
    owner_password: str | None = None,
    owner_name: str = "",
    server_name: str | None = None,
    database_url: str | None = None,
    region: str | None = None,
    actor: str | None = None,
) -> Tenant:
    """Create a tenant with its subscription and (optionally) its owner: all or nothing.

    Everything that can be refused is checked before anything is written; a
    failure after provisioning started removes what was created, so a retry
    starts from a clean slate. `actor`: an operator's audit label
    (tenants.actors); None for a self-service sign-up.
    """

    def onboard(tenant: Tenant) -> None:
        audit_record(
            tenant=tenant,
            actor=actor,
            action="tenant.create",
            data={"plan": tenant.plan.code, "isolation": tenant.isolation},
        )
        subscription_start(tenant=tenant, plan=tenant.plan, fresh=True)
        if owner_email:
            services.user_create(
                tenant=tenant,
                email=owner_email,
                password=owner_password,
                role=Role.OWNER,
                name=owner_name,
                enforce_plan=False,
            )

    return tenant_create(
        name=name,
        subdomain=subdomain,
        plan_code=plan_code,
        isolation=isolation,
        server_name=server_name,
        database_url=database_url,
        region=region,
        check=lambda: _check_owner(owner_email, owner_password),
        onboard=onboard,
    )


def _check_owner(email: str | None, password: str | None) -> None:
    """Refuse an owner the accounts service would refuse, before anything exists."""
    from django.contrib.auth.password_validation import validate_password
    from django.core.validators import validate_email

    if password and not email:
        raise TenantError("An owner password needs an owner email.")
    if not email:
        return
    try:
        validate_email(email.strip())
    except ValidationError:
        raise TenantError(f"Owner email {email!r} is not a valid address.") from None
    if password:
        try:
            validate_password(password)
        except ValidationError as exc:
            raise TenantError("Owner password: " + " ".join(exc.messages)) from None
