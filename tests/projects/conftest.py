"""The API fixtures (a token-bearing client per tenant) for the projects app's API tests."""

from tests.api.conftest import admin_a, api, api_for  # noqa: F401 - fixtures, found by name
