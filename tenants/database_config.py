"""Builds the database aliases (one per role) from the environment."""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from tenants.local_secrets import DATA_DIR, read_or_create

ENGINE = "tenants.db"

APP_ROLE = os.environ.get("APP_DB_ROLE", "saas_app")
OWNER_ROLE = os.environ.get("OWNER_DB_ROLE", "saas_owner")
OPERATOR_ROLE = os.environ.get("OPERATOR_DB_ROLE", "saas_operator")


# Where the generated role secret lives when DB_ROLE_SECRET is not given (one host:
# `make run`, `make test`). Containers share DB_ROLE_SECRET instead (docker-compose.yml).
ROLE_SECRET_FILE = Path(os.environ.get("DB_ROLE_SECRET_FILE") or DATA_DIR / "db-role-secret")


def role_secret() -> str:
    """The secret the login roles' passwords derive from; never SECRET_KEY.

    SECRET_KEY signs cookies and may be rotated or (in DEBUG) public; the
    BYPASSRLS operator role's password must not be derivable from it.
    """
    given = os.environ.get("DB_ROLE_SECRET", "").strip()
    return given or read_or_create(ROLE_SECRET_FILE)


def role_password(role: str) -> str:
    """A stable password per login role, so DATABASE_URL alone is enough to run."""
    return hmac.new(role_secret().encode(), f"db-role:{role}".encode(), hashlib.sha256).hexdigest()[
        :40
    ]


def _parse(url: str) -> dict:
    scheme = url.partition("://")[0] if "://" in url else ""
    if scheme not in ("postgres", "postgresql"):
        # Said at startup in one line (manage.py, the servers); never the URL: it holds a password.
        raise ImproperlyConfigured(
            "a database URL must look like postgresql://user:password@host:5432/name "
            f"(got {'scheme ' + repr(scheme) if scheme else 'no scheme'})"
        )
    cfg = dj_database_url.parse(url, conn_max_age=0)
    cfg["ENGINE"] = ENGINE
    return cfg


def pool_options(
    *, min_size: int, max_size: int, timeout: float, max_idle: float, num_workers: int = 2
) -> dict | None:
    """psycopg_pool options for one alias in one process; max_size 0 disables pooling."""
    if max_size <= 0:
        return None
    return {
        "min_size": min(min_size, max_size),
        "max_size": max_size,
        # How long a request waits for a connection before it is refused (503).
        "timeout": timeout,
        # psycopg_pool closes one connection above min_size per max_idle seconds
        # in which the pool always had one to spare: bursts drain quickly.
        "max_idle": max_idle,
        "num_workers": num_workers,
    }


def _common(cfg: dict, *, pool: dict | None) -> dict:
    cfg = dict(cfg)
    cfg["OPTIONS"] = dict(cfg.get("OPTIONS") or {})
    # A refused or hung server must fail fast, not hold a worker.
    cfg["OPTIONS"].setdefault("connect_timeout", 3)
    # Never persistent per thread: under ASGI and threaded servers threads come
    # and go, and each would keep its own connection. A per-process pool is the
    # only holder of idle connections, so its max_size is the process's bound.
    cfg["CONN_MAX_AGE"] = 0
    if pool:
        cfg["OPTIONS"]["pool"] = dict(pool)
    # The pool checks a connection before handing it out: one the server
    # dropped is replaced instead of failing the request.
    cfg["CONN_HEALTH_CHECKS"] = bool(pool)
    # Named (server-side) cursors would declare a query outside the statement
    # that carries the tenant context, and break under PgBouncer transaction
    # pooling; Django documents this switch for exactly that case.
    cfg["DISABLE_SERVER_SIDE_CURSORS"] = True
    return cfg


def _is_main_server(cfg: dict) -> bool:
    main_url = os.environ.get("DATABASE_URL", "")
    if not main_url:
        return True
    main = _parse(main_url)
    return (main["HOST"], str(main["PORT"] or "")) == (cfg["HOST"], str(cfg["PORT"] or ""))


def build_databases(
    database_url: str,
    *,
    pool: dict | None = None,
    operator_pool: dict | None = None,
) -> dict:
    """default = app role, owner = migrations (SET ROLE owner), operator = BYPASSRLS role.

    `pool` and `operator_pool` are pool_options() for the app and operator
    aliases (None: a connection per request). The owner alias is never pooled:
    it sets its role for the session, and only migrations use it.
    `admin` is not a Django alias: it is the raw DATABASE_URL credential, used
    only by tenants.roles to create roles and databases.
    """
    admin = _parse(database_url)
    # APP_DATABASE_URL / OPERATOR_DATABASE_URL (a PgBouncer in front, managed logins)
    # describe the main server. Another registered server is reached directly, with the
    # roles' derived logins: the main server's connection string never names it.
    main = _is_main_server(admin)

    app_url = os.environ.get("APP_DATABASE_URL") if main else None
    if app_url:
        app = _parse(app_url)
    else:
        app = dict(admin, USER=APP_ROLE, PASSWORD=role_password(APP_ROLE))

    operator_url = os.environ.get("OPERATOR_DATABASE_URL") if main else None
    if operator_url:
        operator = _parse(operator_url)
    else:
        operator = dict(admin, USER=OPERATOR_ROLE, PASSWORD=role_password(OPERATOR_ROLE))

    owner = dict(admin)
    owner["OPTIONS"] = dict(admin.get("OPTIONS") or {}, assume_role=OWNER_ROLE)

    return {
        "default": _common(app, pool=pool),
        "owner": _common(owner, pool=None),
        "operator": _common(operator, pool=operator_pool),
    }


# What a URL may carry that is a credential: its user-info (user:password@) and the
# libpq parameters that name one in its query string.
_CREDENTIAL_PARAMS = {"user", "password", "passfile", "sslpassword"}


def split_credentials(url: str) -> tuple[str, str, str]:
    """(address, user, password): `url` without its credentials, and the credentials.

    The address (scheme, host, port, database, connection options) is what the app
    role may read to route to a server: its own login is derived (role_password).
    """
    from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

    parts = urlsplit(url)
    user, password = unquote(parts.username or ""), unquote(parts.password or "")
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = host + (f":{parts.port}" if parts.port else "")
    query = []
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key == "user":
            user = user or value
        elif key == "password":
            password = password or value
        elif key not in _CREDENTIAL_PARAMS:
            query.append((key, value))
    address = urlunsplit((parts.scheme, netloc, parts.path, urlencode(query), ""))
    return address, user, password


def with_credentials(address: str, user: str, password: str) -> str:
    """The URL of `address` logged in as `user` (the inverse of split_credentials)."""
    from urllib.parse import quote, urlsplit, urlunsplit

    parts = urlsplit(address)
    userinfo = quote(user, safe="") if user else ""
    if user and password:
        userinfo += ":" + quote(password, safe="")
    netloc = f"{userinfo}@{parts.netloc}" if userinfo else parts.netloc
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def admin_conninfo(database_url: str, dbname: str | None = None) -> str:
    """libpq conninfo for the raw DATABASE_URL role (role and database creation)."""
    cfg = dj_database_url.parse(database_url)
    from psycopg.conninfo import make_conninfo

    return make_conninfo(
        dbname=dbname or cfg["NAME"],
        user=cfg["USER"] or None,
        password=cfg["PASSWORD"] or None,
        host=cfg["HOST"] or None,
        port=str(cfg["PORT"]) if cfg["PORT"] else None,
        connect_timeout="5",
    )
