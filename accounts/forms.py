"""Login form: email + password, one message for every failure."""

from django import forms
from django.contrib.auth import authenticate

from accounts import throttle
from accounts.models import Role, TokenScope, User
from accounts.services import MAX_EXPIRY_DAYS

# One length for every email a form takes: the column's (a longer one is a field error,
# not a database error at the write).
EMAIL_MAX_LENGTH = User._meta.get_field("email").max_length

LOGIN_FAILED = "That email and password do not match an account here."


class LoginForm(forms.Form):
    email = forms.EmailField(
        max_length=EMAIL_MAX_LENGTH,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )
    password = forms.CharField(
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )

    def __init__(self, request=None, *args, **kwargs):
        self.request = request
        self.user = None
        super().__init__(*args, **kwargs)

    def clean(self):
        data = super().clean()
        if self.errors:
            raise forms.ValidationError(LOGIN_FAILED, code="invalid_login")
        scope, ip = self._throttle_scope(), throttle.client_ip(self.request)
        wait = throttle.wait_seconds(scope, data["email"], ip)
        if wait:
            # Checked before the password, and for unknown emails alike: the
            # message says nothing about whether the account exists.
            raise forms.ValidationError(throttle.wait_message(wait), code="throttled")
        self.user = authenticate(self.request, email=data["email"], password=data["password"])
        if self.user is None:
            throttle.record_failure(scope, data["email"], ip)
            # Same words for unknown email, wrong password and inactive user.
            raise forms.ValidationError(LOGIN_FAILED, code="invalid_login")
        throttle.record_success(scope, data["email"], ip)
        return data

    def _throttle_scope(self) -> str:
        tenant = getattr(self.request, "tenant", None)
        return str(tenant.pk) if tenant is not None else "platform"

    def get_user(self):
        return self.user


class InviteForm(forms.Form):
    email = forms.EmailField(
        max_length=EMAIL_MAX_LENGTH, widget=forms.EmailInput(attrs={"autocomplete": "off"})
    )
    role = forms.ChoiceField(choices=Role.choices, initial=Role.MEMBER)


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class AcceptInvitationForm(forms.Form):
    name = forms.CharField(max_length=150, required=False, label="Your name")
    password = forms.CharField(
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="At least 8 characters; not a common password.",
    )


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What uses it, e.g. “CI deploy”.")
    scopes = forms.MultipleChoiceField(
        choices=TokenScope.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=[TokenScope.READ],
        help_text="read ⊂ write ⊂ admin.",
    )
    expires_in_days = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_EXPIRY_DAYS,
        initial=90,
        label="Expires in (days)",
        help_text="Leave empty for a token that never expires.",
    )
