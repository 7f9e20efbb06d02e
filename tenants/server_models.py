"""The registry of PostgreSQL servers: where each is (the app role reads it) and its login
(the operator role's only). Re-exported by tenants.models, where Django finds them."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class DatabaseServer(models.Model):
    """A PostgreSQL server: holds tenant databases and a pool (shared tables, tenant schemas).

    `address` says where it is (scheme, host, port, database, options) and carries no
    credential: the app role reads it to route, logging in as itself. The login that may
    create roles and databases there (like DATABASE_URL's) is in DatabaseServerLogin,
    which only the operator role can read; `url` puts the two together for the operator
    paths (migrations, provisioning, moves). `region` enforces data residency: a tenant
    is only ever placed on a server of its own region.
    """

    # Control plane: the app role reads it (routing), the operator role writes it.
    app_role_access = "read"

    name = models.SlugField(max_length=63, unique=True)
    region = models.CharField(max_length=32, default="default")
    address = models.CharField(max_length=500)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.region})"

    @property
    def url(self) -> str:
        """The administrative URL (address + login): operator paths only.

        The main server's login is DATABASE_URL's own (never stored); another server's
        is read through the operator role (_login_of), never kept on the instance: a
        registry entry may be cached and shared, and a secret must not travel with it.
        """
        from tenants.database_config import split_credentials, with_credentials

        if self.name == MAIN_SERVER_NAME:
            _, user, password = split_credentials(settings.DATABASE_URL)
        else:
            user, password = _login_of(self.pk)
        return with_credentials(self.address, user, password)


#: The registry name of the server of DATABASE_URL.
MAIN_SERVER_NAME = "main"

# {server pk: (user, password)}. A registered server's login never changes
# (server_register refuses another URL for a name; a new one is a new row), so this
# process reads each once. Kept here, not on instances (they are pickled into caches).
_logins: dict[int, tuple[str, str]] = {}


def _login_of(pk: int) -> tuple[str, str]:
    found = _logins.get(pk)
    if found is None:
        from django.db import connections, router

        conn = connections[router.db_for_read(DatabaseServerLogin)]  # the operator role's
        was_open = conn.connection is not None
        try:
            row = DatabaseServerLogin.objects.filter(server_id=pk).values_list("user", "password")
            found = row.first() or ("", "")
        finally:
            # Operator paths call this from worker threads (migrate_tenants --parallel): a
            # connection the thread opened here goes back to the pool, not with the thread.
            if not was_open and not conn.in_atomic_block:
                conn.close()
        _logins[pk] = found
    return found


class DatabaseServerLogin(models.Model):
    """The administrative login of a registered server: a secret.

    The operator role's only (the router sends it there; the app role has no privilege
    on the table), so nothing running as the app role — every tenant request — can read
    a login that could create roles, bypass row-level security or drop databases.
    """

    operator_only = True

    server = models.OneToOneField(
        DatabaseServer, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    user = models.CharField(max_length=63, blank=True, default="")
    password = models.CharField(max_length=500, blank=True, default="")

    def __str__(self) -> str:
        return f"login of server {self.server_id}"
