"""Reading a live server's JSON log lines; a tiny cookie-keeping client."""

from __future__ import annotations

import contextlib
import http.client
import json
import re
import time
import urllib.parse
from http.cookies import SimpleCookie
from pathlib import Path


def json_lines(path: Path) -> list[dict]:
    out = []
    for line in path.read_text(errors="replace").splitlines():
        line = line.strip()
        if line.startswith("{"):
            with contextlib.suppress(ValueError):
                out.append(json.loads(line))
    return out


def wait_for_line(path: Path, predicate, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for entry in json_lines(path):
            if predicate(entry):
                return entry
        time.sleep(0.2)
    raise AssertionError(f"no matching log line in {path}:\n{path.read_text()[-3000:]}")


class Client:
    """Cookies and CSRF against a live server with the stdlib."""

    def __init__(self, port: int, host: str):
        self.port, self.host, self.cookies = port, host, {}

    def request(self, method, path, form=None, headers=None):
        headers = {
            "Host": self.host,
            "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()),
            **(headers or {}),
        }
        body = None
        if method == "POST":
            headers["X-CSRFToken"] = self.cookies.get("csrftoken", "")
            headers["Referer"] = f"http://{self.host}/"
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            body = urllib.parse.urlencode(form or {}).encode()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        status, response_headers, content = response.status, response.headers, response.read()
        for value in response_headers.get_all("Set-Cookie") or []:
            for morsel in SimpleCookie(value).values():
                self.cookies[morsel.key] = morsel.value
        conn.close()
        return status, response_headers, content

    def csrf_form_token(self, path) -> str:
        status, _, page = self.request("GET", path)
        assert status == 200, status
        return re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1).decode()
