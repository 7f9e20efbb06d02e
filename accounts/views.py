"""Tenant-host pages of accounts: sign-in, password reset, hand-off, invitations, members, tokens."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import PasswordResetForm
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.views.decorators.http import require_http_methods, require_POST

from accounts import invitations, password_reset, services, shown_once, throttle
from accounts.forms import AcceptInvitationForm, InviteForm, LoginForm, RoleForm, TokenForm
from accounts.handoff import handoff_token_consume
from accounts.models import ApiToken, Invitation, User
from accounts.permissions import admin_required
from billing.limits import FeatureNotInPlan, PlanLimitExceeded, feature_require

BACKEND = "accounts.backends.TenantEmailBackend"

# --- sign-in --------------------------------------------------------------------------------


class LoginView(auth_views.LoginView):
    form_class = LoginForm
    template_name = "accounts/login.html"
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    next_page = "accounts:login"


def handoff(request):
    """Signs in the owner that sign-up on the apex sent here (one-time, minutes-old token)."""
    user_id = handoff_token_consume(tenant=request.tenant, token=request.GET.get("token", ""))
    user = None
    if user_id:
        user = User.objects.filter(tenant_id=request.tenant.pk, pk=user_id, is_active=True).first()
    if user is None:
        return render(
            request,
            "accounts/message.html",
            {
                "title": "This sign-in link has expired",
                "message": "Sign-in links work once and for two minutes. Sign in with your email and password instead.",
                "action_url": reverse("accounts:login"),
                "action_label": "Sign in",
            },
            status=400,
        )
    login(request, user, backend=BACKEND)
    messages.success(request, f"Welcome to {request.tenant.name}. Your organisation is ready.")
    return redirect("dashboard")


# --- password reset -------------------------------------------------------------------------


class TenantPasswordResetForm(PasswordResetForm):
    """Django's form for the page; the mail goes through the one reset service."""

    def save(self, request=None, **kwargs):
        password_reset.password_reset_request(
            tenant=request.tenant, email=self.cleaned_data["email"]
        )


class PasswordResetView(auth_views.PasswordResetView):
    form_class = TenantPasswordResetForm
    template_name = "accounts/password_reset_form.html"
    success_url = reverse_lazy("accounts:password_reset_done")

    def form_valid(self, form):
        # Requests count like failed logins (per tenant+email and per IP, kind "reset"). Over
        # the limit the answer is the same page, only no mail leaves: nothing to enumerate.
        scope = str(self.request.tenant.pk)
        email, ip = form.cleaned_data["email"], throttle.client_ip(self.request)
        if throttle.wait_seconds(scope, email, ip, kind="reset"):
            return redirect(self.get_success_url())
        throttle.record_failure(scope, email, ip, kind="reset")
        return super().form_valid(form)


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")

    def form_valid(self, form):
        # Proof of the mailbox ends any sign-in delay for this account from this address.
        throttle.record_success(
            str(self.request.tenant.pk), self.user.email, throttle.client_ip(self.request)
        )
        return super().form_valid(form)


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"


# --- invitations ----------------------------------------------------------------------------


def invitation_accept(request, token):
    invitation = invitations.invitation_get_pending(tenant=request.tenant, token=token)
    if invitation is None:
        return render(
            request,
            "accounts/message.html",
            {
                "title": "This invitation cannot be used",
                "message": "It was already accepted, revoked or has expired. Ask an admin of the organisation to invite you again.",
            },
            status=404,
        )
    form = AcceptInvitationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = invitations.invitation_accept(
                tenant=request.tenant,
                token=token,
                password=form.cleaned_data["password"],
                name=form.cleaned_data["name"],
            )
        except services.AccountError as exc:
            form.add_error("password", str(exc))
        else:
            login(request, user, backend=BACKEND)
            messages.success(request, f"Welcome to {request.tenant.name}.")
            return redirect("dashboard")
    return render(
        request, "accounts/invitation_accept.html", {"form": form, "invitation": invitation}
    )


# --- members --------------------------------------------------------------------------------


