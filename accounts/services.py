"""Users of a tenant: create, change role, remove."""

from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from accounts.models import Role, User
from audit.services import audit_record
from tenants.transactions import tenant_atomic


class AccountError(Exception):
    pass


def user_create(
    *, tenant, email: str, password: str | None, role: str = Role.MEMBER, name: str = "",
    actor=None, enforce_plan: bool = True,
) -> User:
    email = (email or "").strip().lower()
    if password:
        try:
            validate_password(password)
        except ValidationError as exc:
            raise AccountError(" ".join(exc.messages)) from None
    try:
        with tenant_atomic():
            user = User(tenant_id=tenant.pk, email=email, role=role, name=name)
            user.set_password(password) if password else user.set_unusable_password()
            user.full_clean(exclude=["password"])
            user.save(force_insert=True)
            audit_record(tenant=tenant, actor=actor, action="member.create", target=user,
                         data={"email": email, "role": role})
    except ValidationError as exc:
        raise AccountError("; ".join(exc.messages)) from None
    except IntegrityError:
        raise AccountError(f"{email} is already a member of this organisation.") from None
    return user
