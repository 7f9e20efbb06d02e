"""The Markdown table, latest.json and the PNG chart of one run."""

from __future__ import annotations

import json
from pathlib import Path

# key -> (label, target text, passes(value) or None)
TARGETS = {
    "rls_overhead_ratio": (
        "RLS vs explicit filter (worst query, ratio)",
        "≤ 1.03",
        lambda v: v <= 1.03,
    ),
    "context_overhead_us": ("Tenant resolution + context per request (µs)", "—", None),
    "context_round_trips": (
        "Extra round trips per request for the context",
        "0 (or 1 pipelined)",
        lambda v: v <= 0,
    ),
    "rls_with_filter_overhead_ratio": (
        "RLS + explicit filter vs explicit filter (worst query, ratio)",
        "≤ 1.03",
        lambda v: v <= 1.03,
    ),
    "api_tenancy_p50_ratio": (
        "/api/v1/ p50, tenancy on vs off (same product code; pinned)",
        "≤ 1.05",
        lambda v: v <= 1.05,
    ),
    "api_tenancy_p95_ratio": (
        "/api/v1/ p95, tenancy on vs off (pinned)",
        "≤ 1.10",
        lambda v: v <= 1.10,
    ),
    "api_vs_stock_p50_ratio": (
        "/api/v1/ p50 vs the same endpoints written the stock Django way (pinned)",
        "≤ 1.00",
        lambda v: v <= 1.00,
    ),
    "api_tenancy_same_placement_p50_ratio": (
        "/api/v1/ p50, database mode, tenancy on vs off in the same placement (pinned)",
        "— (beside the headline)",
        None,
    ),
    "api_tenancy_same_placement_p95_ratio": (
        "/api/v1/ p95, database mode, tenancy on vs off in the same placement (pinned)",
        "—",
        None,
    ),
    "api_placement_p50_ratio": (
        "/api/v1/ p50, tenancy off: own databases vs every tenant pooled (pinned)",
        "—",
        None,
    ),
    "create_limits_ratio": (
        "Create with plan limits vs without (p50, shared, pinned)",
        "≤ 1.10",
        lambda v: v <= 1.10,
    ),
    "api_p50_ratio": ("API p50, tenancy on vs off, worse endpoint (ratio)", "—", None),
    "api_p95_ratio": ("API p95, tenancy on vs off, worse endpoint (ratio)", "—", None),
    "provision_ms": (
        "Provisioning (ms, median; schema/database claim a spare, cold path in the detail)",
        "≤ 10 shared, ≤ 30 schema, ≤ 45 database",
        None,
    ),
    "provision_ms_django_tenants": (
        "django-tenants create schema + migrate (ms, median)",
        "—",
        None,
    ),
    "migrate_noop_s": ("migrate_tenants, nothing to apply (s)", "≤ 2", lambda v: v <= 2),
    "migrate_one_s": ("migrate_tenants, one migration (s)", "≤ 10", lambda v: v <= 10),
    "migrate_noop_s_django_tenants": (
        "django-tenants migrate_schemas, nothing to apply (s)",
        "—",
        None,
    ),
    "migrate_one_s_django_tenants": (
        "django-tenants migrate_schemas, one migration (s)",
        "—",
        None,
    ),
    "noisy_neighbour_p95_ratio": (
        "Small tenants' p95 with a noisy neighbour (ratio)",
        "≤ 1.5",
        lambda v: v <= 1.5,
    ),
    "sla_recording_us": (
        "Per-tenant SLA recording on the request path (µs)",
        "≤ 20",
        lambda v: v <= 20,
    ),
    "online_move_write_pause_ms": (
        "Online move: longest write pause seen by a writer (ms; small, large = 500,000 rows)",
        "≤ 1000",
        lambda v: v <= 1000,
    ),
    "multi_server_api_p50_ratio": (
        "API p50, 10,000 shared tenants on 3 servers vs 1 server (ratio)",
        "— (none set)",
        None,
    ),
    "migrate_tenants_3_servers_s": (
        "migrate_tenants over 3 servers' pools and schemas (s; noop, one migration)",
        "— (none set)",
        None,
    ),
}
PROVISION_TARGET = {"shared": 10, "schema": 30, "database": 45}

