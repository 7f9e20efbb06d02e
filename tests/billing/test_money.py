"""Invoice arithmetic against hand-computed values: Decimal, half-up rounding, tax on the subtotal."""

from decimal import Decimal as D

import pytest

from audit.models import AuditEvent
from billing import money
from billing.errors import BillingError
from billing.invoices import (
    invoice_add_line,
    invoice_create,
    invoice_finalize,
    invoice_for_period,
    invoice_mark_paid,
    invoice_void,
)
from billing.models import Invoice, InvoiceLine
from billing.subscriptions import subscription_start
from tenants.context import tenant_scope


@pytest.mark.parametrize(
    ("quantity", "unit_price", "currency", "expected"),
    [
        ("1", "0.005", "EUR", D("0.01")),  # half-up, not banker's (which gives 0.00)
        ("1", "0.015", "EUR", D("0.02")),
        ("1", "0.025", "EUR", D("0.03")),  # banker's would give 0.02
        ("1", "0.0049", "EUR", D("0.00")),
        ("3", "0.335", "EUR", D("1.01")),  # 1.005 → 1.01 (a float would give 1.00)
        ("2.5", "19.99", "EUR", D("49.98")),  # 49.975 → 49.98
        ("7", "1.10", "EUR", D("7.70")),
        ("1", "100.5", "JPY", D("101")),  # no minor unit
        ("1", "1.2345", "KWD", D("1.235")),  # three decimals
        ("-1", "0.005", "EUR", D("-0.01")),  # half away from zero for credits
    ],
)
def test_line_amounts(quantity, unit_price, currency, expected):
    amount = money.line_amount(quantity, unit_price, currency)
    assert amount == expected
    assert amount.as_tuple().exponent == expected.as_tuple().exponent


def test_tax_is_computed_once_on_the_subtotal():
    # Three lines of 0.10 at 5 %: per-line tax would be 3 × round(0.005) = 0.03;
    # on the subtotal it is round(0.30 × 0.05) = round(0.015) = 0.02.
    amounts = [money.line_amount(1, "0.10", "EUR")] * 3
    assert money.totals(amounts, "0.05", "EUR") == (D("0.30"), D("0.02"), D("0.32"))


@pytest.mark.parametrize(
    ("amounts", "rate", "expected"),
    [
        (["49.00"], "0.19", ("49.00", "9.31", "58.31")),
        (["49.98", "7.70"], "0.19", ("57.68", "10.96", "68.64")),  # 10.9592
        (["0.10"], "0.05", ("0.10", "0.01", "0.11")),  # 0.005 → 0.01
        (["0.30"], "0.05", ("0.30", "0.02", "0.32")),  # 0.015 → 0.02
        (["10.00"], "0", ("10.00", "0.00", "10.00")),
        (["0.01"], "0.075", ("0.01", "0.00", "0.01")),  # 0.00075
    ],
)
def test_totals(amounts, rate, expected):
    assert money.totals([D(a) for a in amounts], rate, "EUR") == tuple(D(x) for x in expected)


def test_floats_and_nonsense_are_refused():
    with pytest.raises(money.MoneyError, match="not float"):
        money.line_amount(1, 0.1, "EUR")
    with pytest.raises(money.MoneyError, match="not a number"):
        money.line_amount(1, "ten", "EUR")
    with pytest.raises(money.MoneyError, match="finite"):
        money.line_amount(1, "NaN", "EUR")
    with pytest.raises(money.MoneyError, match="between 0 and 1"):
        money.tax_rate_value("19")
    with pytest.raises(money.MoneyError, match="ISO 4217"):
        money.minor_unit("EURO")


@pytest.mark.parametrize(
    ("value", "is_card"),
    [
        ("4242 4242 4242 4242", True),
        ("4111-1111-1111-1111", True),
        ("4242424242424241", False),  # fails Luhn
        ("pi_3OqK2L2eZvKYlo2C1a2b3c4d", False),
        ("123456789012", False),  # too short
    ],
)
def test_card_number_detection(value, is_card):
    assert money.looks_like_card_number(value) is is_card


