"""Platform operators: staff who run the fleet. Control plane; never tenant users.

These tables are the operator role's only: the router sends their queries to the
`operator` alias, and the app role has no privilege on them (tenants.roles), so
nothing running as the app role (every tenant request) can read an operator's
password hash or session.
"""

from django.contrib.auth.hashers import check_password, make_password
from django.db import models

# The session model lives with its store (each names the other: one module, so the
# imports point one way); re-exported as a model of this app.
from operators.sessions import OperatorSession  # noqa: F401


class Operator(models.Model):
    operator_only = True
    email = models.EmailField(unique=True)
    password = models.CharField(max_length=255)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_login = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.email

    def set_password(self, raw: str) -> None:
        self.password = make_password(raw)  # argon2 (settings.PASSWORD_HASHERS[0])

    def check_password(self, raw: str) -> bool:
        def upgrade(raw_password):
            self.set_password(raw_password)
            self.save(update_fields=["password"])

        return check_password(raw, self.password, upgrade)
