"""Cache keys that carry the current tenant, so cached data never crosses tenants."""

from tenants.context import get_current_tenant


def tenant_key(key: str, key_prefix: str, version: int) -> str:
    tenant = get_current_tenant()
    scope = tenant.pk.hex if tenant is not None else "-"
    return f"{key_prefix}:{version}:t:{scope}:{key}"
