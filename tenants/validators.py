"""What a subdomain (and so a tenant's DNS label) may be."""

import re

from django.conf import settings
from django.core.exceptions import ValidationError

# A lowercase DNS label, 3–63 chars, letters/digits/hyphens, no leading or
# trailing hyphen.
SUBDOMAIN_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{1,61})[a-z0-9]$")


def validate_subdomain(value: str) -> None:
    if not isinstance(value, str) or not SUBDOMAIN_RE.match(value):
        raise ValidationError(
            "Use 3–63 lowercase letters, digits or hyphens, starting and ending "
            "with a letter or digit.",
            code="invalid_subdomain",
        )
    if value[2:4] == "--":
        # "xn--" is punycode; any "??--" prefix is reserved for such encodings.
        raise ValidationError(
            "Subdomains may not have '--' in the third and fourth position.",
            code="invalid_subdomain",
        )
    if value in settings.TENANT_RESERVED_SUBDOMAINS:
        raise ValidationError(f"'{value}' is reserved.", code="reserved_subdomain")
