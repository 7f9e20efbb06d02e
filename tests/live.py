"""Real server processes for end-to-end tests (gunicorn or uvicorn on a free loopback port)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(
    method: str,
    url: str,
    host: str,
    body: bytes | None = None,
    headers: dict | None = None,
    timeout: float = 10,
):
    """(status, headers, body) without raising on 4xx/5xx."""
    request = urllib.request.Request(url, data=body, method=method)
    request.add_header("Host", host)
    for k, v in (headers or {}).items():
        request.add_header(k, v)
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


SERVERS = ("sync", "gthread", "asgi")


class LiveServer:
    """One server process: gunicorn sync workers, gunicorn gthread, or uvicorn (ASGI)."""

    def __init__(
        self,
        database_url: str,
        extra_env: dict | None = None,
        workers: int = 1,
        server: str = "sync",
        threads: int = 8,
    ):
        assert server in SERVERS, server
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ)
        env.update(
            DATABASE_URL=database_url,
            DJANGO_SETTINGS_MODULE=env.get("DJANGO_SETTINGS_MODULE", "saas.settings.test"),
            PYTHONUNBUFFERED="1",
            # libpq names every connection the server opens: pg_stat_activity
            # can tell this process's connections from the test's own.
            PGAPPNAME=f"live-{self.port}",
            TENANT_GUARD_AT_START="1",  # the start-up RLS check, as in production
        )
        env.update(extra_env or {})
        self.env = env
        self.workers = workers
        self.server = server
        self.threads = threads
        self.application_name = env["PGAPPNAME"]
        self.proc = None
        self.log = ROOT / "artifacts" / f"server-{self.port}.log"

    def command(self) -> list[str]:
        if self.server == "asgi":
            return [
                sys.executable,
                "-m",
                "uvicorn",
                "saas.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                str(self.workers),
                "--lifespan",
                "off",
                "--no-access-log",
            ]
        cmd = [
            sys.executable,
            "-m",
            "gunicorn",
            "saas.wsgi:application",
            "-b",
            f"127.0.0.1:{self.port}",
            "-w",
            str(self.workers),
            "--timeout",
            "60",
        ]
        if self.server == "gthread":
            cmd += ["--worker-class", "gthread", "--threads", str(self.threads)]
        else:
            # gunicorn turns "sync" with threads > 1 (gunicorn.conf.py) into gthread.
            cmd += ["--worker-class", "sync", "--threads", "1"]
        return cmd

    def __enter__(self):
        self.log.parent.mkdir(exist_ok=True)
        self.proc = subprocess.Popen(
            self.command(),
            cwd=ROOT,
            env=self.env,
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-3000:]}")
            try:
                status, _, _ = http("GET", self.url + "/healthz", "localhost", timeout=2)
                if status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        self.__exit__()
        raise RuntimeError(f"server did not start: {self.log.read_text()[-3000:]}")

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def login(server: LiveServer, host: str, email: str, password: str) -> tuple[int, dict]:
    """Sign in on a tenant host through the login form; (status, cookies after it)."""
    import re
    import urllib.parse

    _, headers, _ = http("GET", f"{server.url}/accounts/login/", host)
    csrf = re.search(r"csrftoken=([^;]+)", headers.get("Set-Cookie", "")).group(1)
    body = urllib.parse.urlencode(
        {"email": email, "password": password, "csrfmiddlewaretoken": csrf}
    ).encode()
    request = urllib.request.Request(f"{server.url}/accounts/login/", data=body, method="POST")
    request.add_header("Host", host)
    request.add_header("Cookie", f"csrftoken={csrf}")
    request.add_header("Content-Type", "application/x-www-form-urlencoded")
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=10) as response:
            status, set_cookies = response.status, response.headers.get_all("Set-Cookie") or []
    except urllib.error.HTTPError as exc:
        status, set_cookies = exc.code, exc.headers.get_all("Set-Cookie") or []
    cookies = {"csrftoken": csrf}
    for line in set_cookies:
        name, _, rest = line.partition("=")
        cookies[name.strip()] = rest.split(";", 1)[0]
    return status, cookies
