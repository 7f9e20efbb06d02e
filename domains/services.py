"""Custom domains of a tenant: add (with a verification token), verify, remove. Audited."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.services import audit_record
from billing.limits import feature_require
from tenants import domains as registry
from tenants.domains import DomainError
from tenants.models import Domain

FEATURE = "custom_domain"


def domain_list(*, tenant):
    return Domain.objects.filter(tenant_id=tenant.pk).order_by("domain")


def domain_add(*, tenant, name: str, actor=None) -> Domain:
    feature_require(tenant=tenant, feature=FEATURE)
    domain = registry.normalise(name)
    try:
        with transaction.atomic():
            row = Domain.objects.create(
                tenant_id=tenant.pk, domain=domain, token=registry.new_token()
            )
            audit_record(
                tenant=tenant, actor=actor, action="domain.add", target=row, data={"domain": domain}
            )
    except IntegrityError:
        # Taken by another tenant or already ours: one answer, no oracle.
        raise DomainError(f"{domain} cannot be added.") from None
    return row


def domain_verify(*, tenant, domain: Domain, actor=None) -> Domain:
    """Serve the domain once its TXT record carries the token (refused otherwise)."""
    feature_require(tenant=tenant, feature=FEATURE)
    if domain.is_verified:
        return domain
    if not registry.owns(domain.domain, domain.token):
        raise DomainError(
            f"No TXT record {registry.challenge_name(domain.domain)} with the token was found. "
            "DNS changes can take a few minutes; try again."
        )
    with transaction.atomic():
        domain.verified_at = timezone.now()
        domain.save(update_fields=["verified_at"])
        audit_record(
            tenant=tenant,
            actor=actor,
            action="domain.verify",
            target=domain,
            data={"domain": domain.domain},
        )
    return domain


def domain_remove(*, tenant, domain: Domain, actor=None) -> None:
    """Stop serving the domain: every process forgets it (registry trigger, staleness bound)."""
    with transaction.atomic():
        audit_record(
            tenant=tenant,
            actor=actor,
            action="domain.remove",
            target=domain,
            data={"domain": domain.domain},
        )
        domain.delete()
