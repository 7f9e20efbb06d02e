"""Password reset: the request queues the mail; the link is made when it is sent."""

from __future__ import annotations

from accounts.models import User
from audit.services import audit_record
from tenants.outbox import outbox_enqueue
from tenants.transactions import tenant_atomic


def password_reset_request(*, tenant, email: str) -> bool:
    """Queue a reset email if this tenant has an active member with that address.

    Returns whether one was queued; callers show the same message either way
    (no account enumeration). The link (Django's single-use token) is made by
    the task when it sends the mail, so no reset token is ever stored.
    """
    from accounts.tasks import send_password_reset_email

    email = (email or "").strip().lower()
    user = User.objects.filter(tenant_id=tenant.pk, email=email, is_active=True).first()
    if user is None or not user.has_usable_password():
        return False
    with tenant_atomic():
        audit_record(tenant=tenant, actor=user, action="password.reset_requested", target=user)
        outbox_enqueue(send_password_reset_email, str(user.pk))
    return True
