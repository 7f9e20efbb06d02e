"""The tenant registry (control plane) and the base class of tenant-owned models."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.module_loading import import_string

from tenants.backends import backend_for
from tenants.context import get_current_tenant
from tenants.managers import TenantManager, UnscopedManager
from tenants.validators import validate_subdomain


class Isolation(models.TextChoices):
    SHARED = "shared", "Shared schema (pooled tables + RLS)"
    SCHEMA = "schema", "Schema per tenant"
    DATABASE = "database", "Database per tenant"


class TenantStatus(models.TextChoices):
    PROVISIONING = "provisioning", "Provisioning"
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"
    MOVING = "moving", "Moving"
    DELETING = "deleting", "Deleting"


# The server registry: its own module (tenants.server_models), its models found here.
from tenants.server_models import (  # noqa: E402, F401
    MAIN_SERVER_NAME,
    DatabaseServer,
    DatabaseServerLogin,
)


class Tenant(models.Model):
    # Control plane: the app role reads it (every request resolves its tenant);
    # only the operator role writes it (tenants.control).
    app_role_access = "read"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    subdomain = models.CharField(max_length=63, unique=True, validators=[validate_subdomain])
    plan = models.ForeignKey("billing.Plan", on_delete=models.PROTECT, related_name="tenants")
    isolation = models.CharField(max_length=16, choices=Isolation.choices, default=Isolation.SHARED)
    status = models.CharField(
        max_length=16, choices=TenantStatus.choices, default=TenantStatus.ACTIVE
    )
    status_reason = models.CharField(max_length=200, blank=True, default="")
    region = models.CharField(max_length=32, default="default")
    # The server that holds the tenant in every mode (its database, or its server's pool
    # for shared and schema tenants); None: the main server (rows from before pools).
    database_server = models.ForeignKey(
        DatabaseServer, null=True, blank=True, on_delete=models.PROTECT, related_name="tenants"
    )
    database_name = models.CharField(max_length=63, blank=True, default="")
    # Schema and database modes: the migration state of the tenant's own placement
    # (a digest of the applied migrations), so lagging placements are refused service.
    migration_state = models.CharField(max_length=64, blank=True, default="")
    migration_error = models.TextField(blank=True, default="")
    migrated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["subdomain"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(subdomain__regex=r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$"),
                name="tenant_subdomain_is_dns_label",
            )
        ]

    def __str__(self) -> str:
        return self.subdomain

    @property
    def is_active(self) -> bool:
        return self.status == TenantStatus.ACTIVE

    @property
    def schema_name(self) -> str:
        # Derived from the immutable id, never from user input: safe to quote
        # into SQL and stable across subdomain renames.
        return "t_" + self.id.hex

    def _plan_statement_timeout(self):
        # Plan-derived: the product names the function that knows (a setting), so
        # tenancy imports no product app. None: no per-plan timeout.
        path = getattr(settings, "TENANT_STATEMENT_TIMEOUT_PROVIDER", None)
        return import_string(path)(self) if path else None

    @property
    def server_name(self) -> str:
        """The server holding the tenant (registry rows without one predate per-server pools)."""
        return self.database_server.name if self.database_server_id else "main"

    @property
    def db_alias(self) -> str:
        return "tenant_" + self.id.hex

    @property
    def has_own_placement(self) -> bool:
        """A schema or database of its own (the backend says), not pooled rows."""
        return backend_for(self).own_placement

    @property
    def context_id(self) -> str:
        return str(uuid.UUID(str(self.id)))

    @cached_property
    def context_prefix(self) -> tuple[str, int]:
        """(SQL, statement count) that puts this tenant on a transaction (tenants.db).

        Read for every statement: computed once per instance. Its form belongs
        to the tenant's isolation backend, found in the registry (tenants.backends),
        which the backends fill: the model never imports them.
        """
        return backend_for(self).context_prefix(self, self._plan_statement_timeout())

    @cached_property
    def operator_context_prefix(self) -> tuple[str, int]:
        """The context as the operator role sends it (no fence check: tenants.fence)."""
        return backend_for(self).operator_context_prefix(self)


class SubdomainReservation(models.Model):
    """A deleted tenant's subdomain, held back for the retention period.

    Links, bookmarks and mails pointing at the old organisation must never reach
    a stranger who registers the name next; the operator backup can restore the
    tenant (same id) into it. Operators release it early with `release_subdomain`.
    """

    # A registry (sign-up reads it with no tenant in scope), written by the operator
    # role only: tenants.guards holds it to that instead of RLS.
    app_role_access = "read"

    subdomain = models.CharField(max_length=63, primary_key=True)
    tenant_id = models.UUIDField()
    reserved_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    backup_path = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        ordering = ["subdomain"]

    def __str__(self) -> str:
        return f"{self.subdomain} (until {self.expires_at:%Y-%m-%d})"


def _current_tenant_id():
    # None without a context: the NOT NULL column and the RLS policy refuse it.
    tenant = get_current_tenant()
    return tenant.pk if tenant is not None else None


def tenant_id_field(*, db_index: bool = True) -> models.UUIDField:
    """The `tenant_id` column of a tenant-owned table, filled from the tenant context.

    A model whose composite index leads with tenant_id (e.g. (tenant_id,
    created_at)) passes db_index=False: that index already serves every
    lookup by tenant, and a second one only costs writes.
    """
    return models.UUIDField(default=_current_tenant_id, editable=False, db_index=db_index)


class TenantOwned(models.Model):
    """Base of every tenant-owned model.

    `tenant_id` is filled from the current tenant context and is never
    editable. The table must be declared with the `EnableTenantRLS` migration
    operation; the `tenants.E001` system check fails when it is not.

    `tenant_placed = True`: the rows live wherever the tenant's isolation
    backend places tenant data (pooled table, own schema, own database).

    `export_fields`: the fields a customer export (tenants.export) holds, an
    allow-list each model declares; `()` keeps the model out of it, and None
    (undecided) does too and fails the test that every model decides.
    `in_operator_backup = False` keeps a model out of operator backups too
    (sessions: restoring them would revive logins).
    """

    tenant_placed = True
    export_fields: tuple[str, ...] | None = None
    in_operator_backup = True

    tenant_id = tenant_id_field()

    objects = TenantManager()
    # RLS still applies: only the app-level tenant filter is left out.
    unscoped = UnscopedManager()

    class Meta:
        abstract = True
        base_manager_name = "unscoped"


class TenantModel(TenantOwned):
    """A tenant-owned model with a UUID primary key.

    UUIDs, not sequences: rows keep their ids when a tenant moves between
    placements, and ids reveal nothing about other tenants.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)

    class Meta(TenantOwned.Meta):
        abstract = True