# The stage that measures each key (for "skipped" and carrying earlier figures over).
STAGE_OF = {
    "rls_overhead_ratio": "rls",
    "rls_with_filter_overhead_ratio": "rls",
    "context_overhead_us": "context",
    "context_round_trips": "context",
    "api_tenancy_p50_ratio": "api",
    "api_tenancy_p95_ratio": "api",
    "api_vs_stock_p50_ratio": "api",
    "create_limits_ratio": "api",
    "api_tenancy_same_placement_p50_ratio": "api",
    "api_tenancy_same_placement_p95_ratio": "api",
    "api_placement_p50_ratio": "api",
    "api_p50_ratio": "api",
    "api_p95_ratio": "api",
    "noisy_neighbour_p95_ratio": "noisy",
    "provision_ms": "provision",
    "provision_ms_django_tenants": "djt",
    "migrate_noop_s_django_tenants": "djt",
    "migrate_one_s_django_tenants": "djt",
    "migrate_noop_s": "migrate",
    "migrate_one_s": "migrate",
    "sla_recording_us": "sla",
    "online_move_write_pause_ms": "move",
    "multi_server_api_p50_ratio": "fleet",
    "migrate_tenants_3_servers_s": "fleet",
}


# Detail keys that travel with their stage's figures.
DETAIL_STAGE = {
    "rls_overhead_by_query": "rls",
    "rls_overhead_worst_query": "rls",
    "context_request_ratio": "context",
    "context_tenant_request_us": "context",
    "context_plain_request_us": "context",
    "context_round_trips_detail": "context",
    "api_breakdown_us": "context",
    "api_detail": "api",
    "api_setup": "api",
    "create_limits_detail": "api",
    "noisy_neighbour_detail": "noisy",
    "provision_ms_detail": "provision",
    "django_tenants_detail": "djt",
    "migrate_detail": "migrate",
    "online_move_detail": "move",
    "fleet_detail": "fleet",
}


def carry_over(results: dict, previous_path: Path, skipped: list[str]) -> dict:
    """Figures of skipped stages taken from the previous latest.json: {key: its run's date}.

    A run with --only keeps the other stages' last figures (marked as such in the
    table) instead of dropping them; a key no earlier run measured reads "skipped".
    """
    try:
        previous = json.loads(previous_path.read_text())
    except (OSError, ValueError):
        return {}
    when = (previous.get("meta") or {}).get("finished_at", "an earlier run")
    earlier = previous.get("carried_from_earlier_run") or {}
    carried = {}
    for key, stage in (STAGE_OF | DETAIL_STAGE).items():
        if stage in skipped and results.get(key) is None and previous.get(key) is not None:
            results[key] = previous[key]
            carried[key] = earlier.get(key, when)
    return carried


def _fmt(v) -> str:
    if v is None:
        return "pending"
    if isinstance(v, float):
        return f"{v:.3f}" if abs(v) < 10 else f"{v:.1f}"
    return str(v)


def _cell(key, value) -> tuple[str, str]:
    if isinstance(value, dict):
        parts, verdicts = [], []
        for mode, v in value.items():
            if isinstance(v, dict) and "max" in v:  # {"p50", "max"}: the target holds for the max
                parts.append(f"{mode}: " + " / ".join(f"{k} {_fmt(x)}" for k, x in v.items()))
                v = v.get("max")
            elif isinstance(v, dict):  # {mode: {endpoint: ratio}}
                inner = [f"{e} {_fmt(x)}" for e, x in v.items()]
                parts.append(f"{mode}: " + ", ".join(inner))
                check = TARGETS[key][2]
                if check:
                    bad = [e for e, x in v.items() if x is not None and not check(x)]
                    verdicts.append(f"missed ({mode} {'/'.join(bad)})" if bad else "met")
                continue
            else:
                parts.append(f"{mode}: {_fmt(v)}")
            if v is None:
                continue
            if key == "provision_ms" and mode in PROVISION_TARGET:
                verdicts.append("met" if v <= PROVISION_TARGET[mode] else f"missed ({mode})")
            elif TARGETS[key][2]:
                verdicts.append("met" if TARGETS[key][2](v) else f"missed ({mode})")
        return ", ".join(parts), ("; ".join(verdicts) if verdicts else "")
    if value is None:
        return "pending", ""
    check = TARGETS[key][2]
    return _fmt(value), ("" if check is None else ("met" if check(value) else "missed"))


