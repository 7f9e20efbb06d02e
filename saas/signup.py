"""Public sign-up on the apex: a new organisation, its owner, and a hand-off to its own host."""

from __future__ import annotations

from django import forms
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse

from accounts.forms import EMAIL_MAX_LENGTH
from accounts.handoff import handoff_token_create
from accounts.models import User
from accounts.onboarding import organisation_create
from accounts.services import AccountError
from billing.models import Plan
from tenants.context import tenant_scope
from tenants.links import tenant_url
from tenants.models import Tenant
from tenants.reservations import NOT_AVAILABLE, subdomain_is_reserved
from tenants.services import TenantError
from tenants.validators import validate_subdomain


def subdomain_problem(value: str) -> str | None:
    """Why `value` cannot be a new organisation's subdomain, or None if it is free."""
    try:
        validate_subdomain(value)
    except ValidationError as exc:
        return exc.messages[0]
    # A live organisation's name and one kept after a deletion get the same answer: the
    # check must not tell who deleted what, only that the name cannot be had.
    if Tenant.objects.filter(subdomain=value).exists() or subdomain_is_reserved(value):
        return NOT_AVAILABLE.format(subdomain=value)
    return None


class SignupForm(forms.Form):
    name = forms.CharField(label="Organisation name", max_length=200)
    subdomain = forms.CharField(
        max_length=63,
        help_text="Lowercase letters, digits and hyphens. Your address will be <subdomain>.<domain>.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    plan = forms.ChoiceField(choices=())
    email = forms.EmailField(
        label="Your email",
        max_length=EMAIL_MAX_LENGTH,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    password = forms.CharField(
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="At least 8 characters; not a common password.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Plans that need a dedicated placement are set up by the operators, not self-service.
        plans = Plan.objects.filter(is_public=True, required_isolation="")
        self.fields["plan"].choices = [
            (p.code, f"{p.name} — {p.monthly_price} {p.currency}/month") for p in plans
        ]

    def clean_subdomain(self):
        value = self.cleaned_data["subdomain"].strip().lower()
        problem = subdomain_problem(value)
        if problem:
            raise ValidationError(problem)
        return value

    def clean_password(self):
        password = self.cleaned_data["password"]
        validate_password(password)
        return password


def signup(request):
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            tenant = organisation_create(
                name=data["name"],
                subdomain=data["subdomain"],
                plan_code=data["plan"],
                owner_email=data["email"],
                owner_password=data["password"],
            )
        except TenantError as exc:
            form.add_error("subdomain", str(exc))
        except AccountError as exc:  # the owner's account refused (nothing was created)
            form.add_error(None, str(exc))
        else:
            with tenant_scope(tenant):
                owner = User.objects.get(tenant_id=tenant.pk, email=data["email"].lower())
            token = handoff_token_create(tenant=tenant, user=owner)
            url = tenant_url(
                tenant, reverse("accounts:handoff", urlconf="saas.urls_tenant"), request=request
            )
            return redirect(f"{url}?token={token}")
    return render(request, "public/signup.html", {"form": form}, status=400 if form.errors else 200)


def subdomain_check(request):
    """htmx fragment: is this subdomain free? (The form checks again on submit.)"""
    value = request.GET.get("subdomain", "").strip().lower()
    problem = subdomain_problem(value) if value else "Choose a subdomain."
    return render(request, "public/_subdomain_check.html", {"value": value, "problem": problem})
