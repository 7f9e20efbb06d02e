"""Runs the django-tenants comparison (benchmarks/djt) in its own process and settings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from benchmarks.common import log

ROOT = Path(__file__).resolve().parent.parent


def run(size, admin_url: str) -> dict:
    env = dict(
        os.environ,
        DATABASE_URL=admin_url,
        DJANGO_SETTINGS_MODULE="benchmarks.djt.settings",
        # With BENCH_DB_NAME (a data set of one's own) the django-tenants database follows it.
        BENCH_DJT_DB=(
            f"{os.environ['BENCH_DB_NAME']}_djt"
            if os.environ.get("BENCH_DB_NAME")
            else f"bench_djt_{size.name}"
        ),
    )
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.djt.run", "--schemas", str(size.djt_schemas),
         "--provision", str(size.djt_provision_n)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=3600,
    )  # fmt: skip
    sys.stderr.write(proc.stderr[-4000:])
    if proc.returncode:
        raise RuntimeError(f"django-tenants run failed ({proc.returncode}): {proc.stderr[-2000:]}")
    line = next(ln for ln in proc.stdout.splitlines()[::-1] if ln.startswith("DJTJSON "))
    out = json.loads(line.removeprefix("DJTJSON "))
    log(f"django-tenants: {out}")
    return out
