"""The role aliases built for a server: the main server's overrides never name another."""

from __future__ import annotations

from tenants.database_config import APP_ROLE, OPERATOR_ROLE, build_databases, role_password


def _env(monkeypatch):
    monkeypatch.setenv("DB_ROLE_SECRET", "x" * 40)
    monkeypatch.setenv("DATABASE_URL", "postgresql://admin:pw@main.internal:5432/saas")
    monkeypatch.setenv("APP_DATABASE_URL", "postgresql://saas_app:given@bouncer:6432/saas")
    monkeypatch.setenv(
        "OPERATOR_DATABASE_URL", "postgresql://saas_operator:given@bouncer:6432/saas"
    )


def test_the_main_servers_connection_overrides_apply_to_the_main_server(monkeypatch):
    _env(monkeypatch)
    aliases = build_databases("postgresql://admin:pw@main.internal:5432/saas")
    assert (aliases["default"]["HOST"], aliases["default"]["PORT"]) == ("bouncer", 6432)
    assert aliases["default"]["PASSWORD"] == "given"
    assert aliases["operator"]["HOST"] == "bouncer"


def test_another_server_is_reached_directly_with_the_roles_derived_logins(monkeypatch):
    # Before: APP_DATABASE_URL replaced the whole connection, host included, so a regional
    # tenant's database was looked for behind the main server's PgBouncer.
    _env(monkeypatch)
    aliases = build_databases("postgresql://eu.internal:5433/saas_pool_3")
    app, operator = aliases["default"], aliases["operator"]
    assert (app["HOST"], app["PORT"], app["NAME"]) == ("eu.internal", 5433, "saas_pool_3")
    assert (app["USER"], app["PASSWORD"]) == (APP_ROLE, role_password(APP_ROLE))
    assert (operator["HOST"], operator["USER"]) == ("eu.internal", OPERATOR_ROLE)
    assert operator["PASSWORD"] == role_password(OPERATOR_ROLE)
