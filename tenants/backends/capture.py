"""Change capture for online moves: which of one tenant's rows changed, and replaying them.

While a tenant moves, triggers on every tenant-placed table of the source
placement append the primary key of each row of that tenant that is inserted,
updated or deleted to a capture table (`public.saas_move_capture_<tenant hex>`
in the source database). The triggers are filtered to the tenant in their WHEN
clause, so the other tenants of a pool pay one comparison per written row.
The trigger function is SECURITY DEFINER (the owner role): the app role gains
no privilege on the capture table; only the operator role (the mover) reads
and deletes its rows.

A replay round consumes the capture rows visible in one REPEATABLE READ
snapshot of the source (DELETE … RETURNING), and in that same snapshot
re-reads those rows: each is written to the destination as it is now, or
deleted there when it is gone. Capture rows of transactions that commit after
the snapshot are not visible, so they stay for the next round. After a round
commits, the destination holds exactly the tenant's rows as of the round's
snapshot (a row that changed before the snapshot was captured and replayed,
one that did not is unchanged since it was last copied), so foreign keys and
unique constraints hold, and a round is idempotent: a crash between the two
commits replays the same keys again.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field

import psycopg
from psycopg import sql

from tenants.backends.copy import TableSpec, checksums_in, placed_tables
from tenants.backends.placement import Placement
from tenants.database_config import APP_ROLE, OPERATOR_ROLE

logger = logging.getLogger("tenants.move")

FUNCTION = "public.saas_move_capture"
KEYS_PER_STATEMENT = 5000
# Creating or dropping triggers locks each table briefly (every tenant of a pool). The
# tables are locked together with a short timeout and retried: a writer never waits
# longer than that behind the mover, and never deadlocks with it (a transaction that
# writes a task, then its audit event, while the mover holds the audit table and waits
# for the task table: the mover's timeout, shorter than deadlock_timeout, ends it).
LOCK_TIMEOUT_MS = 100
LOCK_ATTEMPTS = 100

_FUNCTION_SQL = f"""
CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $body$
DECLARE
    k text;
    k2 text;
BEGIN
    -- TG_ARGV[0]: the capture table (fixed when the mover created the trigger);
    -- TG_ARGV[1]: the table's primary key column.
    IF TG_OP = 'INSERT' THEN
        k := to_jsonb(NEW) ->> TG_ARGV[1];
    ELSE
        k := to_jsonb(OLD) ->> TG_ARGV[1];
    END IF;
    EXECUTE format('INSERT INTO %s (tbl, key) VALUES ($1, $2)', TG_ARGV[0])
        USING TG_TABLE_NAME, k;
    IF TG_OP = 'UPDATE' THEN
        k2 := to_jsonb(NEW) ->> TG_ARGV[1];
        IF k2 IS DISTINCT FROM k THEN
            EXECUTE format('INSERT INTO %s (tbl, key) VALUES ($1, $2)', TG_ARGV[0])
                USING TG_TABLE_NAME, k2;
        END IF;
    END IF;
    RETURN NULL;