class MovePhase(models.TextChoices):
    COPYING = "copying", "Copying"
    CATCHING_UP = "catching_up", "Copied; replaying changes"
    SWITCHED = "switched", "Switched (source not yet removed)"
    DONE = "done", "Done"
    ROLLED_BACK = "rolled_back", "Rolled back"


#: Phases of a move that is not finished: resume it or roll it back before another move.
OPEN_MOVE_PHASES = (MovePhase.COPYING, MovePhase.CATCHING_UP, MovePhase.SWITCHED)


class TenantMove(models.Model):
    """One move of a tenant between placements: the record that makes a move resumable."""

    # Operator records: the app role has no privilege on the table (tenants.roles).
    app_role_access = "none"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="moves")
    source_isolation = models.CharField(max_length=16, choices=Isolation.choices)
    source_server = models.ForeignKey(
        DatabaseServer, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    source_database_name = models.CharField(max_length=63, blank=True, default="")
    target_isolation = models.CharField(max_length=16, choices=Isolation.choices)
    target_server = models.ForeignKey(
        DatabaseServer, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    target_database_name = models.CharField(max_length=63, blank=True, default="")
    keep_source = models.BooleanField(default=False)
    phase = models.CharField(max_length=16, choices=MovePhase.choices, default=MovePhase.COPYING)
    counts = models.JSONField(default=dict, blank=True)
    source_checksums = models.JSONField(default=dict, blank=True)
    # How long the tenant's writes were refused at the switch (fence → registry switched).
    write_pause_ms = models.FloatField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    started_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.source_isolation} → {self.target_isolation} ({self.phase})"

    @property
    def is_open(self) -> bool:
        return self.phase in OPEN_MOVE_PHASES


class Domain(models.Model):
    # Reviewed beside tenant_isolation (tenants.guards): the resolver reads verified rows.
    rls_extra_policies = ("verified_domains_readable",)

    """A customer's own host name for a tenant, e.g. app.customer.com (registry state).

    Served only once verified (a DNS TXT record proves ownership: tenants/domains.py)
    and while the tenant's plan includes custom domains. The database lets at most
    one tenant hold a domain *verified*; unverified claims block nobody (the first
    to prove ownership wins), so nobody can squat a name they do not control. Row-level security: a
    tenant reads and writes its own rows; verified rows are readable by anyone, since
    the resolver maps a Host to its tenant before any tenant is known (DNS already
    makes that mapping public).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="domains")
    domain = models.CharField(max_length=253)
    token = models.CharField(max_length=64)
    verified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["domain"]
        constraints = [
            models.UniqueConstraint(
                fields=["domain"],
                condition=models.Q(verified_at__isnull=False),
                name="domain_verified_by_one_tenant",
            ),
            models.UniqueConstraint(fields=["tenant", "domain"], name="domain_claimed_once"),
        ]

    def __str__(self) -> str:
        return self.domain

    @property
    def is_verified(self) -> bool:
        return self.verified_at is not None


class OutboxStatus(models.TextChoices):
    HELD = "held", "Held (its change commits on another database)"
    PENDING = "pending", "Pending"
    PUBLISHED = "published", "Published"
    DONE = "done", "Done"
    REFUSED = "refused", "Refused (the organisation is not active)"
    FAILED = "failed", "Failed"


class OutboxMessage(TenantModel):
    """A piece of work a request accepted (a task to run), committed with the change itself.

    `tenant_placed = False`: one table in the main database for every isolation mode, so the
    relay finds due rows of the whole fleet with one indexed query (tenants.outbox).
    """

    tenant_placed = False
    # Platform bookkeeping, not the tenant's data; pending arguments may hold a single-use
    # secret (an invitation token), and a restored row would send its mail again.
    export_fields = ()
    in_operator_backup = False

    task = models.CharField(max_length=200)
    args = models.JSONField(default=list, blank=True)
    kwargs = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=16, choices=OutboxStatus.choices, default=OutboxStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)  # publications, then failed runs
    message = models.CharField(max_length=500, blank=True, default="")
    available_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [
            models.Index(
                fields=["available_at"],
                name="outbox_due",
                condition=models.Q(status__in=["held", "pending", "published"]),
            )
        ]

    def __str__(self) -> str:
        return f"{self.task} {self.id} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in (OutboxStatus.DONE, OutboxStatus.REFUSED, OutboxStatus.FAILED)
