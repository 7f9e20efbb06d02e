"""Login form: email + password, one message for every failure."""

from django import forms
from django.contrib.auth import authenticate

LOGIN_FAILED = "That email and password do not match an account here."


class LoginForm(forms.Form):
    email = forms.EmailField(
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True})
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
        self.user = authenticate(self.request, email=data["email"], password=data["password"])
        if self.user is None:
            # Same words for unknown email, wrong password and inactive user.
            raise forms.ValidationError(LOGIN_FAILED, code="invalid_login")
        return data

    def get_user(self):
        return self.user
