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
# Requests per side per turn in `turns`: ~50-100 ms of one side's requests on this host.
TURN_BLOCK = 10


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


class _KeepAlive:
    """One HTTP/1.1 keep-alive connection, a request at a time (what wrk -c1 is).

    Requests are prepared bytes; a response is read to its end (Content-Length or
    chunked) and only its status is kept, so the client's own cost per request stays
    small and is the same for every side it is used for.
    """

    def __init__(self, url: str):
        host, port = url.removeprefix("http://").rsplit(":", 1)
        self.addr = (host, int(port))
        self._connect()

    def _connect(self) -> None:
        self.sock = socket.create_connection(self.addr)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def close(self) -> None:
        self.sock.close()

    def _fill(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the connection")
        self.buf += chunk

    def _take_line(self) -> bytes:
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _take(self, n: int) -> None:
        while len(self.buf) < n:
            self._fill()
        self.buf = self.buf[n:]

    def roundtrip(self, request: bytes) -> int:
        """Send one request, read its whole response; its status code."""
        try:
            self.sock.sendall(request)
            return self._read_response()
        except (ConnectionError, OSError):
            # The server closed an idle keep-alive connection: once more on a new one.
            self.sock.close()
            self._connect()
            self.sock.sendall(request)
            return self._read_response()

    def _read_response(self) -> int:
        status = int(self._take_line().split(b" ", 2)[1])
        length, chunked, close = 0, False, False
        while line := self._take_line():
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
            elif name == b"connection" and b"close" in value.lower():
                close = True
        if chunked:
            while size := int(self._take_line().split(b";")[0], 16):
                self._take(size + 2)
            while self._take_line():  # trailers, then the blank line
                pass
        else:
            self._take(length)
        if close:
            self.sock.close()
            self._connect()
        return status


def _request_bytes(method: str, target: tuple[str, str, str]) -> bytes:
    host, path, auth = target
    body = json.dumps({"name": CREATED_NAME}).encode() if method == "POST" else b""
    headers = {
        "Host": host,
        "Content-Type": "application/json",
        "Accept": "application/json",
        **AUTH_HEADERS,
    }
    if auth:
        headers["Authorization"] = auth
    if body:
        headers["Content-Length"] = str(len(body))
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return f"{method} {path} HTTP/1.1\r\n{head}\r\n".encode() + body


def turns(
    sides: dict[str, tuple[str, list[tuple[str, str, str]]]],
    method: str,
    seconds: float,
    chunks: int,
    block: int = TURN_BLOCK,
    seed: int = 42,
) -> dict[str, list[dict]]:
    """The pinned comparison interleaved in short blocks instead of second-long runs.

    `sides`: {name: (server url, targets)}, the targets index-aligned (target i is the
    same tenant on every side). One keep-alive connection per side. In each turn every
    side sends a block of `block` requests for the same randomly chosen targets, one
    after the other, the order of the sides rotating turn by turn: a block is a short
    burst of what wrk -c1 sends (one request in flight, the server's caches warm after
    its first), and the sides' blocks run within tens of milliseconds of each other, so
    a host whose speed drifts over seconds slows them alike. Runs about `seconds` per
    side in all; the latencies are cut into `chunks` consecutive slices, each summarised
    like one wrk run ({p50, p95, p99, requests, rps}, µs), so the figures are medians of
    per-slice ratios as for wrk's rounds.
    """
    import random

    names = list(sides)
    rng = random.Random(seed)
    n = len(next(iter(sides.values()))[1])
    requests = {s: [_request_bytes(method, t) for t in sides[s][1]] for s in names}
    conns = {s: _KeepAlive(sides[s][0]) for s in names}
    latencies: dict[str, list[float]] = {s: [] for s in names}
    try:
        deadline = time.perf_counter() + seconds * len(names)
        turn = 0
        while time.perf_counter() < deadline:
            picks = [rng.randrange(n) for _ in range(block)]
            k = turn % len(names)
            for s in names[k:] + names[:k]:
                for i in picks:
                    start = time.perf_counter()
                    status = conns[s].roundtrip(requests[s][i])
                    took = time.perf_counter() - start
                    if status >= 400:
                        raise RuntimeError(f"{s}: HTTP {status} for {sides[s][1][i][:2]}")
                    latencies[s].append(took * 1e6)
            turn += 1
    finally:
        for c in conns.values():
            c.close()
    out: dict[str, list[dict]] = {s: [] for s in names}
    size = max(1, turn * block // chunks)
    for s in names:
        for c in range(chunks):
            part = latencies[s][c * size : (c + 1) * size if c < chunks - 1 else None]
            if not part:
                continue
            ordered = sorted(part)
            out[s].append(
                {
                    "p50": _pct(ordered, 50),
                    "p95": _pct(ordered, 95),
                    "p99": _pct(ordered, 99),
                    "requests": len(part),
                    "rps": len(part) / (sum(part) / 1e6),
                }
            )
    return out


def _pct(ordered: list[float], p: float) -> float:
    """Nearest-rank percentile of a sorted list (wrk's own definition)."""
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]
