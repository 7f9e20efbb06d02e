"""Inline SVG charts (no JavaScript, nothing external: the CSP allows them as they are)."""

from __future__ import annotations

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT, PAD = 640, 200, 36


def latency_chart(series: list[dict], *, objective_ms: int | None, title: str) -> SafeString:
    """p95 per period as a line, the objective as a dashed line; numbers only, labels escaped."""
    points = [(row["start"], row["p95"]) for row in series if row["p95"] is not None]
    top = max([p for _, p in points] + [objective_ms or 0, 1]) * 1.15
    inner_w, inner_h = WIDTH - 2 * PAD, HEIGHT - 2 * PAD

    def y(value: float) -> float:
        return round(PAD + inner_h - inner_h * value / top, 1)

    def x(i: int) -> float:
        return round(PAD + (inner_w * i / max(len(points) - 1, 1)), 1)

    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" '
        f'xmlns="http://www.w3.org/2000/svg" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<line x1="{PAD}" y1="{PAD + inner_h}" x2="{WIDTH - PAD}" y2="{PAD + inner_h}" '
        'stroke="#999"/>',
        f'<text x="4" y="{PAD}" font-size="11">{int(top)} ms</text>',
        f'<text x="4" y="{PAD + inner_h}" font-size="11">0</text>',
    ]
    if objective_ms:
        parts.append(
            f'<line class="objective" x1="{PAD}" y1="{y(objective_ms)}" x2="{WIDTH - PAD}" '
            f'y2="{y(objective_ms)}" stroke="#c0392b" stroke-dasharray="6 4"/>'
            f'<text x="{WIDTH - PAD - 120}" y="{y(objective_ms) - 4}" font-size="11" '
            f'fill="#c0392b">objective {int(objective_ms)} ms</text>'
        )
    if points:
        coords = " ".join(f"{x(i)},{y(p)}" for i, (_, p) in enumerate(points))
        parts.append(
            f'<polyline class="p95" fill="none" stroke="#2c6fbb" stroke-width="2" '
            f'points="{coords}"/>'
        )
        for i, (start, p) in enumerate(points):
            label = escape(f"{start:%Y-%m-%d %H:%M} p95 {p:.0f} ms")
            parts.append(
                f'<circle cx="{x(i)}" cy="{y(p)}" r="2.5" fill="#2c6fbb"><title>{label}</title>'
                "</circle>"
            )
        parts.append(
            f'<text x="{PAD}" y="{HEIGHT - 8}" font-size="11">{escape(f"{points[0][0]:%d %b %H:%M}")}'
            f'</text><text x="{WIDTH - PAD - 80}" y="{HEIGHT - 8}" font-size="11">'
            f"{escape(f'{points[-1][0]:%d %b %H:%M}')}</text>"
        )
    else:
        parts.append(
            f'<text x="{WIDTH / 2 - 60}" y="{HEIGHT / 2}" font-size="13">No traffic measured</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 -- every interpolated text is escaped above
