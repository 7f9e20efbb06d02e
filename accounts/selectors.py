"""Reads of members, invitations and API tokens. Each names its tenant, though RLS also filters."""

from django.db.models import QuerySet

from accounts.models import ApiToken, Invitation, User


def member_list(*, tenant) -> QuerySet[User]:
    return User.objects.filter(tenant_id=tenant.pk).order_by("date_joined", "id")


def member_get(*, tenant, member_id) -> User:
    return member_list(tenant=tenant).get(pk=member_id)


def invitation_list(*, tenant) -> QuerySet[Invitation]:
    return Invitation.objects.filter(tenant_id=tenant.pk).order_by("-created_at", "id")


def invitation_get(*, tenant, invitation_id) -> Invitation:
    return invitation_list(tenant=tenant).get(pk=invitation_id)


def token_list(*, tenant) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(tenant_id=tenant.pk).order_by("-created_at", "id")


def token_get(*, tenant, token_id) -> ApiToken:
    return token_list(tenant=tenant).get(pk=token_id)
