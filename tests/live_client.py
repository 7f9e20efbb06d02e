"""Clients for a `tests.live.LiveServer`: a cookie-and-CSRF browser and a bearer-token API caller."""

from __future__ import annotations

import http.client
import json
import re
import urllib.parse
from http.cookies import SimpleCookie

from django.conf import settings

from tests.factories.accounts import PASSWORD

CSRF_FIELD = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')


def tenant_host(tenant) -> str:
    return f"{tenant.subdomain}.{settings.BASE_DOMAIN}"


def console_host() -> str:
    return f"{settings.OPERATOR_SUBDOMAIN}.{settings.BASE_DOMAIN}"


class Browser:
    """Cookies and CSRF against a live server with the stdlib only (every Set-Cookie kept)."""

    def __init__(self, server, host: str, remote_headers: dict | None = None):
        self.server, self.host, self.cookies = server, host, {}
        self.extra = remote_headers or {}
        self.location = ""  # the last answer's Location header

    def request(self, method: str, path: str, form: dict | None = None):
        headers = {"Host": self.host, **self.extra}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if method == "POST":
            headers["X-CSRFToken"] = self.cookies.get("csrftoken", "")
            headers["Referer"] = f"http://{self.host}/"
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            body = urllib.parse.urlencode(form or {}, doseq=True).encode()
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=20)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            status, location, content = (
                response.status,
                response.getheader("Location", ""),
                response.read(),
            )
            for value in response.headers.get_all("Set-Cookie") or []:
                for morsel in SimpleCookie(value).values():
                    self.cookies[morsel.key] = morsel.value
        finally:
            conn.close()
        self.location = location
        return status, content

    def post_form(self, path: str, form: dict, page: str | None = None):
        """GET the page holding the form (for its CSRF token), then POST it."""
        _status, content = self.request("GET", page or path)
        match = CSRF_FIELD.search(content)
        token = match.group(1).decode() if match else self.cookies.get("csrftoken", "")
        return self.request("POST", path, {**form, "csrfmiddlewaretoken": token})

    def login(self, email: str, password: str = PASSWORD, path: str = "/accounts/login/"):
        return self.post_form(path, {"email": email, "password": password})


def api(server, host: str, token: str, method: str, path: str, body: dict | None = None):
    """(status, decoded JSON or None) for one API call with a bearer token."""
    headers = {"Host": host, "Authorization": f"Bearer {token}", "Accept": "application/json"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=20)
    try:
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        status, content = response.status, response.read()
    finally:
        conn.close()
    try:
        return status, json.loads(content) if content else None
    except ValueError:
        return status, None
