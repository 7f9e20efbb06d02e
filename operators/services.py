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
