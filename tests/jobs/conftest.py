"""A real Celery worker process against the test database and the machine's Redis."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid

import pytest

from saas.celery import app
from tests.live import ROOT

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _reset_connections() -> None:
    app._after_fork()  # drops the connection and producer pools
    app._backend_cache = None
    app._local = threading.local()


@pytest.fixture
def broker_at():
    """Point this process's Celery app at a broker URL (real publishing, not eager)."""
    saved = {k: app.conf[k] for k in ("broker_url", "result_backend", "task_always_eager")}

    def point(url: str):
        app.conf.update(broker_url=url, result_backend=url, task_always_eager=False)
        _reset_connections()
        return app

    yield point
    app.conf.update(saved)
    _reset_connections()


@pytest.fixture
def redis_broker(broker_at):
    app = broker_at(REDIS_URL)
    app.control.purge()  # our namespaced queue only: leftovers of an earlier run
    return app


class Worker:
    def __init__(self, database_url: str, extra_env: dict | None = None):
        self.name = f"jobs-{uuid.uuid4().hex[:8]}@localhost"
        self.log = ROOT / "artifacts" / f"worker-{self.name.split('@')[0]}.log"
        env = dict(os.environ)
        env.update(
            DATABASE_URL=database_url,
            REDIS_URL=REDIS_URL,
            DJANGO_SETTINGS_MODULE=os.environ.get("DJANGO_SETTINGS_MODULE", "saas.settings.test"),
            PYTHONUNBUFFERED="1",
        )
        env.update(extra_env or {})
        self.env = env
        self.proc = None

    def __enter__(self):
        self.log.parent.mkdir(exist_ok=True)
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "saas",
                "worker",
                "-n",
                self.name,
                "-c",
                "1",
                "-P",
                "prefork",
                "-l",
                "INFO",
                "-Q",
                app.conf.task_default_queue,
                "-I",
                "tests.jobs.probe_tasks",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker exited: {self.log.read_text()[-3000:]}")
            if "ready." in self.log.read_text():
                return self
            time.sleep(0.2)
        self.__exit__()
        raise RuntimeError(f"worker did not start: {self.log.read_text()[-3000:]}")

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


@pytest.fixture
def worker(committed_db, test_database_url, redis_broker):
    with Worker(test_database_url) as w:
        yield w