END
$body$
"""


def capture_table(tenant_id) -> str:
    return f"saas_move_capture_{_hex(tenant_id)}"


def _hex(tenant_id) -> str:
    return str(tenant_id).replace("-", "")


def _qualified(tenant_id) -> sql.Composable:
    return sql.Identifier("public", capture_table(tenant_id))


def _trigger(tenant_id, kind: str) -> sql.Identifier:
    return sql.Identifier(f"saas_move_{kind}_{_hex(tenant_id)}")


def _with_lock_retries(placement: Placement, mode: str, work) -> None:
    """Run `work(conn)` as the owner in one transaction holding every tenant table in `mode`."""
    with placement.connect() as conn:
        present = [s.table for s in placed_tables() if _exists(conn, s.table)]
        conn.rollback()
        lock = sql.SQL("LOCK TABLE {} IN {} MODE").format(
            sql.SQL(", ").join(sql.Identifier(t) for t in present), sql.SQL(mode)
        )
        for attempt in range(1, LOCK_ATTEMPTS + 1):
            try:
                conn.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT_MS}ms'")
                if present:
                    conn.execute(lock)
                work(conn, present)
                conn.commit()
                return
            except psycopg.errors.LockNotAvailable:
                conn.rollback()
                if attempt == LOCK_ATTEMPTS:
                    raise
                time.sleep(min(0.01 * attempt, 0.2))


def install(placement: Placement, tenant_id) -> None:
    """Start capturing the tenant's changes in `placement` (idempotent).

    The triggers are created in one transaction holding every table against writes: when
    it commits, every transaction that wrote a tenant table without the trigger has ended
    (the lock waited for them), so a snapshot taken after this sees every change that was
    not captured.
    """
    table = _qualified(tenant_id)
    tid = sql.Literal(str(tenant_id))

    with placement.connect() as conn:
        # One mover at a time replaces the shared function (concurrent replaces fail).
        conn.execute("SELECT pg_advisory_xact_lock(hashtextextended('saas_move_capture', 0))")
        conn.execute(_FUNCTION_SQL)
        # Default privileges may grant the app role on new objects: revoked by name too.
        conn.execute(
            sql.SQL("REVOKE ALL ON FUNCTION {}() FROM PUBLIC, {}").format(
                sql.SQL(FUNCTION), sql.Identifier(APP_ROLE)
            )
        )
        conn.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} (seq bigserial PRIMARY KEY, "
                "tbl text NOT NULL, key text NOT NULL)"
            ).format(table)
        )
        conn.execute(
            sql.SQL("REVOKE ALL ON {} FROM PUBLIC, {}").format(table, sql.Identifier(APP_ROLE))
        )
        conn.execute(
            sql.SQL("REVOKE ALL ON SEQUENCE {} FROM PUBLIC, {}").format(
                sql.Identifier("public", f"{capture_table(tenant_id)}_seq_seq"),
                sql.Identifier(APP_ROLE),
            )
        )
        conn.execute(
            sql.SQL("GRANT SELECT, DELETE ON {} TO {}").format(table, sql.Identifier(OPERATOR_ROLE))
        )
        conn.commit()

    def work(conn, present):
        for spec in placed_tables():
            args = sql.SQL("{}, {}").format(
                sql.Literal(f"public.{capture_table(tenant_id)}"), sql.Literal(spec.key)
            )
            for kind, events, row in (
                ("ins", "INSERT", "NEW"),
                ("chg", "UPDATE OR DELETE", "OLD"),
            ):
                name = _trigger(tenant_id, kind)
                conn.execute(
                    sql.SQL("DROP TRIGGER IF EXISTS {} ON {}").format(
                        name, sql.Identifier(spec.table)
                    )
                )
                conn.execute(
                    sql.SQL(
                        "CREATE TRIGGER {name} AFTER {events} ON {table} FOR EACH ROW "
                        "WHEN ({row}.tenant_id = {tid}::uuid) EXECUTE FUNCTION {fn}({args})"
                    ).format(
                        name=name,
                        events=sql.SQL(events),
                        table=sql.Identifier(spec.table),
                        row=sql.SQL(row),
                        tid=tid,
                        fn=sql.SQL(FUNCTION),
                        args=args,
                    )
                )

    _with_lock_retries(placement, "SHARE ROW EXCLUSIVE", work)


def remove(placement: Placement, tenant_id) -> None:
    """Stop capturing (drop the tenant's triggers and its capture table); idempotent."""

    def work(conn, present):
        for table in present:
            for kind in ("ins", "chg"):
                conn.execute(
                    sql.SQL("DROP TRIGGER IF EXISTS {} ON {}").format(
                        _trigger(tenant_id, kind), sql.Identifier(table)
                    )
                )
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(_qualified(tenant_id)))

    _with_lock_retries(placement, "ACCESS EXCLUSIVE", work)


def _exists(conn, table: str) -> bool:
    return conn.execute("SELECT to_regclass(%s) IS NOT NULL", [table]).fetchone()[0]


def pending(conn, tenant_id, *, installed: bool = False) -> int:
    """Capture rows not replayed yet (committed ones), on an operator connection to the source.

    0 when nothing captures (the capture was removed, or never installed).
    """
    count = 0
    if installed or _exists(conn, f"public.{capture_table(tenant_id)}"):
        count = conn.execute(
            sql.SQL("SELECT count(*) FROM {}").format(_qualified(tenant_id))
        ).fetchone()[0]
    conn.commit()
    return count


class VerificationError(Exception):
    """The destination does not hold what the source holds; nothing was committed."""


