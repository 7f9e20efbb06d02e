"""PostgreSQL backend that sends the tenant context with the statements it covers.

Before each statement the cursor asks: does the open transaction already carry
the tenant that is current in `tenants.context`? If not (a new transaction, an
autocommit statement, a switched tenant, a rolled-back savepoint) it sends
`SELECT saas_enter_tenant(…); <statement>` as one simple-protocol message.
PostgreSQL runs a multi-statement message as one implicit transaction, so the
setting covers exactly the statements of that transaction and can never outlive
it: not into the next request, not past an exception, not through a
transaction-pooling PgBouncer. And it costs no extra round trip.

A Django transaction's BEGIN rides on the same message. psycopg stays in
autocommit at the driver level; while Django has autocommit off, the first
statement of the transaction goes out as `BEGIN; <enter>; <statement>`, and
COMMIT/ROLLBACK are psycopg's (sent only when a transaction is open). Stock
Django pays a round trip of its own for each BEGIN.

Every statement sent during a request also carries the request's tag as a
leading SQL comment (tenants.attribution).
"""

from __future__ import annotations

from contextlib import contextmanager
from time import perf_counter

from django.db.backends.postgresql import base as pg
from psycopg import IsolationLevel, pq

from tenants.attribution import current_tag
from tenants.context import get_current_tenant, search_path_override
from tenants.db.health import with_local_check
from tenants.rls.sql import CURRENT_TENANT_FUNCTION

OPERATOR_ALIAS = "operator"  # tenants.routers; the BYPASSRLS role

# Read from the libpq connection as plain ints: `connection.info.transaction_status`
# builds an object and an enum on every call (~0.45 µs, most of the per-statement check).
_IDLE = int(pq.TransactionStatus.IDLE)
_INTRANS = int(pq.TransactionStatus.INTRANS)
_INERROR = int(pq.TransactionStatus.INERROR)
_UNKNOWN = object()  # state after a savepoint rollback: re-send before the next statement

# Sent when a transaction that carried a tenant continues with none in context.
RESET_CONTEXT = (
    "SET LOCAL app.current_tenant = ''; SET LOCAL search_path TO DEFAULT; "
    "SET LOCAL statement_timeout TO DEFAULT",
    3,
)


# Observers of slow statements, called as observer(query, seconds) after a statement of
# TenantCursor.execute took at least SLOW_STATEMENT_SECONDS (failed ones too; `query` as
# the caller gave it: str, bytes or a psycopg Composable). Registered by the app that
# records them (observability); they must be cheap and must not raise: they run in a
# `finally`. Below the threshold the cost is two clock reads.
slow_statement_observers: list = []
SLOW_STATEMENT_SECONDS = 0.2  # the registering app sets it from its settings

_override_cache: dict[tuple, tuple[str, int]] = {}
_switch_cache: dict[tuple, tuple[str, int]] = {}


def _switch_prefix(wanted: tuple[str, int]) -> tuple[str, int]:
    prefix = _switch_cache.get(wanted)
    if prefix is None:
        prefix = _switch_cache[wanted] = (
            f"{RESET_CONTEXT[0]}; {wanted[0]}",
            RESET_CONTEXT[1] + wanted[1],
        )
    return prefix


def _override_prefix(schema: str, tenant):
    """Operator paths (migrating, copying one placement): search_path pinned, no fence check."""
    key = (schema, tenant.context_id if tenant is not None else None)
    prefix = _override_cache.get(key)
    if prefix is None:
        quoted = '"' + schema.replace('"', '""') + '"'
        parts = [f"SET LOCAL search_path TO {quoted}"]
        if key[1] is not None:
            parts.append(f"SET LOCAL app.current_tenant = '{key[1]}'")
        prefix = _override_cache[key] = ("; ".join(parts), len(parts))
    return prefix


