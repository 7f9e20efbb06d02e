"""Operator accounts and the console's fleet actions."""

from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from operators.models import Operator


class OperatorError(Exception):
    """Refused with a message meant for the operator."""


def operator_create(*, email: str, password: str) -> Operator:
    email = (email or "").strip().lower()
    try:
        # The console signs in by email (an EmailField): an address it can never take
        # would make an account nobody can use. The field's validators: format and length.
        if not email:
            raise ValidationError("Enter a valid email address.")
        Operator._meta.get_field("email").run_validators(email)
    except ValidationError as exc:
        raise OperatorError(f"email {email[:80]!r}: {' '.join(exc.messages)}") from None
    try:
        validate_password(password)
    except ValidationError as exc:
        raise OperatorError(" ".join(exc.messages)) from None
    operator = Operator(email=email)
    operator.set_password(password)
    try:
        with transaction.atomic():
            operator.save(force_insert=True)
    except IntegrityError:
        raise OperatorError(f"An operator {email} already exists.") from None
    return operator


def operator_authenticate(*, email: str, password: str) -> Operator | None:
    operator = Operator.objects.filter(email=(email or "").strip().lower(), is_active=True).first()
    if operator is None:
        Operator().set_password(password)  # same time for unknown emails
        return None
    if not operator.check_password(password):
        return None
    Operator.objects.filter(pk=operator.pk).update(last_login=timezone.now())
    return operator


def sla_breaches_flag(*, now=None) -> list[dict]:
    """Flag tenants breaching their plan's objectives this month, once per objective and month.

    Each new breach gets an audit entry in the tenant's own log; operators get one
    email listing them all. Re-runs flag nothing twice (the audit entry is the record).
    """
    from django.conf import settings
    from django.core.mail import send_mail

    from audit.models import AuditEvent
    from audit.services import audit_record
    from observability.selectors import fleet_sla, month_start
    from tenants.context import tenant_scope
    from tenants.transactions import tenant_atomic

    now = now or timezone.now()
    month = f"{month_start(now):%Y-%m}"
    flagged = []
    for verdict in fleet_sla(since=month_start(now), until=now):
        if not verdict.breached:
            continue
        tenant = verdict.tenant
        with tenant_scope(tenant), tenant_atomic():
            already = set(
                AuditEvent.objects.filter(
                    tenant_id=tenant.pk, action="sla.breached", data__month=month
                ).values_list("data__objective", flat=True)
            )
            for objective in verdict.breached_objectives():
                if objective in already:
                    continue
                entry = {
                    "month": month,
                    "objective": objective,
                    "p95_ms": verdict.figures.p95,
                    "p95_objective_ms": verdict.p95_objective_ms,
                    "availability_pct": verdict.figures.availability,
                    "availability_objective_pct": verdict.availability_objective,
                    "requests": verdict.figures.count,
                }
                audit_record(tenant=tenant, actor="system", action="sla.breached", data=entry)
                flagged.append({"tenant": tenant.subdomain, **entry})
    recipients = list(Operator.objects.filter(is_active=True).values_list("email", flat=True))
    if flagged and recipients:
        lines = [
            f"{f['tenant']}: {f['objective']} objective missed in {f['month']} "
            f"(p95 {f['p95_ms']} ms vs {f['p95_objective_ms']} ms, availability "
            f"{f['availability_pct']}% vs {f['availability_objective_pct']}%, "
            f"{f['requests']} requests)"
            for f in flagged
        ]
        send_mail(
            subject=f"[Tenantry] {len(flagged)} new SLA breach(es)",
            message="\n".join(lines),
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=recipients,
        )
    return flagged
