"""Shared helpers: configuration per run size, interleaving, statistics."""

from __future__ import annotations

import os
import statistics
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Size:
    name: str
    tenants: int  # shared-mode tenants in the data set
    largest_projects: int  # projects of the rank-1 tenant (Zipf: rank r gets largest/r)
    largest_tasks: int
    rounds: int  # interleaved rounds per comparison
    inner: int  # repetitions per side per round (in-process figures)
    load_seconds: float  # wrk duration per side per round
    provision_n: int
    djt_schemas: int
    djt_provision_n: int


FULL = Size("10k", 10_000, 5_000, 50_000, 9, 40, 4.0, 20, 1_000, 20)
QUICK = Size("quick", 300, 400, 4_000, 3, 10, 1.0, 20, 20, 3)

PENDING = "pending"


def replace_dbname(url: str, dbname: str) -> str:
    base, _, _ = url.partition("?")[0].rpartition("/")
    query = url.partition("?")[2]
    return f"{base}/{dbname}" + (f"?{query}" if query else "")


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def percentile(values, p: float):
    values = sorted(values)
    if not values:
        return None
    k = (len(values) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def interleave(rounds: int, side_a, side_b):
    """Run A B, B A, A B … (the order alternates too); return [(a, b)] per round."""
    out = []
    for r in range(rounds):
        if r % 2 == 0:
            a = side_a()
            b = side_b()
        else:
            b = side_b()
            a = side_a()
        out.append((a, b))
    return out


def ratio_summary(pairs, unit_scale: float = 1.0) -> dict:
    """Median of per-round ratios a/b, plus the absolute medians as context."""
    ratios = [a / b for a, b in pairs if b]
    return {
        "ratio": median(ratios),
        "a_median": median([a * unit_scale for a, _ in pairs]),
        "b_median": median([b * unit_scale for _, b in pairs]),
        "rounds": len(pairs),
    }


def timed(fn, n: int) -> float:
    """Mean seconds per call over n calls."""
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n


def log(msg: str) -> None:
    if os.environ.get("BENCH_SILENT") != "1":
        print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)
