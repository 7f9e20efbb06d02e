"""The load harness of the API stages: gunicorn on loopback, and `wrk` against it.

`Server` starts the app as deployed (gthread workers, the bench settings) and waits
for /healthz; `wrk` runs one fixed-duration load against a list of targets (host,
path, Authorization), each request picking its target at random with a fixed seed,
and returns wrk's own percentiles (µs) and throughput.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORKERS = 2
THREADS = 4  # as gunicorn.conf.py, the deployment default
WRK_CONNECTIONS = 4
# Headers the tenant side needs (e.g. an API token once /api/v1/ is used).
AUTH_HEADERS: dict[str, str] = {}
CREATED_NAME = "bench-created"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(
        self,
        database_url: str,
        *,
        app: str = "saas.wsgi:application",
        settings_module: str = "benchmarks.settings",
        workers: int = WORKERS,
        threads: int = THREADS,
        env: dict | None = None,
    ):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = ROOT / "artifacts" / f"bench-server-{self.port}.log"
        self.app, self.workers, self.threads = app, workers, threads
        self.env = dict(
            os.environ,
            DATABASE_URL=database_url,
            DJANGO_SETTINGS_MODULE=settings_module,
            PYTHONUNBUFFERED="1",
            **(env or {}),
        )

    def __enter__(self):
        self.log.parent.mkdir(exist_ok=True)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", self.app, "-b",
             f"127.0.0.1:{self.port}", "-w", str(self.workers), "--worker-class", "gthread",
             "--threads", str(self.threads), "--timeout", "60"],
            cwd=ROOT, env=self.env, stdout=self.log.open("w"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-2000:]}")
            try:
                req = urllib.request.Request(self.url + "/healthz", headers={"Host": "localhost"})
                with urllib.request.urlopen(req, timeout=2) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        self.__exit__()
        raise RuntimeError("server did not start")

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


_LUA = """
local targets = %(targets)s
local method = "%(method)s"
local body = %(body)s
local extra = %(headers)s
math.randomseed(42)
request = function()
  local t = targets[math.random(#targets)]
  local headers = {["Host"] = t[1], ["Content-Type"] = "application/json", ["Accept"] = "application/json"}
  for k, v in pairs(extra) do headers[k] = v end
  if t[3] ~= "" then headers["Authorization"] = t[3] end
  return wrk.format(method, t[2], headers, body)
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"p50": %%d, "p95": %%d, "p99": %%d, "requests": %%d, "duration_us": %%d, "errors": %%d}\\n',
    latency:percentile(50), latency:percentile(95), latency:percentile(99),
    summary.requests, summary.duration, e.status + e.connect + e.read + e.write + e.timeout))
end
"""


def _lua_str(s: str) -> str:
    return json.dumps(s)  # a JSON string is a valid Lua string literal for our ASCII values


def wrk(
    url: str,
    targets: list[tuple[str, str]],
    method: str,
    seconds: float,
    connections: int = WRK_CONNECTIONS,
) -> dict:
    exe = shutil.which("wrk")
    if exe is None:
        raise RuntimeError("wrk is not installed (make system-deps)")
    body = _lua_str(json.dumps({"name": CREATED_NAME})) if method == "POST" else "nil"
    script = _LUA % {
        "targets": "{"
        + ", ".join(f"{{{_lua_str(h)}, {_lua_str(p)}, {_lua_str(a)}}}" for h, p, a in targets)
        + "}",
        "method": method,
        "body": body,
        "headers": "{"
        + ", ".join(f"[{_lua_str(k)}] = {_lua_str(v)}" for k, v in AUTH_HEADERS.items())
        + "}",
    }
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    try:
        out = subprocess.run(
            [exe, "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s", "-s", f.name, url],
            capture_output=True, text=True, timeout=seconds + 60, check=True,
        ).stdout  # fmt: skip
    finally:
        os.unlink(f.name)
    line = next(ln for ln in out.splitlines() if ln.startswith("BENCHJSON "))
    r = json.loads(line.removeprefix("BENCHJSON "))
    if r["errors"] or not r["requests"]:
        raise RuntimeError(
            f"wrk saw {r['errors']} errors in {r['requests']} requests: {out[-1500:]}"
        )
    r["rps"] = r["requests"] / (r["duration_us"] / 1e6)
    return r
