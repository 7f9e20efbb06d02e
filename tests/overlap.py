"""Two threads whose transactions overlap at a chosen point: race tests without timing luck."""

from __future__ import annotations

import threading
import time


def pause_in(
    monkeypatch, module, name: str, thread: str
) -> tuple[threading.Event, threading.Event]:
    """`module.name` waits, in the thread called `thread`, until released.

    Returns (reached, release): `reached` is set once that thread is inside the call,
    its transaction open; it goes on when `release` is set (at most 10 s).
    """
    reached, release = threading.Event(), threading.Event()
    real = getattr(module, name)

    def paused(*args, **kwargs):
        if threading.current_thread().name == thread:
            reached.set()
            release.wait(10)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, paused)
    return reached, release


def run_overlapping(first: threading.Thread, second: threading.Thread, reached, release) -> None:
    """Start `first` until it reaches its pause, let `second` run as far as it can, then both end."""
    first.start()
    assert reached.wait(10)
    second.start()
    time.sleep(0.5)  # the second runs as far as it can while the first is open
    release.set()
    first.join(10)
    second.join(10)
