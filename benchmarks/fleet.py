"""Fleet figures: 10,000 shared tenants over 3 servers against the same tenants on one.

Two throwaway PostgreSQL clusters are started for the stage (initdb on free
loopback ports, `saas.embedded.extra_cluster`), registered as database servers
in the main server's region, and given their pools by the product's own
`ensure_pool` (created and migrated like any server's). The one-server side is
the data set's tenants (`bt-…`, all on the main server). The three-server side
is the same tenants spread by rank: ranks divisible by 3 are the very same
`bt-` tenants on the main server, the others are copies (`bf-…`, same plan,
same rows) registered on server a (rank ≡ 1) or b (rank ≡ 2) with
`database_server` set; their rows are copied into those pools with binary COPY
(as data.py generates: bulk, not one service call per row).

* `multi_server_api_p50_ratio`: the api stage's list endpoint and load generator
  (one gunicorn, wrk) over the same sample of ranks on both sides, interleaved
  rounds, median of per-round p50 ratios three servers / one server.
* `migrate_tenants_3_servers_s`: `migrate_tenants` over the three servers' pools
  and schema tenants on each: nothing to apply, then one migration (the newest
  `projects` migration marked unapplied in both extra pools and in every schema).

Everything the stage made is removed at its end: the copies and schema tenants
in the registry, the server rows, the clusters.
"""

from __future__ import annotations

import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack

import psycopg
from django.conf import settings
from psycopg import sql

from benchmarks import api_common, data
from benchmarks.common import interleave, log, median, replace_dbname
from benchmarks.extensions import API_LIST_PATH
from benchmarks.load import THREADS, WORKERS, Server, wrk
from saas import embedded
from tenants.database_config import admin_conninfo

COPY_PREFIX = "bf-"  # copies of data-set tenants placed on the extra servers
SCHEMA_PREFIX = "bfs-"  # schema tenants for the migrate figure
SERVER_PREFIX = "bench-fleet-"
EXTRA = ("a", "b")  # rank % 3 == 1 → a, == 2 → b; == 0 stays on the main server
SAMPLE = 90  # ranks the load generator spreads its requests over
SCHEMAS_PER_SERVER = {"quick": 3}
SCHEMAS_PER_SERVER_FULL = 40
TABLES = ("accounts_user", "projects_project", "projects_task")


def _admin(dbname: str | None = None, url: str | None = None):
    return psycopg.connect(
        admin_conninfo(url or settings.DATABASE_URL, dbname or data.dbname()), autocommit=True
    )


def _columns(conn, table: str) -> list[str]:
    return [
        r[0]
        for r in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' "
            "AND table_name = %s ORDER BY ordinal_position",
            [table],
        ).fetchall()
    ]


def _cleanup() -> None:
    """Remove what this stage registered (also what an interrupted run left)."""
    with _admin() as c:
        ids = "SELECT id FROM tenants_tenant WHERE subdomain LIKE %s OR subdomain LIKE %s"
        args = [COPY_PREFIX + "%", SCHEMA_PREFIX + "%"]
        for (tid,) in c.execute(
            "SELECT id FROM tenants_tenant WHERE subdomain LIKE %s AND database_server_id IS "
            "NOT DISTINCT FROM (SELECT id FROM tenants_databaseserver WHERE name = 'main')",
            [SCHEMA_PREFIX + "%"],
        ).fetchall():
            c.execute(
                sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(f"t_{tid.hex}"))
            )
        for table in (*TABLES[::-1], "audit_auditevent"):
            c.execute(f"DELETE FROM {table} WHERE tenant_id IN ({ids})", args)
        referencing = c.execute(
            "SELECT conrelid::regclass::text, a.attname, k.confrelid::regclass::text "
            "FROM pg_constraint k JOIN pg_attribute a ON a.attrelid = k.conrelid "
            "AND a.attnum = k.conkey[1] WHERE k.contype = 'f' AND k.confrelid IN "
            "('tenants_tenant'::regclass, 'tenants_databaseserver'::regclass)"
        ).fetchall()
        for table, column, target in referencing:
            if target == "tenants_tenant":
                c.execute(f'DELETE FROM {table} WHERE "{column}" IN ({ids})', args)
        c.execute(f"DELETE FROM tenants_tenant WHERE id IN ({ids})", args)
        servers = "SELECT id FROM tenants_databaseserver WHERE name LIKE %s"
        for table, column, target in referencing:
            if target == "tenants_databaseserver" and table != "tenants_tenant":
                c.execute(
                    f'DELETE FROM {table} WHERE "{column}" IN ({servers})', [SERVER_PREFIX + "%"]
                )
        c.execute("DELETE FROM tenants_databaseserver WHERE name LIKE %s", [SERVER_PREFIX + "%"])


