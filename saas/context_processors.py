"""Which navigation section the current page belongs to (for aria-current)."""

SECTIONS = {
    "dashboard": "dashboard",
    "projects": "projects",
    "project_create": "projects",
    "project_detail": "projects",
    "project_edit": "projects",
    "project_delete": "projects",
    "task_edit": "projects",
    "members": "members",
    "tokens": "tokens",
    "billing": "billing",
    "audit_log": "audit",
    "domains": "domains",
    "webhooks": "webhooks",
    "webhook_detail": "webhooks",
}


def nav(request):
    match = getattr(request, "resolver_match", None)
    return {"nav": SECTIONS.get(getattr(match, "url_name", None), "")}
