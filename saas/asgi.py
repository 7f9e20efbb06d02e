"""ASGI entry point."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings.base")
application = get_asgi_application()

# Every placement is checked for row-level security before serving (tenants.guards):
# unsafe pooled tables stop the start; an unsafe tenant placement is refused service.
from tenants.guards import guard_at_start  # noqa: E402

guard_at_start()