def _register(urls: list[str]) -> list:
    from tenants.backends.database import default_server
    from tenants.backends.pools import ensure_pool
    from tenants.servers import server_register

    region = default_server().region
    servers = []
    for label, url in zip(EXTRA, urls, strict=True):
        server = server_register(name=SERVER_PREFIX + label, url=url, region=region)
        t0 = time.perf_counter()
        ensure_pool(server)
        log(f"fleet: pool on {server.name} created and migrated in {time.perf_counter() - t0:.1f}s")
        servers.append(server)
    return servers


def _place_copies(servers) -> int:
    """Register a copy of every data-set tenant of rank % 3 != 0 on its extra server and
    copy its rows into that server's pool."""
    from tenants import resolvers
    from tenants.backends.pools import pool_database_name

    t0 = time.perf_counter()
    with _admin() as src:
        src.execute(
            "CREATE TEMP TABLE bench_fleet_map AS SELECT t.id AS old_id, "
            "gen_random_uuid() AS new_id, substr(t.subdomain, length(%s) + 1)::int AS rank "
            "FROM tenants_tenant t WHERE t.subdomain LIKE %s AND isolation = 'shared'",
            [data.PREFIX, data.PREFIX + "%"],
        )
        src.execute("DELETE FROM bench_fleet_map WHERE rank % 3 = 0")
        src.execute("CREATE INDEX ON bench_fleet_map (old_id)")
        cols = _columns(src, "tenants_tenant")
        picked = {
            "id": "m.new_id",
            "subdomain": f"'{COPY_PREFIX}' || lpad(m.rank::text, 5, '0')",
            "name": "'Bench fleet ' || m.rank",
            "database_server_id": (
                f"CASE WHEN m.rank % 3 = 1 THEN {servers[0].pk} ELSE {servers[1].pk} END"
            ),
        }
        select = ", ".join(picked.get(c, f"t.{c}") for c in cols)
        n = src.execute(
            f"INSERT INTO tenants_tenant ({', '.join(cols)}) SELECT {select} "
            "FROM tenants_tenant t JOIN bench_fleet_map m ON m.old_id = t.id"
        ).rowcount
        for i, server in enumerate(servers):
            with _admin(pool_database_name(server), server.url) as dst:
                for table in TABLES:
                    cols = _columns(dst, table)
                    select = ", ".join("m.new_id" if c == "tenant_id" else f"t.{c}" for c in cols)
                    with (
                        src.cursor().copy(
                            f"COPY (SELECT {select} FROM {table} t JOIN bench_fleet_map m "
                            f"ON m.old_id = t.tenant_id WHERE m.rank % 3 = {i + 1}) "
                            "TO STDOUT (FORMAT binary)"
                        ) as out,
                        dst.cursor().copy(
                            f"COPY {table} ({', '.join(cols)}) FROM STDIN (FORMAT binary)"
                        ) as into,
                    ):
                        for chunk in out:
                            into.write(chunk)
                dst.execute("VACUUM ANALYZE")
        subdomains = [
            r[0]
            for r in src.execute(
                "SELECT subdomain FROM tenants_tenant WHERE subdomain LIKE %s", [COPY_PREFIX + "%"]
            ).fetchall()
        ]
    resolvers.invalidate_many(subdomains)  # a previous run's copies had other ids
    log(
        f"fleet: {n} tenants copied to {len(servers)} extra servers in {time.perf_counter() - t0:.1f}s"
    )
    return n


