"""Tenant lifecycle: create, suspend, reactivate. Control-plane writes + cache invalidation."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connections, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from tenants import fence, resolvers
from tenants.actors import command_actor
from tenants.backends import backend_for
from tenants.context import tenant_scope
from tenants.control import control_alias
from tenants.deletion import tenant_delete
from tenants.errors import TenantError
from tenants.forget import tenant_forget
from tenants.models import Isolation, Tenant, TenantStatus
from tenants.servers import PlacementError, server_for_placement
from tenants.signals import tenant_status_changed
from tenants.sqlstate import UNIQUE_VIOLATION, has_sqlstate


def _invalidate_on_commit(subdomain: str, using: str) -> None:
    transaction.on_commit(lambda: resolvers.invalidate(subdomain), using=using)


def tenant_create(
    *,
    name: str,
    subdomain: str,
    plan_code: str | None = None,
    isolation: str | None = None,
    server_name: str | None = None,
    database_url: str | None = None,
    region: str | None = None,
    check: Callable[[], None] | None = None,
    onboard: Callable[[Tenant], None] | None = None,
) -> Tenant:
    """Create a tenant and its placement: all or nothing.

    Tenancy writes only the registry row and the placement; what the product
    starts a tenant with comes from the caller (accounts.onboarding):
    `check()` runs after the tenant's own checks and before anything is
    written (its refusal is the caller's), `onboard(tenant)` in the new
    tenant's scope once the placement exists. A failure after provisioning
    started, in `onboard` too, removes what was created, so a retry starts
    from a clean slate.
    """
    tenant = tenant_build(
        name=name,
        subdomain=subdomain,
        plan_code=plan_code,
        isolation=isolation,
        server_name=server_name,
        database_url=database_url,
        region=region,
    )
    if check is not None:
        check()
    _tenant_insert(tenant)
    try:
        tenant_provision(tenant=tenant, fresh=True)
        if onboard is not None:
            with tenant_scope(tenant):
                onboard(tenant)
    except BaseException:
        _tenant_remove_unfinished(tenant)
        raise
    # A negative lookup for this subdomain may be cached: drop it.
    resolvers.invalidate(tenant.subdomain)
    return tenant


def _plan_for(code: str | None):
    """The plan a new tenant is put on (None: the default plan), through the product.

    Plans are billing's: `TENANT_PLAN_PROVIDER` names the function that finds one by
    code (`billing.tenant_context.plan_for_code`), so tenancy imports no product app.
    It returns the plan row (`Tenant.plan`; tenancy reads its `code` and
    `required_isolation`) or raises LookupError with a one-line message.
    """
    return import_string(settings.TENANT_PLAN_PROVIDER)(code)


def tenant_build(
    *,
    name: str,
    subdomain: str,
    plan_code: str | None = None,
    isolation: str | None = None,
    server_name: str | None = None,
    database_url: str | None = None,
    region: str | None = None,
    tenant_id=None,
) -> Tenant:
    """A validated, unsaved Tenant; TenantError (one line) for anything contradictory."""
    from tenants.reservations import NOT_AVAILABLE, subdomain_is_reserved

    subdomain = (subdomain or "").strip()
    try:
        plan = _plan_for(plan_code)
    except LookupError as exc:
        raise TenantError(str(exc)) from None
    mode = isolation or plan.required_isolation or settings.TENANT_DEFAULT_ISOLATION
    if mode not in Isolation.values:
        raise TenantError(
            f"Unknown isolation mode {mode!r}; use one of {', '.join(Isolation.values)}."
        )
    if plan.required_isolation and mode != plan.required_isolation:
        raise TenantError(
            f"Plan {plan.code!r} requires {plan.required_isolation} isolation; "
            f"{mode} contradicts it."
        )

    # Every mode is placed on a server of the tenant's region (tenants.servers: the rule).
    try:
        server = server_for_placement(
            region=region or settings.TENANT_DEFAULT_REGION,
            name=server_name,
            database_url=database_url,
        )
    except PlacementError as exc:
        raise TenantError(str(exc)) from None
    region = server.region

    tenant = Tenant(
        name=(name or "").strip(),
        subdomain=subdomain,
        plan=plan,
        isolation=mode,
        region=region,
        database_server=server,
    )
    # A placement of its own is made after the row: the tenant is served once it exists.
    tenant.status = TenantStatus.PROVISIONING if tenant.has_own_placement else TenantStatus.ACTIVE
    # The plan and the server were just read from the registry: their keys need no
    # second look-up. A generated id is new by construction; a given one (a restore)
    # is checked like any other field.
    exclude = ["plan", "database_server"]
    if tenant_id is not None:
        tenant.id = tenant_id
    else:
        exclude.append("id")
    try:
        # The model's one constraint (the subdomain is a DNS label) is the rule of the
        # field's validator, validate_subdomain, which full_clean runs in Python: no query
        # to check it again. PostgreSQL still enforces it on insert. A taken subdomain is
        # the insert's unique violation (_tenant_insert), not a look-up before it: that
        # answer is race-free and costs no round trip. A given id (a restore) is checked
        # here, so its refusal names the id and not the subdomain.
        tenant.full_clean(
            exclude=exclude, validate_unique=tenant_id is not None, validate_constraints=False
        )
    except ValidationError as exc:
        raise TenantError(_first_message(exc)) from None
    if subdomain_is_reserved(subdomain, except_tenant_id=tenant_id):
        raise TenantError(NOT_AVAILABLE.format(subdomain=subdomain))
    return tenant


def _tenant_insert(tenant: Tenant) -> Tenant:
    alias = control_alias(f"creating tenant {tenant.subdomain}")
    # One statement is atomic by itself: no BEGIN/COMMIT round trips around it. Inside
    # a caller's transaction a savepoint keeps a refused insert from breaking it.
    in_transaction = connections[alias].in_atomic_block
    try:
        with transaction.atomic(using=alias) if in_transaction else nullcontext():
            tenant.save(force_insert=True, using=alias)
    except IntegrityError as exc:  # the message, not the database's text: sign-up shows it
        if has_sqlstate(exc, UNIQUE_VIOLATION):
            raise TenantError(f"The subdomain '{tenant.subdomain}' is already taken.") from None
        raise TenantError(f"Could not create {tenant.subdomain}: the registry refused it.") from exc
    # Read back like any registry row (the app role), not through the writer's alias.
    tenant._state.db = DEFAULT_DB_ALIAS
    return tenant


def _tenant_remove_unfinished(tenant: Tenant) -> None:
    """Undo a creation that failed half-way; the original error is what the caller sees."""
    import logging

    try:
        tenant_delete(tenant=tenant, reserve=False)
    except Exception as exc:
        # Usually the placement's server is unreachable, which is why the creation failed:
        # the registry row goes anyway, or the tenant would stay `deleting` with its
        # subdomain blocked. What may exist on that server is named in the log.
        logging.getLogger("tenants.services").warning(
            "half-created tenant %s (%s) removed from the registry; its placement on server "
            "%s could not be removed (%s): check there for leftovers",
            tenant.subdomain,
            tenant.pk,
            tenant.database_server.name if tenant.database_server_id else "main",
            " ".join(str(exc).split())[:200],
        )
        try:
            tenant_forget(tenant=tenant, reserve=False)
        except Exception as again:  # the main database itself: the original error stands
            logging.getLogger("tenants.services").error(
                "could not remove the half-created tenant %s (%s); delete_tenant it by hand",
                tenant.subdomain,
                " ".join(str(again).split())[:200],
            )


def tenant_provision(*, tenant: Tenant, fresh: bool = False) -> Tenant:
    """Create (or finish creating) the tenant's placement; idempotent after a crash.

    `fresh`: the tenant's id was generated by this creation (tenant_create), so no
    fence row can name it anywhere and none is looked for (a connection and a
    round trip saved); a restore, a re-run or a job lifts old fences as before.
    """
    from tenants.backends.migrate import code_state

    backend = backend_for(tenant)
    try:
        backend.provision(tenant)
        if not fresh:
            # A tenant re-created in a placement it was once fenced from (a restore).
            fence.lift(backend.placement(tenant), tenant.id)
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
    if backend.own_database:
        fields["database_name"] = backend.database_name(tenant)
    if not fresh or any(getattr(tenant, key) != value for key, value in fields.items()):
        # A new shared tenant is inserted active with nothing to record: no write.
        Tenant.objects.using(control_alias(f"provisioned {tenant.subdomain}")).filter(
            pk=tenant.pk
        ).update(**fields)
        for key, value in fields.items():
            setattr(tenant, key, value)
        if not fresh:  # a creation drops the cached lookup once, when it is complete
            resolvers.invalidate(tenant.subdomain)
    return tenant


def _set_status(
    tenant: Tenant, status: str, reason: str, action: str, actor: str | None = None
) -> Tenant:
    alias = control_alias(f"{action} {tenant.subdomain}")
    with transaction.atomic(using=alias):
        Tenant.objects.using(alias).filter(pk=tenant.pk).update(status=status, status_reason=reason)
        tenant.status, tenant.status_reason = status, reason
        _invalidate_on_commit(tenant.subdomain, alias)
    # The audit log (audit/receivers.py) records it for every door that gets here.
    tenant_status_changed.send(
        sender=Tenant, tenant=tenant, action=action, actor=actor or command_actor()
    )
    return tenant


def tenant_suspend(*, tenant: Tenant, reason: str = "", actor: str | None = None) -> Tenant:
    """`actor`: the operator's audit label (tenants.actors); default the OS user."""
    if tenant.status == TenantStatus.SUSPENDED:
        raise TenantError(f"{tenant.subdomain} is already suspended.")
    limit = Tenant._meta.get_field("status_reason").max_length
    if len(reason) > limit:  # every door: the column would refuse it mid-write
        raise TenantError(f"The reason has {len(reason)} characters; at most {limit}.")
    return _set_status(tenant, TenantStatus.SUSPENDED, reason, "tenant.suspend", actor)


def tenant_reactivate(*, tenant: Tenant, actor: str | None = None) -> Tenant:
    if tenant.status != TenantStatus.SUSPENDED:
        raise TenantError(f"{tenant.subdomain} is not suspended (status: {tenant.status}).")
    return _set_status(tenant, TenantStatus.ACTIVE, "", "tenant.reactivate", actor)


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


def tenant_recreate(*, registry: dict) -> Tenant:
    """Re-create a deleted tenant from its backup's registry record: same id, empty placement.

    Its rows (owner, subscription, audit trail) come from the backup, so nothing
    else is written here; tenants.restore.tenant_restore imports them next.
    """
    import uuid

    from tenants.models import DatabaseServer

    server_name = registry.get("database_server")
    if server_name and not DatabaseServer.objects.filter(name=server_name, is_active=True).exists():
        server_name = None  # gone since the backup: another server of the same region
    tenant = tenant_build(
        name=registry["name"],
        subdomain=registry["subdomain"],
        plan_code=registry["plan"],
        isolation=registry["isolation"],
        server_name=server_name,
        region=registry.get("region"),
        tenant_id=uuid.UUID(registry["id"]),
    )
    _tenant_insert(tenant)
    try:
        tenant_provision(tenant=tenant)
        kept = {"created_at": registry.get("created_at")}
        if registry.get("suspended"):  # deleted while suspended: restored suspended
            kept["status"] = tenant.status = TenantStatus.SUSPENDED
            kept["status_reason"] = tenant.status_reason = registry.get("status_reason", "")
        if kept := {k: v for k, v in kept.items() if v}:
            Tenant.objects.using(control_alias(f"restoring {tenant.subdomain}")).filter(
                pk=tenant.pk
            ).update(**kept)
    except BaseException:
        _tenant_remove_unfinished(tenant)
        raise
    resolvers.invalidate(tenant.subdomain)
    return tenant