@pytest.mark.django_db
def test_invoice_lifecycle_with_hand_computed_totals(pro_tenant):
    invoice = invoice_create(
        tenant=pro_tenant,
        tax_rate="0.19",
        lines=[("Pro plan", 1, "49.00"), ("Extra seats", "2.5", "19.99"), ("Storage", 7, "1.10")],
    )
    # 49.00 + 49.98 + 7.70 = 106.68; tax 20.2692 → 20.27; total 126.95
    assert (invoice.subtotal, invoice.tax, invoice.total) == (D("106.68"), D("20.27"), D("126.95"))
    assert invoice.number.endswith("-00001")
    invoice = invoice_finalize(tenant=pro_tenant, invoice=invoice)
    assert invoice.status == "open"
    with pytest.raises(BillingError, match="only drafts take new lines"):
        invoice_add_line(
            tenant=pro_tenant, invoice=invoice, description="x", quantity=1, unit_price="1"
        )
    with pytest.raises(BillingError, match="card number"):
        invoice_mark_paid(
            tenant=pro_tenant, invoice=invoice, external_payment_reference="4242424242424242"
        )
    invoice = invoice_mark_paid(
        tenant=pro_tenant, invoice=invoice, external_payment_reference="pi_123"
    )
    with tenant_scope(pro_tenant):
        stored = Invoice.objects.get(pk=invoice.pk)
        assert (stored.status, stored.external_payment_reference) == ("paid", "pi_123")
        assert (stored.subtotal, stored.tax, stored.total) == (D("106.68"), D("20.27"), D("126.95"))
        assert [line.amount for line in InvoiceLine.objects.filter(invoice=stored)] == [
            D("49.00"),
            D("49.98"),
            D("7.70"),
        ]
        assert list(
            AuditEvent.objects.filter(target_id=str(invoice.pk))
            .order_by("created_at")
            .values_list("action", flat=True)
        ) == ["invoice.create", "invoice.finalize", "invoice.paid"]
    with pytest.raises(BillingError, match="cannot be voided"):
        invoice_void(tenant=pro_tenant, invoice=invoice)


@pytest.mark.django_db
def test_invoice_rules(pro_tenant, tenant_b):
    empty = invoice_create(tenant=pro_tenant, tax_rate="0.2")
    with pytest.raises(BillingError, match="has no lines"):
        invoice_finalize(tenant=pro_tenant, invoice=empty)
    assert invoice_void(tenant=pro_tenant, invoice=empty).status == "void"
    second = invoice_create(
        tenant=pro_tenant, tax_rate="0.2", currency="jpy", lines=[("x", 3, "333.5")]
    )
    assert second.number.endswith("-00002")  # numbers are per tenant and sequential
    assert (second.currency, second.subtotal, second.tax, second.total) == (
        "JPY",
        D("1001"),
        D("200"),
        D("1201"),
    )
    with pytest.raises(BillingError, match="not float"):
        invoice_create(tenant=pro_tenant, tax_rate=0.19)
    with pytest.raises(BillingError, match="quantity must be positive"):
        invoice_add_line(
            tenant=pro_tenant, invoice=second, description="x", quantity=0, unit_price="1"
        )
    # Another tenant's numbering starts at 1, and it cannot see these invoices.
    other = invoice_create(tenant=tenant_b, tax_rate="0")
    assert other.number.endswith("-00001")
    with tenant_scope(tenant_b):
        assert list(Invoice.objects.values_list("pk", flat=True)) == [other.pk]


@pytest.mark.django_db
def test_invoice_for_the_current_period(pro_tenant):
    subscription = subscription_start(tenant=pro_tenant)
    invoice = invoice_for_period(tenant=pro_tenant, tax_rate="0.19")
    assert invoice.status == "open"
    assert (invoice.period_start, invoice.period_end) == (
        subscription.current_period_start,
        subscription.current_period_end,
    )
    assert (invoice.subtotal, invoice.tax, invoice.total) == (D("49.00"), D("9.31"), D("58.31"))


@pytest.mark.django_db
def test_the_database_refuses_an_inconsistent_total(pro_tenant):
    from django.db import IntegrityError, transaction

    invoice = invoice_create(tenant=pro_tenant, tax_rate="0.19", lines=[("Pro plan", 1, "49.00")])
    with tenant_scope(pro_tenant), pytest.raises(IntegrityError), transaction.atomic():
        Invoice.objects.filter(pk=invoice.pk).update(total=D("1.00"))
