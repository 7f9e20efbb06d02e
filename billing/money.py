"""Invoice arithmetic: Decimal only, rounded half-up to the currency's minor unit.

The rule (docs/billing.md): each line's amount is quantity × unit price,
rounded to the minor unit; the subtotal is the sum of the rounded lines; the
tax is the subtotal × the tax rate, rounded once; the total is subtotal + tax.
Rounding the tax once, on the subtotal, keeps it independent of how the
charges are split into lines.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

# ISO 4217 minor-unit exponents for the currencies we bill in; others default to 2.
MINOR_UNITS = {"JPY": 0, "KRW": 0, "ISK": 0, "BHD": 3, "KWD": 3, "OMR": 3, "TND": 3}


class MoneyError(ValueError):
    """An amount, rate or currency that cannot be billed."""


def to_decimal(value, what: str = "amount") -> Decimal:
    """A Decimal from a Decimal, int or string. Floats are refused: 0.1 is not 0.1 in binary."""
    if isinstance(value, bool | float):
        raise MoneyError(f"{what} must be a Decimal, int or str, not {type(value).__name__}")
    try:
        result = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise MoneyError(f"{what} {value!r} is not a number") from None
    if not result.is_finite():
        raise MoneyError(f"{what} {value!r} is not a finite number")
    return result


def minor_unit(currency: str) -> Decimal:
    code = (currency or "").upper()
    if len(code) != 3 or not code.isalpha():
        raise MoneyError(f"currency {currency!r} is not an ISO 4217 code")
    return Decimal(1).scaleb(-MINOR_UNITS.get(code, 2))


def quantize(amount: Decimal, currency: str) -> Decimal:
    return to_decimal(amount).quantize(minor_unit(currency), rounding=ROUND_HALF_UP)


def line_amount(quantity, unit_price, currency: str) -> Decimal:
    return quantize(
        to_decimal(quantity, "quantity") * to_decimal(unit_price, "unit price"), currency
    )


def tax_rate_value(rate) -> Decimal:
    rate = to_decimal(rate, "tax rate")
    if not Decimal(0) <= rate < Decimal(1):
        raise MoneyError(f"tax rate {rate} must be a fraction between 0 and 1 (0.19 = 19 %)")
    return rate


def totals(amounts: Iterable[Decimal], tax_rate, currency: str) -> tuple[Decimal, Decimal, Decimal]:
    """(subtotal, tax, total) for already-rounded line amounts."""
    subtotal = quantize(sum((to_decimal(a) for a in amounts), Decimal(0)), currency)
    tax = quantize(subtotal * tax_rate_value(tax_rate), currency)
    return subtotal, tax, subtotal + tax


def looks_like_card_number(value: str) -> bool:
    """True for 13–19 digits (spaces/dashes ignored) that pass the Luhn check: never store those."""
    digits = "".join(ch for ch in value if ch not in " -")
    if not digits.isdigit() or not 13 <= len(digits) <= 19:
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0
