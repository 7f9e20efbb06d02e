"""Invoices: drafts, lines, finalising, payment references and voiding. Every write is audited."""

from __future__ import annotations

from django.db import DEFAULT_DB_ALIAS
from django.utils import timezone

from audit.services import audit_record
from billing import money
from billing.errors import BillingError
from billing.limits import advisory_xact_lock
from billing.models import Invoice, InvoiceLine, InvoiceStatus, Plan
from billing.subscriptions import subscription_locked
from billing.transactions import billing_atomic


def _next_invoice_number(tenant, now) -> str:
    # Sequential per tenant; the lock keeps two concurrent invoices from taking one number.
    advisory_xact_lock(DEFAULT_DB_ALIAS, f"{tenant.pk}:invoice-number")
    count = Invoice.objects.filter(tenant_id=tenant.pk).count()
    return f"{now:%Y}-{count + 1:05d}"


def invoice_create(
    *,
    tenant,
    tax_rate,
    currency: str | None = None,
    period_start=None,
    period_end=None,
    lines=(),
    actor=None,
) -> Invoice:
    """A draft invoice, with optional lines given as (description, quantity, unit_price)."""
    try:
        rate = money.tax_rate_value(tax_rate)
        currency = (currency or Plan.objects.get(pk=tenant.plan_id).currency).upper()
        money.minor_unit(currency)
    except money.MoneyError as exc:
        raise BillingError(str(exc)) from None
    now = timezone.now()
    with billing_atomic(tenant):
        invoice = Invoice.objects.create(
            tenant_id=tenant.pk,
            number=_next_invoice_number(tenant, now),
            currency=currency,
            tax_rate=rate,
            period_start=period_start,
            period_end=period_end,
        )
        for description, quantity, unit_price in lines:
            invoice_add_line(
                tenant=tenant,
                invoice=invoice,
                description=description,
                quantity=quantity,
                unit_price=unit_price,
            )
        audit_record(
            tenant=tenant,
            actor=actor,
            action="invoice.create",
            target=invoice,
            data={"number": invoice.number},
        )
    return invoice


def _recompute(invoice: Invoice) -> None:
    amounts = InvoiceLine.objects.filter(invoice=invoice).values_list("amount", flat=True)
    invoice.subtotal, invoice.tax, invoice.total = money.totals(
        amounts, invoice.tax_rate, invoice.currency
    )
    invoice.save(update_fields=["subtotal", "tax", "total"])


def invoice_add_line(
    *, tenant, invoice: Invoice, description: str, quantity, unit_price
) -> InvoiceLine:
    if invoice.status != InvoiceStatus.DRAFT:
        raise BillingError(
            f"Invoice {invoice.number} is {invoice.status}: only drafts take new lines."
        )
    try:
        amount = money.line_amount(quantity, unit_price, invoice.currency)
        quantity, unit_price = money.to_decimal(quantity), money.to_decimal(unit_price)
    except money.MoneyError as exc:
        raise BillingError(str(exc)) from None
    if quantity <= 0:
        raise BillingError("A line's quantity must be positive.")
    with billing_atomic(tenant):
        line = InvoiceLine.objects.create(
            tenant_id=tenant.pk,
            invoice=invoice,
            description=description,
            quantity=quantity,
            unit_price=unit_price,
            amount=amount,
            position=InvoiceLine.objects.filter(invoice=invoice).count(),
        )
        _recompute(invoice)
    return line


def invoice_finalize(*, tenant, invoice: Invoice, actor=None) -> Invoice:
    """draft → open: the lines and totals are fixed from now on."""
    with billing_atomic(tenant):
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if invoice.status != InvoiceStatus.DRAFT:
            raise BillingError(f"Invoice {invoice.number} is {invoice.status}, not a draft.")
        if not InvoiceLine.objects.filter(invoice=invoice).exists():
            raise BillingError(f"Invoice {invoice.number} has no lines.")
        _recompute(invoice)
        invoice.status, invoice.issued_at = InvoiceStatus.OPEN, timezone.now()
        invoice.save(update_fields=["status", "issued_at"])
        audit_record(tenant=tenant, actor=actor, action="invoice.finalize", target=invoice)
    return invoice


def invoice_mark_paid(
    *, tenant, invoice: Invoice, external_payment_reference: str, actor=None
) -> Invoice:
    """open → paid, recording the payment provider's reference. Card data is refused, never stored."""
    reference = (external_payment_reference or "").strip()
    if not reference:
        raise BillingError("A payment needs the payment provider's reference.")
    if money.looks_like_card_number(reference):
        raise BillingError(
            "That looks like a card number. Store the provider's payment reference instead."
        )
    with billing_atomic(tenant):
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if invoice.status != InvoiceStatus.OPEN:
            raise BillingError(
                f"Invoice {invoice.number} is {invoice.status}: only open invoices can be paid."
            )
        invoice.status, invoice.paid_at = InvoiceStatus.PAID, timezone.now()
        invoice.external_payment_reference = reference
        invoice.save(update_fields=["status", "paid_at", "external_payment_reference"])
        # The provider's reference is the operators' handle (Invoice.export_fields leaves it
        # out): the tenant's log, which its admins read and export, says which invoice only.
        audit_record(
            tenant=tenant,
            actor=actor,
            action="invoice.paid",
            target=invoice,
            data={"number": invoice.number},
        )
    return invoice


def invoice_void(*, tenant, invoice: Invoice, actor=None) -> Invoice:
    with billing_atomic(tenant):
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if invoice.status not in (InvoiceStatus.DRAFT, InvoiceStatus.OPEN):
            raise BillingError(
                f"Invoice {invoice.number} is {invoice.status} and cannot be voided."
            )
        invoice.status, invoice.voided_at = InvoiceStatus.VOID, timezone.now()
        invoice.save(update_fields=["status", "voided_at"])
        audit_record(tenant=tenant, actor=actor, action="invoice.void", target=invoice)
    return invoice


def invoice_for_period(*, tenant, tax_rate, actor=None) -> Invoice:
    """An open invoice for the subscription's current period at its plan's monthly price.

    One live (not void) invoice per period: issuing again is refused, so a re-run never
    bills twice.
    """
    with billing_atomic(tenant):
        # The subscription's row lock serialises two issuers of the same period.
        subscription = subscription_locked(tenant)
        covering = (
            Invoice.objects.filter(
                tenant_id=tenant.pk,
                period_start=subscription.current_period_start,
                period_end=subscription.current_period_end,
            )
            .exclude(status=InvoiceStatus.VOID)
            .first()
        )
        if covering is not None:
            raise BillingError(
                f"Invoice {covering.number} ({covering.status}) already covers this period: "
                "void it first to issue another."
            )
        plan = subscription.plan
        invoice = invoice_create(
            tenant=tenant,
            tax_rate=tax_rate,
            currency=plan.currency,
            period_start=subscription.current_period_start,
            period_end=subscription.current_period_end,
            lines=[
                (
                    f"{plan.name} plan, {subscription.current_period_start:%Y-%m-%d} – "
                    f"{subscription.current_period_end:%Y-%m-%d}",
                    1,
                    plan.monthly_price,
                )
            ],
            actor=actor,
        )
        return invoice_finalize(tenant=tenant, invoice=invoice, actor=actor)
