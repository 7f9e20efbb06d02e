"""Custom domains of a tenant: add (with a verification token), verify, remove. Audited."""

from __future__ import annotations

import logging

from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.services import audit_record
from billing.limits import feature_require
from tenants import domains as registry
from tenants.context import tenant_scope
from tenants.control import control_alias
from tenants.domains import DomainError
from tenants.models import Domain, Tenant
from tenants.routers import data_alias

logger = logging.getLogger("domains")

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
        # Only our own earlier claim can collide: other tenants' claims never block.
        raise DomainError(f"{domain} is already added.") from None
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
    for attempt in range(2):
        try:
            with transaction.atomic():
                domain.verified_at = timezone.now()
                domain.save(update_fields=["verified_at"])
            break
        except IntegrityError:
            domain.verified_at = None
            if attempt or not _release_stale_claim(domain):
                raise DomainError(
                    f"{domain.domain} is verified by another organisation whose DNS record "
                    "is still published."
                ) from None
    with transaction.atomic():
        audit_record(
            tenant=tenant,
            actor=actor,
            action="domain.verify",
            target=domain,
            data={"domain": domain.domain},
        )
    return domain


def _release_stale_claim(domain: Domain) -> bool:
    """Release another tenant's verified claim on the name if DNS no longer publishes its token.

    Ownership is what DNS proves now: the TXT record carries this tenant's token and
    not the holder's (the holder gave the name up or lost it, e.g. kept it verified
    after its plan dropped custom domains, or its DNS moved). The holder's claim goes
    back to unverified (a control-plane write, the operator role: another tenant's
    row; every process drops it through the registry trigger) and the holder's audit
    log says so. False while the holder's record is still published: it keeps the name.
    """
    alias = control_alias(f"custom domain {domain.domain}: DNS names another organisation now")
    holder = (
        Domain.objects.using(alias)
        .filter(domain=domain.domain, verified_at__isnull=False)
        .exclude(pk=domain.pk)
        .first()
    )
    if holder is None:
        return True  # released meanwhile
    if registry.owns(holder.domain, holder.token):
        return False
    with transaction.atomic(using=alias):
        changed = (
            Domain.objects.using(alias)
            .filter(pk=holder.pk, verified_at=holder.verified_at)
            .update(verified_at=None)
        )
    if changed:
        _audit_release(holder)
    return True


def _audit_release(holder: Domain) -> None:
    owner = Tenant.objects.select_related("plan", "database_server").get(pk=holder.tenant_id)
    try:
        with tenant_scope(owner), transaction.atomic(using=data_alias(owner)):
            audit_record(
                tenant=owner,
                action="domain.release",
                target=holder,
                data={
                    "domain": holder.domain,
                    "reason": "its DNS record names another organisation's token now",
                },
            )
    except Exception:  # the release stands: DNS decided it; the log line keeps the trace
        logger.exception("custom domain %s released; its audit row was not written", holder)


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
