"""Session store of the operator console: its own table, reachable by the operator role only.

The session model is defined here, beside the store it names, and re-exported by
operators.models.
"""

from django.contrib.sessions.backends.db import SessionStore as DBStore
from django.contrib.sessions.base_session import AbstractBaseSession


class SessionStore(DBStore):
    @classmethod
    def get_model_class(cls):
        return OperatorSession


class OperatorSession(AbstractBaseSession):
    """Sessions on the operator console host (operators.middleware picks this store)."""

    operator_only = True

    @classmethod
    def get_session_store_class(cls):
        return SessionStore
