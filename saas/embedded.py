"""An embedded PostgreSQL in .data/ for `make run` / `make test` when DATABASE_URL is unset.

Prefers the machine's PostgreSQL binaries (initdb/pg_ctl); falls back to the
`pgserver` wheel, which ships its own. PostgreSQL refuses to run as root, so as
root the server runs as the `postgres` system user.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("EMBEDDED_PG_DIR", ROOT / ".data" / "postgres"))
URL_FILE = DATA / "url"
DBNAME = "saas"


def url() -> str | None:
    """The URL of the embedded server if it has been started (does not start it)."""
    try:
        return URL_FILE.read_text().strip() or None
    except FileNotFoundError:
        return None


def is_running() -> bool:
    """Whether the embedded server was started and still accepts connections.

    A server answering on the URL's port proves nothing by itself: once this checkout's
    cluster has stopped (a reboot, a crash: the URL file stays), another checkout's
    cluster, or any server, may have that port. With a cluster of its own (`pgdata`), the
    port must be the one its live postmaster wrote into `postmaster.pid`.
    """
    found = url()
    if not found:
        return False
    try:
        port = int(found.rsplit(":", 1)[1].split("/", 1)[0])
    except (IndexError, ValueError):
        return False
    if (DATA / "pgdata").exists() and _own_port() != port:
        return False
    return _port_open(port)


def _own_port() -> int | None:
    """The port this checkout's cluster listens on, from its postmaster.pid; None if it is down."""
    try:
        lines = (DATA / "pgdata" / "postmaster.pid").read_text().splitlines()
        pid, port = int(lines[0]), int(lines[3])
    except (OSError, ValueError, IndexError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None  # a stale file: the postmaster died without removing it
    except PermissionError:
        pass  # alive, and another user's (the postgres user's)
    return port


def _bindir() -> Path | None:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True)
    for c in candidates:
        if (Path(c) / "initdb").exists():
            return Path(c)
    found = shutil.which("initdb")
    return Path(found).resolve().parent if found else None


def _version_key(path: str) -> int:
    try:
        return int(Path(path).parent.name)
    except ValueError:
        return 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _as_pg_user() -> list[str]:
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        sys.exit("embedded PostgreSQL: running as root needs a 'postgres' system user")
    return ["runuser", "-u", "postgres", "--"]


def _run(cmd: list[str]) -> None:
    subprocess.run(_as_pg_user() + cmd, check=True, stdout=subprocess.DEVNULL)


def _start_system(bindir: Path) -> str:
    pgdata = DATA / "pgdata"
    DATA.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        os.chown(DATA, pw.pw_uid, pw.pw_gid)
    if not (pgdata / "PG_VERSION").exists():
        _run(
            [
                str(bindir / "initdb"),
                "-D",
                str(pgdata),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C",
            ]
        )
    port_file = DATA / "port"
    port = int(port_file.read_text()) if port_file.exists() else _free_port()
    status = subprocess.run(
        [*_as_pg_user(), str(bindir / "pg_ctl"), "-D", str(pgdata), "status"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    if status.returncode != 0:
        if _port_open(port):
            port = _free_port()
        _run(
            [
                str(bindir / "pg_ctl"),
                "-D",
                str(pgdata),
                "-w",
                "-l",
                str(DATA / "server.log"),
                "-o",
                f"-p {port} -k {DATA} -c listen_addresses=127.0.0.1 -c max_connections=300",
                "start",
            ]
        )
        port_file.write_text(str(port))
    return f"postgresql://postgres@127.0.0.1:{port}/{DBNAME}"


def _start_pgserver() -> str:
    import pgserver

    srv = pgserver.get_server(DATA / "pgserver", cleanup_mode=None)
    base = srv.get_uri()
    return base.rsplit("/", 1)[0] + f"/{DBNAME}"


def ensure_running() -> str:
    bindir = _bindir()
    result = _start_system(bindir) if bindir else _start_pgserver()
    URL_FILE.write_text(result)
    return result


def stop() -> None:
    bindir = _bindir()
    pgdata = DATA / "pgdata"
    if bindir and pgdata.exists():
        subprocess.run(
            [*_as_pg_user(), str(bindir / "pg_ctl"), "-D", str(pgdata), "-m", "fast", "stop"],
            check=False,
        )
    URL_FILE.unlink(missing_ok=True)


class ClusterUnavailable(RuntimeError):
    """No PostgreSQL server binaries (initdb, pg_ctl) on this machine."""


@contextmanager
def extra_cluster(prefix: str = "extra-pg-") -> Iterator[str]:
    """Yield the admin URL of a fresh, throwaway cluster on a free loopback port.

    For tests and benchmarks that need more than one server: initdb in a
    temporary directory (trust auth, C locale), started with pg_ctl, stopped
    (immediate) and removed on exit.
    """
    bindir = _bindir()
    if bindir is None:
        raise ClusterUnavailable("PostgreSQL server binaries (initdb, pg_ctl) are needed")
    workdir = tempfile.mkdtemp(prefix=prefix)
    os.chmod(workdir, 0o755)  # noqa: S103 - the postgres user (run as root) enters it
    if os.geteuid() == 0:
        shutil.chown(workdir, "postgres", "postgres")
    run = _as_pg_user()
    try:
        subprocess.run(
            [*run, str(bindir / "initdb"), "-D", f"{workdir}/data", "-U", "postgres",
             "--auth=trust", "-E", "UTF8", "--locale=C"],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        port = _free_port()
        subprocess.run(
            [*run, str(bindir / "pg_ctl"), "-D", f"{workdir}/data", "-w", "-l", f"{workdir}/log",
             "-o", f"-p {port} -k {workdir} -c listen_addresses=127.0.0.1", "start"],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        if Path(workdir, "data", "postmaster.pid").exists():
            subprocess.run(
                [*run, str(bindir / "pg_ctl"), "-D", f"{workdir}/data", "-m", "immediate", "stop"],
                check=False,
                stdout=subprocess.DEVNULL,
            )
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else "start"
    if cmd == "start":
        print(ensure_running())
    elif cmd == "stop":
        stop()
    elif cmd == "url":
        print(url() or "")
    else:
        sys.exit(f"usage: python -m saas.embedded [start|stop|url]; got {cmd!r}")