def _tenant_of(rank: int, multi: bool):
    from tenants.models import Tenant

    prefix = COPY_PREFIX if multi and rank % 3 else data.PREFIX
    return Tenant.objects.select_related("plan", "database_server").get(
        subdomain=f"{prefix}{rank:05d}"
    )


def _warm(server, targets) -> None:
    """First requests of a process to a server open its pool (seconds on a busy machine):
    every target once per worker thread, then a short wrk run per side, before timing."""
    with ThreadPoolExecutor(max_workers=WORKERS * THREADS) as pool:
        list(pool.map(lambda t: _get(server, t), targets * WORKERS))
    wrk(server.url, targets, "GET", 2)


def _get(server, target) -> None:
    host, path, auth = target
    headers = {"Host": host, "Accept": "application/json"}
    if auth:
        headers["Authorization"] = auth
    req = urllib.request.Request(server.url + path, headers=headers)
    with urllib.request.urlopen(req, timeout=60) as r:
        r.read()


def _api_ratio(size, admin_url: str) -> dict:
    from tenants.models import Isolation, Tenant

    # Data-set tenants the api stage moved to other modes (it keeps their pooled
    # rows) are neither side's: only shared ones are copied and sampled.
    shared = set(
        Tenant.objects.filter(
            subdomain__startswith=data.PREFIX, isolation=Isolation.SHARED
        ).values_list("subdomain", flat=True)
    )
    ranks = [r for r in api_common._ranks(size, SAMPLE) if data.subdomain(r) in shared]
    one = [_tenant_of(r, False) for r in ranks]
    multi = [_tenant_of(r, True) for r in ranks]
    tokens = api_common._api_ready(one + [t for t in multi if t.subdomain.startswith(COPY_PREFIX)])
    one_t = api_common._targets(one, True, API_LIST_PATH, tokens)
    multi_t = api_common._targets(multi, True, API_LIST_PATH, tokens)
    with Server(replace_dbname(admin_url, data.dbname())) as server:
        _warm(server, multi_t + one_t)
        pairs = interleave(
            size.rounds,
            lambda: wrk(server.url, multi_t, "GET", size.load_seconds),
            lambda: wrk(server.url, one_t, "GET", size.load_seconds),
        )
    per_server: dict[str, int] = {}
    for t in multi:
        name = t.database_server.name if t.database_server else "main"
        per_server[name] = per_server.get(name, 0) + 1
    out = {
        "p50_ratio": median([a["p50"] / b["p50"] for a, b in pairs]),
        "p95_ratio": median([a["p95"] / b["p95"] for a, b in pairs]),
        "p50_ratio_per_round": [round(a["p50"] / b["p50"], 3) for a, b in pairs],
        "p50_ms_three_servers": median([a["p50"] / 1000 for a, _ in pairs]),
        "p50_ms_one_server": median([b["p50"] / 1000 for _, b in pairs]),
        "rps_three_servers": median([a["rps"] for a, _ in pairs]),
        "rps_one_server": median([b["rps"] for _, b in pairs]),
        "sampled_tenants_per_server": per_server,
        "rounds": len(pairs),
    }
    log(
        f"fleet api: p50 x{out['p50_ratio']:.3f} ({out['p50_ms_three_servers']:.1f} vs "
        f"{out['p50_ms_one_server']:.1f} ms), p95 x{out['p95_ratio']:.3f}"
    )
    return out


