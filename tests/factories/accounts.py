import factory

from accounts.models import Role, User
from tests.factories.tenants import TenantOwnedFactory

PASSWORD = "correct-horse-battery"


class UserFactory(TenantOwnedFactory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    name = factory.Faker("name")
    role = Role.MEMBER
    password = factory.django.Password(PASSWORD)
