"""Browser tests: Playwright drives the system Chromium against a real gunicorn server."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from django.conf import settings

from tests.live import ROOT, LiveServer

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make system-deps` (Debian package chromium)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running in this thread; Django then
    # refuses ORM calls from it. The test code is synchronous, so allow them, only
    # while the browser is up (module scope), and restore the guard afterwards.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as p:
            chromium = p.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


class Site:
    """The live server plus helpers to address its apex, tenant and console hosts."""

    def __init__(self, server: LiveServer, mail_dir: Path):
        self.server, self.mail_dir = server, mail_dir

    @property
    def port(self) -> int:
        return self.server.port

    def url(self, sub: str | None, path: str = "/") -> str:
        host = f"{sub}.localhost" if sub else "localhost"
        return f"http://{host}:{self.port}{path}"

    def mails(self) -> list[str]:
        return [p.read_text() for p in sorted(self.mail_dir.glob("*.log"), key=os.path.getmtime)]

    def link_in_last_mail(self, to: str, pattern: str) -> str:
        for body in reversed(self.mails()):
            if f"To: {to}" in body:
                return re.search(pattern, body).group(0)
        raise AssertionError(f"no mail to {to}")


@pytest.fixture(scope="module")
def site(django_db_setup, tmp_path_factory):
    assert settings.BASE_DOMAIN == "localhost", "Chromium resolves *.localhost to 127.0.0.1"
    base, _, _ = settings.DATABASE_URL.rpartition("/")
    mail_dir = tmp_path_factory.mktemp("mail")
    env = {
        "TEST_EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(mail_dir),
        "REDIS_URL": "",  # one worker: local caches, in-process invalidation
    }
    server = LiveServer(f"{base}/{django_db_setup}", extra_env=env)
    server.env["PUBLIC_PORT"] = str(server.port)  # links in mails carry the port we serve on
    with server:
        yield Site(server, mail_dir)


@pytest.fixture
def context(browser):
    ctx = browser.new_context(viewport={"width": 1280, "height": 860})
    ctx.set_default_timeout(15_000)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context):
    return context.new_page()


@pytest.fixture
def shot(request):
    """shot(page) saves artifacts/screenshots/<test>.png; shot(page, "step") adds a suffix."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    name = request.node.name.removeprefix("test_")

    def take(page, step: str | None = None) -> Path:
        path = SCREENSHOTS / (f"{name}-{step}.png" if step else f"{name}.png")
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def copy_to_docs(path: Path, name: str) -> None:
    """Keep the README's screenshots fresh when UPDATE_DOC_SCREENSHOTS=1."""
    if os.environ.get("UPDATE_DOC_SCREENSHOTS") == "1":
        target = ROOT / "docs" / "screenshots" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
