"""Tenant lifecycle: create, suspend, reactivate. Control-plane writes + cache invalidation."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.services import audit_record
from billing.models import Plan
from tenants import resolvers
from tenants.backends import backend_for
from tenants.context import tenant_scope
from tenants.control import control_alias
from tenants.models import Isolation, Tenant, TenantStatus
from tenants.servers import PlacementError, server_for_placement


class TenantError(Exception):
    """A tenant operation refused with a message meant for the person asking."""


def _invalidate_on_commit(subdomain: str, using: str) -> None:
    transaction.on_commit(lambda: resolvers.invalidate(subdomain), using=using)


def tenant_create(
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
) -> Tenant:
    subdomain = (subdomain or "").strip()
    try:
        plan = Plan.objects.get(code=plan_code or "free")
    except Plan.DoesNotExist:
        codes = ", ".join(Plan.objects.values_list("code", flat=True))
        raise TenantError(f"Unknown plan {plan_code!r}. Available plans: {codes}.") from None
    mode = isolation or plan.required_isolation or settings.TENANT_DEFAULT_ISOLATION
    if mode not in Isolation.values:
        raise TenantError(
            f"Unknown isolation mode {mode!r}; use one of {', '.join(Isolation.values)}."
        )

    region = region or settings.TENANT_DEFAULT_REGION
    server = None
    if mode == Isolation.DATABASE:
        try:
            server = server_for_placement(
                region=region, name=server_name, database_url=database_url
            )
        except PlacementError as exc:
            raise TenantError(str(exc)) from None
    elif server_name or database_url:
        raise TenantError("--server/--database-url only apply to database isolation")

    tenant = Tenant(
        name=name.strip(),
        subdomain=subdomain,
        plan=plan,
        isolation=mode,
        region=region,
        database_server=server,
        status=TenantStatus.PROVISIONING if mode != Isolation.SHARED else TenantStatus.ACTIVE,
    )
    try:
        tenant.full_clean()
    except ValidationError as exc:
        raise TenantError(_first_message(exc)) from None
    alias = control_alias(f"creating tenant {subdomain}")
    try:
        with transaction.atomic(using=alias):
            tenant.save(force_insert=True, using=alias)
    except IntegrityError:
        raise TenantError(f"The subdomain '{subdomain}' is already taken.") from None

    tenant_provision(tenant=tenant)

    with tenant_scope(tenant):
        audit_record(
            tenant=tenant,
            actor="operator",
            action="tenant.create",
            data={"plan": plan.code, "isolation": mode},
        )
        from billing.services import subscription_start

        subscription_start(tenant=tenant, plan=plan)
        if owner_email:
            from accounts.models import Role
            from accounts.services import user_create

            user_create(
                tenant=tenant,
                email=owner_email,
                password=owner_password,
                role=Role.OWNER,
                name=owner_name,
                enforce_plan=False,
            )
    # A negative lookup for this subdomain may be cached: drop it.
    resolvers.invalidate(subdomain)
    return tenant


def tenant_provision(*, tenant: Tenant) -> Tenant:
    """Create (or finish creating) the tenant's placement; idempotent after a crash."""
    from tenants.backends.migrate import code_state

    backend = backend_for(tenant)
    try:
        backend.provision(tenant)
    except Exception as exc:
        Tenant.objects.using(control_alias(f"provisioning {tenant.subdomain} failed")).filter(
            pk=tenant.pk
        ).update(migration_error=f"provisioning: {exc}")
        raise TenantError(f"provisioning {tenant.subdomain} failed: {exc}") from exc
    fields = {
        "status": TenantStatus.ACTIVE
        if tenant.status == TenantStatus.PROVISIONING
        else tenant.status,
        "migration_error": "",
    }
    if tenant.has_own_placement:
        fields.update(migration_state=code_state(), migrated_at=timezone.now())
    if tenant.isolation == Isolation.DATABASE:
        fields["database_name"] = backend.database_name(tenant)
    Tenant.objects.using(control_alias(f"provisioned {tenant.subdomain}")).filter(
        pk=tenant.pk
    ).update(**fields)
    for key, value in fields.items():
        setattr(tenant, key, value)
    resolvers.invalidate(tenant.subdomain)
    return tenant


def _set_status(tenant: Tenant, status: str, reason: str, action: str) -> Tenant:
    alias = control_alias(f"{action} {tenant.subdomain}")
    with transaction.atomic(using=alias):
        Tenant.objects.using(alias).filter(pk=tenant.pk).update(status=status, status_reason=reason)
        tenant.status, tenant.status_reason = status, reason
        _invalidate_on_commit(tenant.subdomain, alias)
    with tenant_scope(tenant):
        audit_record(tenant=tenant, actor="operator", action=action, data={"reason": reason})
    return tenant


def tenant_suspend(*, tenant: Tenant, reason: str = "") -> Tenant:
    if tenant.status == TenantStatus.SUSPENDED:
        raise TenantError(f"{tenant.subdomain} is already suspended.")
    return _set_status(tenant, TenantStatus.SUSPENDED, reason, "tenant.suspend")


def tenant_reactivate(*, tenant: Tenant) -> Tenant:
    if tenant.status != TenantStatus.SUSPENDED:
        raise TenantError(f"{tenant.subdomain} is not suspended (status: {tenant.status}).")
    return _set_status(tenant, TenantStatus.ACTIVE, "", "tenant.reactivate")


def tenant_get(subdomain: str) -> Tenant:
    try:
        return Tenant.objects.select_related("plan", "database_server").get(subdomain=subdomain)
    except Tenant.DoesNotExist:
        raise TenantError(f"No tenant with subdomain {subdomain!r}.") from None


def _first_message(exc: ValidationError) -> str:
    if hasattr(exc, "message_dict"):
        field, messages = next(iter(exc.message_dict.items()))
        if field == "subdomain" and "already exists" in messages[0]:
            return "That subdomain is already taken."
        return f"{field}: {messages[0]}"
    return exc.messages[0]


def tenant_delete(*, tenant: Tenant, export_to: str | None = None) -> dict:
    """Delete a tenant: (export,) refuse its hosts, remove its placement, then its records.

    Returns {"exported": path or None, "rows": rows exported}. The tenant's hosts
    answer 404 from the first step on; every step is idempotent, so a failed
    deletion can simply be run again.
    """
    from django.apps import apps
    from django.db import connections

    from tenants.context import dangerously_unscoped
    from tenants.export import tenant_export
    from tenants.models import TenantOwned

    exported_rows = 0
    if export_to:
        with open(export_to, "w", encoding="utf-8") as stream:
            exported_rows = sum(tenant_export(tenant=tenant, stream=stream).values())
    Tenant.objects.using(control_alias(f"deleting tenant {tenant.subdomain}")).filter(
        pk=tenant.pk
    ).update(status=TenantStatus.DELETING)
    resolvers.invalidate(tenant.subdomain)

    backend_for(tenant).deprovision(tenant)
    # Records kept in the main database whatever the mode (billing…).
    with dangerously_unscoped(f"deleting tenant {tenant.subdomain}"):
        for model in apps.get_models():
            if issubclass(model, TenantOwned) and not model.tenant_placed:
                with connections["operator"].cursor() as cur:
                    cur.execute(
                        f'DELETE FROM "{model._meta.db_table}" WHERE tenant_id = %s', [tenant.pk]
                    )
        # Its move records are under RLS: only the operator role sees them to cascade.
        Tenant.objects.filter(pk=tenant.pk).delete()
    resolvers.invalidate(tenant.subdomain)
    return {"exported": export_to, "rows": exported_rows}