class TenantCursor(pg.Cursor):
    """Django's client-side-binding cursor, plus the tenant prefix.

    What rides in front of a statement (the attribution comment, BEGIN, the enter call)
    is put in front of it after psycopg has merged the statement with its parameters,
    not before: psycopg caches that merge by the statement's text, and a text that
    carries the request id or the tenant id would never be found in its cache (every
    statement parsed again, ~20 µs, and the cache evicted for everyone). The
    statement alone is the same text for every tenant and request, so it is found.
    The lead is text of our own: it carries no parameter markers and needs no
    escaping.
    """

    db: DatabaseWrapper | None = None
    _lead: str = ""

    def _convert_query(self, query, params=None):
        pgq = super()._convert_query(query, params)
        if self._lead:
            pgq.query = self._lead.encode(self._tx.encoding) + pgq.query
        return pgq

    def _send_led(self, lead: str, query, params, kwargs):
        self._lead = lead
        try:
            return super().execute(query, params, **kwargs)
        finally:
            self._lead = ""

    def execute(self, query, params=None, **kwargs):
        started = perf_counter()
        try:
            return self._execute(query, params, **kwargs)
        finally:
            seconds = perf_counter() - started
            if seconds >= SLOW_STATEMENT_SECONDS:
                for observer in slow_statement_observers:
                    observer(query, seconds)

    def _execute(self, query, params=None, **kwargs):
        db = self.db
        if db is None:
            return super().execute(query, params, **kwargs)
        begin = db.begin_pending()
        prefix = db.tenant_prefix()
        tag = current_tag()
        if prefix is None and not begin:
            if tag:
                return self._send_led(tag, query, params, kwargs)
            return super().execute(query, params, **kwargs)
        parts, count = [tag], 0
        if begin:
            parts += (db.begin_sql, "; ")
            count += 1
        if prefix is not None:
            parts += (prefix[0], "; ")
            count += prefix[1]
        elif begin:
            db.tenant_context_clear()  # the new transaction carries no tenant
        try:
            self._send_led("".join(parts), query, params, kwargs)
        except BaseException:
            db.tenant_context_unknown()
            raise
        for _ in range(count):  # skip the prefix's results: callers see their statement's
            self.nextset()
        if prefix is not None:
            db.tenant_prefix_sent(prefix)
        return self

    # executemany, copy and stream send their statement in messages of their own
    # (one per row, COPY sub-protocol, extended protocol): the prefix cannot ride
    # on them. It is sent alone, inside a transaction (a savepoint when one is
    # open) that covers the whole operation. A failure rolls that savepoint
    # back, and with it the SET LOCAL: the context is then unknown and re-sent.
    # Inside a Django transaction that has sent nothing yet, its BEGIN goes first,
    # so the operation joins that transaction instead of committing on its own.

    @contextmanager
    def _prefixed(self):
        db = self.db
        if db is not None and db.begin_pending():
            super().execute(db.begin_sql)
            db.tenant_context_clear()
        prefix = db.tenant_prefix() if db is not None else None
        if prefix is None:
            yield
            return
        try:
            with self.connection.transaction():
                super().execute(prefix[0])
                db.tenant_prefix_sent(prefix)
                yield
        except BaseException:
            db.tenant_context_unknown()
            raise

    def executemany(self, query, params_seq, **kwargs):
        with self._prefixed():
            return super().executemany(query, params_seq, **kwargs)

    @contextmanager
    def copy(self, statement, params=None, **kwargs):
        with self._prefixed(), super().copy(statement, params, **kwargs) as copy:
            yield copy

    def stream(self, query, params=None, **kwargs):
        with self._prefixed():
            yield from super().stream(query, params, **kwargs)


class DatabaseWrapper(pg.DatabaseWrapper):
    # What a statement compares with to mean "the tenant this transaction carries": the
    # policies' function (tenants.managers.ScopedTenantId). Stock backends have none.
    current_tenant_sql = CURRENT_TENANT_FUNCTION

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._tenant_applied = None
        self._tenant_wanted = None

    @property
    def pool(self):
        # CONN_HEALTH_CHECKS: the check without a round trip (tenants.db.health).
        return with_local_check(super().pool)

    def get_new_connection(self, conn_params):
        connection = super().get_new_connection(conn_params)
        if not connection.autocommit:  # a pooled connection is opened in autocommit already
            connection.autocommit = True
        return connection

    def _set_autocommit(self, autocommit):
        """Django's transactions are ours: psycopg stays in autocommit (see the module doc)."""

    @property
    def begin_sql(self) -> str:
        level = self.settings_dict["OPTIONS"].get("isolation_level")
        if level is None:
            return "BEGIN"
        return "BEGIN ISOLATION LEVEL " + IsolationLevel(level).name.replace("_", " ")

    def begin_pending(self) -> bool:
        """Django has a transaction open that has not reached the server yet."""
        return not self.autocommit and self.connection.pgconn.transaction_status == _IDLE

    def get_connection_params(self):
        params = super().get_connection_params()
        # The prefix needs the simple query protocol (multi-statement
        # messages), i.e. client-side binding: always, whatever OPTIONS say.
        params["cursor_factory"] = TenantCursor
        return params

    def create_cursor(self, name=None):
        cursor = super().create_cursor(name)
        if isinstance(cursor, TenantCursor):
            cursor.db = self
        return cursor

    # --- the tenant context ---------------------------------------------------

    def tenant_prefix(self):
        """(sql, statement count) to send before the next statement, or None."""
        tenant = get_current_tenant()
        wanted = None
        if tenant is not None:
            if self.alias == OPERATOR_ALIAS:
                wanted = tenant.operator_context_prefix
            else:
                wanted = tenant.context_prefix
        schema = search_path_override()
        if schema is not None:
            wanted = _override_prefix(schema, tenant)
        status = self.connection.pgconn.transaction_status
        if status == _INTRANS:
            applied = self._tenant_applied
        elif status == _INERROR:
            return None  # only ROLLBACK (TO SAVEPOINT) can run now; it needs no context
        else:
            applied = None  # the next statement starts a new transaction
        if wanted is applied or wanted == applied:
            return None
        self._tenant_wanted = wanted  # what the transaction carries once this is sent
        if wanted is None:
            return RESET_CONTEXT
        if applied is not None:
            # Switching tenants inside one transaction: clear what the previous
            # prefix set (a schema tenant's search_path, its timeout) first, or
            # a pooled tenant's rows would land in that schema.
            return _switch_prefix(wanted)
        return wanted

    def tenant_prefix_sent(self, prefix) -> None:
        if self.connection.pgconn.transaction_status == _INTRANS:
            self._tenant_applied = self._tenant_wanted
        else:
            self._tenant_applied = None

    def tenant_context_clear(self) -> None:
        self._tenant_applied = None

    def tenant_context_unknown(self) -> None:
        """A failed statement may have undone the context: re-send it before the next one."""
        self._tenant_applied = _UNKNOWN

    def _commit(self):
        self._tenant_applied = None
        return super()._commit()

    def _rollback(self):
        self._tenant_applied = None
        return super()._rollback()

    def _savepoint_rollback(self, sid):
        result = super()._savepoint_rollback(sid)
        # A SET LOCAL issued inside the savepoint was undone with it.
        self._tenant_applied = _UNKNOWN
        return result

    def _close(self):
        self._tenant_applied = None
        return super()._close()