@dataclass
class Round:
    rows: int = 0  # capture rows consumed
    keys: int = 0  # distinct rows replayed
    per_table: dict[str, int] = field(default_factory=dict)
    checksums: dict | None = None  # per table (count, md5), when verified in full


def _key_filter(spec: TableSpec, keys: list[str]) -> sql.Composable:
    return sql.SQL("{} = ANY({}::{}[])").format(
        sql.Identifier(spec.key), sql.Literal(keys), sql.SQL(spec.key_type)
    )


def _chunks(keys: list[str]):
    for i in range(0, len(keys), KEYS_PER_STATEMENT):
        yield keys[i : i + KEYS_PER_STATEMENT]


def _row_digests(conn, spec: TableSpec, tenant_id, keys: list[str]) -> dict[str, str]:
    out = {}
    for chunk in _chunks(keys):
        query = sql.SQL(
            "SELECT {key}::text, md5(ROW({cols})::text) FROM {table} "
            "WHERE tenant_id = {tid} AND {match}"
        ).format(
            key=sql.Identifier(spec.key),
            cols=sql.SQL(", ").join(sql.Identifier(c) for c in spec.columns),
            table=sql.Identifier(spec.table),
            tid=sql.Literal(str(tenant_id)),
            match=_key_filter(spec, chunk),
        )
        out.update(dict(conn.execute(query).fetchall()))
    return out


def replay_round(source, target, tenant_id, *, verify: str = "") -> Round:
    """Consume the visible capture rows and make the destination match the source's snapshot.

    `source`, `target`: operator connections (not autocommit) to the source and destination
    placements, owned by the caller. `verify`: "" (none), "keys" (the replayed rows, compared
    one by one: cheap, for the write pause), or "full" (row counts and checksums of every
    table, both sides, in the round's snapshot). A mismatch raises VerificationError and
    commits nothing (the capture rows stay).
    """
    result = Round()
    if source.isolation_level != psycopg.IsolationLevel.REPEATABLE_READ:
        source.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ  # one snapshot
    try:
        consumed = source.execute(
            sql.SQL("DELETE FROM {} RETURNING tbl, key").format(_qualified(tenant_id))
        ).fetchall()
        result.rows = len(consumed)
        by_table: dict[str, set[str]] = defaultdict(set)
        for table, key in consumed:
            by_table[table].add(key)
        specs = [s for s in placed_tables() if by_table.get(s.table)]
        target.execute("SET CONSTRAINTS ALL DEFERRED")
        for spec in reversed(specs):  # children first
            for chunk in _chunks(sorted(by_table[spec.table])):
                target.execute(
                    sql.SQL("DELETE FROM {} WHERE tenant_id = {} AND {}").format(
                        sql.Identifier(spec.table),
                        sql.Literal(str(tenant_id)),
                        _key_filter(spec, chunk),
                    )
                )
        cols = {s.table: sql.SQL(", ").join(sql.Identifier(c) for c in s.columns) for s in specs}
        for spec in specs:  # parents first
            keys = sorted(by_table[spec.table])
            result.per_table[spec.table] = len(keys)
            result.keys += len(keys)
            for chunk in _chunks(keys):
                select = sql.SQL(
                    "COPY (SELECT {} FROM {} WHERE tenant_id = {} AND {}) TO STDOUT (FORMAT BINARY)"
                ).format(
                    cols[spec.table],
                    sql.Identifier(spec.table),
                    sql.Literal(str(tenant_id)),
                    _key_filter(spec, chunk),
                )
                insert = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
                    sql.Identifier(spec.table), cols[spec.table]
                )
                with source.cursor().copy(select) as out, target.cursor().copy(insert) as into:
                    for data in out:
                        into.write(data)
        if verify == "keys":
            for spec in specs:
                keys = sorted(by_table[spec.table])
                if _row_digests(source, spec, tenant_id, keys) != _row_digests(
                    target, spec, tenant_id, keys
                ):
                    raise VerificationError(f"replayed rows of {spec.table} differ")
        elif verify == "full":
            before, after = checksums_in(source, tenant_id), checksums_in(target, tenant_id)
            if before != after:
                bad = sorted(t for t in before if before[t] != after.get(t))
                raise VerificationError(f"verification failed for {', '.join(bad)}")
            result.checksums = before
        target.commit()
        source.commit()  # after the destination: a crash in between replays the keys again
    except BaseException:
        target.rollback()
        source.rollback()
        raise
    return result
