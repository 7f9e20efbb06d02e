"""The API fixtures (a token-bearing client per tenant) for the audit API tests."""

from tests.api.conftest import api_for  # noqa: F401