@admin_required
def members(request):
    form = InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            issued = invitations.invitation_create(
                tenant=request.tenant,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                actor=request.user,
                invited_by=request.user,
            )
        except (services.AccountError, PlanLimitExceeded) as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Invitation sent to {issued.invitation.email}.")
            return redirect("members")
    context = {
        "form": form,
        "members": User.objects.filter(tenant_id=request.tenant.pk).order_by("email"),
        "invitations": [
            i for i in Invitation.objects.filter(tenant_id=request.tenant.pk) if i.is_pending
        ],
        "role_form": RoleForm(),
    }
    return render(request, "accounts/members.html", context, status=400 if form.errors else 200)


@admin_required
@require_POST
def member_role(request, member_id):
    member = get_object_or_404(User, tenant_id=request.tenant.pk, pk=member_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose one of the listed roles.")
        return redirect("members")
    try:
        services.member_update_role(
            tenant=request.tenant, member=member, role=form.cleaned_data["role"], actor=request.user
        )
    except services.AccountError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{member.email} is now {member.get_role_display().lower()}.")
    return redirect("members")


@admin_required
@require_http_methods(["GET", "POST"])
def member_remove(request, member_id):
    member = get_object_or_404(User, tenant_id=request.tenant.pk, pk=member_id)
    if request.method == "GET":
        return render(
            request,
            "confirm.html",
            {
                "base": "base_app.html",
                "nav": "members",
                "title": f"Remove {member.email}?",
                "message": "They are signed out at once and lose access to this organisation.",
                "button": "Remove member",
                "action": request.path,
                "cancel": reverse("members"),
            },
        )
    try:
        services.member_remove(tenant=request.tenant, member=member, actor=request.user)
    except services.AccountError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{member.email} was removed.")
    return redirect("members")


@admin_required
@require_POST
def invitation_revoke(request, invitation_id):
    invitation = get_object_or_404(Invitation, tenant_id=request.tenant.pk, pk=invitation_id)
    invitations.invitation_revoke(tenant=request.tenant, invitation=invitation, actor=request.user)
    messages.success(request, f"The invitation for {invitation.email} was revoked.")
    return redirect("members")


# --- API tokens -----------------------------------------------------------------------------


NEW_TOKEN = "api_token"  # the shown_once slot of a new token's secret


@admin_required
def tokens(request):
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            feature_require(tenant=request.tenant, feature="api_access")
            issued = services.token_create(
                tenant=request.tenant,
                name=form.cleaned_data["name"],
                scopes=form.cleaned_data["scopes"],
                actor=request.user,
                created_by=request.user,
                expires_in_days=form.cleaned_data["expires_in_days"],
            )
        except (services.AccountError, FeatureNotInPlan) as exc:
            form.add_error(None, str(exc))
        else:
            # Post/redirect/get, so a reload cannot create a second token; the secret crosses
            # the redirect sealed (accounts/shown_once.py), never in clear in the session.
            payload = {
                "id": str(issued.token.pk),
                "name": issued.token.name,
                "secret": issued.secret,
            }
            return shown_once.carry(request, redirect("tokens"), NEW_TOKEN, payload)
    issued = shown_once.take(request, NEW_TOKEN) if request.method == "GET" else None
    context = {
        "form": form,
        "issued": issued,
        "tokens": ApiToken.objects.filter(tenant_id=request.tenant.pk),
    }
    response = render(request, "accounts/tokens.html", context, status=400 if form.errors else 200)
    return shown_once.forget(request, response, NEW_TOKEN)


@admin_required
@require_http_methods(["GET", "POST"])
def token_revoke(request, token_id):
    token = get_object_or_404(ApiToken, tenant_id=request.tenant.pk, pk=token_id)
    if request.method == "GET":
        return render(
            request,
            "confirm.html",
            {
                "base": "base_app.html",
                "nav": "tokens",
                "title": f"Revoke the token “{token.name}”?",
                "message": "Scripts and CI jobs using it are refused from the next request. "
                "This cannot be undone.",
                "button": "Revoke token",
                "action": request.path,
                "cancel": reverse("tokens"),
            },
        )
    services.token_revoke(tenant=request.tenant, token=token, actor=request.user)
    messages.success(request, f"Token “{token.name}” was revoked; it stops working now.")
    return redirect("tokens")