def table(results: dict) -> str:
    lines = ["| figure | key | value | target | verdict |", "|---|---|---|---|---|"]
    skipped = set(results.get("skipped_stages") or ())
    carried = results.get("carried_from_earlier_run") or {}
    for key, (label, target, _) in TARGETS.items():
        if results.get(key) is None and STAGE_OF.get(key) in skipped:
            value, verdict = "skipped", ""
        else:
            value, verdict = _cell(key, results.get(key))
            if key in carried:
                value += f" (earlier run, {carried[key]})"
        lines.append(f"| {label} | `{key}` | {value} | {target} | {verdict} |")
    return "\n".join(lines)


def write(results: dict, results_dir: Path) -> None:
    results_dir.mkdir(parents=True, exist_ok=True)
    (results_dir / "latest.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    (results_dir / "latest.md").write_text(table(results) + "\n")
    chart(results, results_dir / "latest.png")


def chart(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ratios = []
    for key, label, target in (
        ("rls_overhead_ratio", "RLS / filter\n(worst query)", 1.03),
        ("api_p50_ratio", "API p50\n/ plain", None),
        ("api_p95_ratio", "API p95\n/ plain", 1.15),
        ("noisy_neighbour_p95_ratio", "noisy p95\n/ quiet", 1.5),
    ):
        v = results.get(key)
        if isinstance(v, dict):
            for mode, mv in v.items():
                if mv is not None:
                    ratios.append((f"{label}\n({mode})", mv, target))
        elif v is not None:
            ratios.append((label, v, target))
    for q, detail in (results.get("rls_overhead_by_query") or {}).items():
        ratios.append((f"RLS {q}", detail["ratio"], 1.03))

    times = []
    for mode, v in (results.get("provision_ms") or {}).items():
        if v is not None:
            times.append((f"provision\n{mode}", v))
    if results.get("provision_ms_django_tenants") is not None:
        times.append(("provision\ndjango-tenants", results["provision_ms_django_tenants"]))

    migrate = [
        (label, results.get(key))
        for key, label in (
            ("migrate_noop_s", "ours\nno-op"),
            ("migrate_one_s", "ours\none"),
            ("migrate_noop_s_django_tenants", "django-tenants\nno-op"),
            ("migrate_one_s_django_tenants", "django-tenants\none"),
        )
        if results.get(key) is not None
    ]

    fig, axes = plt.subplots(1, 3, figsize=(17, 5.5), gridspec_kw={"width_ratios": [3, 1.2, 1.2]})
    ax = axes[0]
    if ratios:
        xs = range(len(ratios))
        colors = ["tab:green" if t is None or v <= t else "tab:red" for _, v, t in ratios]
        ax.bar(xs, [v for _, v, _ in ratios], color=colors)
        for x, (_, v, t) in zip(xs, ratios, strict=True):
            ax.annotate(f"{v:.2f}", (x, v), ha="center", va="bottom", fontsize=8)
            if t is not None:
                ax.plot([x - 0.4, x + 0.4], [t, t], color="black", linestyle="--", linewidth=1)
        ax.set_xticks(list(xs), [lbl for lbl, _, _ in ratios], fontsize=7)
        ax.axhline(1.0, color="grey", linewidth=0.8)
    ax.set_title("Ratios (tenancy / baseline; dashed = target; red = missed)")
    ax = axes[1]
    if times:
        ax.bar(range(len(times)), [v for _, v in times], color="tab:blue")
        ax.set_xticks(range(len(times)), [lbl for lbl, _ in times], fontsize=7)
        ax.set_yscale("log")
    ax.set_title("Provisioning, median ms (log)")
    ax = axes[2]
    if migrate:
        ax.bar(range(len(migrate)), [v for _, v in migrate], color="tab:purple")
        ax.set_xticks(range(len(migrate)), [lbl for lbl, _ in migrate], fontsize=7)
    ax.set_title(f"Migrations across {results.get('meta', {}).get('schemas', '?')} schemas (s)")
    meta = results.get("meta", {})
    fig.suptitle(
        f"Tenantry benchmarks — {meta.get('size', '?')} run, {meta.get('finished_at', '')}, "
        f"{meta.get('machine', {}).get('nproc', '?')} CPUs, PostgreSQL {meta.get('machine', {}).get('postgres', '?')}"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
