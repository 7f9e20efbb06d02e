"""Sessions per host kind: the operator console keeps its sessions apart from everyone else's."""

from django.conf import settings
from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware

from operators.sessions import SessionStore as OperatorSessionStore


class SessionMiddleware(DjangoSessionMiddleware):
    """Django's, with the operator host's sessions in OperatorSession (operator role only).

    Comes after tenants.middleware, which has set the operator host's urlconf.
    """

    def process_request(self, request):
        key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
        operator_host = getattr(request, "urlconf", None) == settings.OPERATOR_URLCONF
        store = OperatorSessionStore if operator_host else self.SessionStore
        request.session = store(key)
