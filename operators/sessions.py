"""Session store of the operator console: its own table, reachable by the operator role only."""

from django.contrib.sessions.backends.db import SessionStore as DBStore


class SessionStore(DBStore):
    @classmethod
    def get_model_class(cls):
        from operators.models import OperatorSession

        return OperatorSession
