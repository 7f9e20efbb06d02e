"""Progress and result tables for operator commands: a counter on a terminal, plain lines otherwise.

Progress goes to stderr, so stdout stays the command's result (a table, or JSON with --json).
"""

from __future__ import annotations

from collections.abc import Sequence


class Progress:
    """One line per step; on a TTY the line is rewritten in place instead."""

    def __init__(self, stream, *, label: str):
        self.stream = stream
        self.label = label
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self._open = False

    def step(self, counter: str, message: str) -> None:
        line = f"{self.label} [{counter}] {message}"
        if self.tty:
            # \r + clear-to-end: the counter stays on one line however long the last message was.
            self.stream.write(f"\r\x1b[K{line}")
            self.stream.flush()
            self._open = True
        else:
            self.stream.write(line + "\n")

    def count(self, done: int, total: int, message: str) -> None:
        width = len(str(total))
        self.step(f"{done:{width}d}/{total}", message)

    def percent(self, pct: int, message: str) -> None:
        self.step(f"{pct:3d}%", message)

    def close(self) -> None:
        if self._open:
            self.stream.write("\n")
            self.stream.flush()
            self._open = False


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    """Left-aligned columns, widths from the content; numbers right-aligned."""
    cells = [[("-" if v is None else str(v)) for v in row] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]
    numeric = [
        bool(rows) and all(isinstance(r[i], int) or r[i] is None for r in rows)
        for i in range(len(headers))
    ]

    def fmt(values):
        parts = [
            v.rjust(w) if num else v.ljust(w)
            for v, w, num in zip(values, widths, numeric, strict=True)
        ]
        return "  ".join(parts).rstrip()

    return [fmt(headers), *(fmt(r) for r in cells)]
