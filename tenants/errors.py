"""The error tenant operations raise for the person asking (tenants.services and its parts)."""


class TenantError(Exception):
    """A tenant operation refused with a message meant for the person asking."""