def _migrate(size, servers) -> dict:
    from accounts.onboarding import organisation_create
    from tenants.backends.fleet import migrate_tenants
    from tenants.backends.migrate import full_plan
    from tenants.backends.pools import pool_database_name
    from tenants.models import Isolation, Tenant

    per = SCHEMAS_PER_SERVER.get(size.name, SCHEMAS_PER_SERVER_FULL)
    t0 = time.perf_counter()
    for name in ["main"] + [s.name for s in servers]:
        for n in range(per):
            organisation_create(
                name=f"Bench fleet schema {n}",
                subdomain=f"{SCHEMA_PREFIX}{name.removeprefix(SERVER_PREFIX)}-{n:03d}",
                plan_code="pro",
                isolation="schema",
                server_name=name,
            )
    log(f"fleet: {per * 3} schema tenants created in {time.perf_counter() - t0:.1f}s")
    migrate_tenants(parallel=2)  # settle anything provisioning left

    t0 = time.perf_counter()
    outcomes = migrate_tenants(parallel=2)
    noop = time.perf_counter() - t0
    assert all(o.ok and o.applied == 0 for o in outcomes), "no-op run applied something"

    app, name = [k for k in full_plan() if k[0] == "projects"][-1]
    places = [(settings.DATABASE_URL, data.dbname())] + [
        (s.url, pool_database_name(s)) for s in servers
    ]
    for url, dbname in places:
        with _admin(dbname, url) as c:
            schemas = [
                r[0]
                for r in c.execute(
                    "SELECT nspname FROM pg_namespace WHERE nspname LIKE 't\\_%'"
                ).fetchall()
            ]
            if url != settings.DATABASE_URL:  # the pool's own tables (the main one: `migrate`)
                schemas.append("public")
            for schema in schemas:
                c.execute(
                    sql.SQL("DELETE FROM {}.django_migrations WHERE app = %s AND name = %s").format(
                        sql.Identifier(schema)
                    ),
                    [app, name],
                )
    t0 = time.perf_counter()
    outcomes = migrate_tenants(parallel=2)
    one = time.perf_counter() - t0
    failed = [o for o in outcomes if not o.ok]
    assert not failed, f"migrate_tenants failed for {len(failed)}: {failed[:3]}"
    schemas = Tenant.objects.filter(isolation=Isolation.SCHEMA).count()
    migrated = sum(1 for o in outcomes if o.applied)
    log(
        f"fleet migrate_tenants over 3 servers ({schemas} schemas, 2 extra pools): "
        f"no-op {noop:.2f}s, one migration {one:.2f}s ({migrated} placements migrated)"
    )
    return {
        "noop_s": noop,
        "one_s": one,
        "schemas": schemas,
        "schemas_per_server": per,
        "placements_migrated": migrated,
        "migration": f"{app}.{name}",
    }


def _close_aliases(servers) -> None:
    """Close this process's connections to the extra servers before they stop."""
    from django.db import connections

    from tenants.backends.database import close_pool
    from tenants.backends.pools import pool_alias

    for server in servers:
        alias = pool_alias(server)
        if alias in connections.settings:
            connections[alias].close()
            close_pool(alias)


def run(size, admin_url: str) -> dict:
    _cleanup()
    with ExitStack() as stack:
        try:
            urls = [stack.enter_context(embedded.extra_cluster("bench-fleet-")) for _ in EXTRA]
        except embedded.ClusterUnavailable as exc:
            return {"fleet_unavailable": str(exc)}
        stack.callback(_cleanup)
        servers = _register(urls)
        stack.callback(_close_aliases, servers)
        copied = _place_copies(servers)
        figures = _api_ratio(size, admin_url)
        migrate = _migrate(size, servers)
    return {
        "multi_server_api_p50_ratio": figures["p50_ratio"],
        "migrate_tenants_3_servers_s": {"noop": migrate["noop_s"], "one": migrate["one_s"]},
        "fleet_detail": {
            "tenants": size.tenants,
            "copied_to_extra_servers": copied,
            "api": figures,
            "migrate": migrate,
        },
    }
