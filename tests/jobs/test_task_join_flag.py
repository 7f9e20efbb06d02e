"""Celery's "inside a task" flag is process-wide: overlapping eager applies can leave it set."""

from __future__ import annotations

import threading

from celery.result import denied_join_result, task_join_will_block

from tests.conftest import allow_task_joins


def test_overlapping_eager_applies_leave_the_flag_set_until_the_next_test_clears_it():
    assert not task_join_will_block(), "each test starts as a client (tests/conftest.py)"
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()

    def first():  # an eager apply that ends while the second is still running
        with denied_join_result():
            first_in.set()
            second_in.wait(5)
        first_out.set()

    def second():  # starts inside the first: it will restore "inside a task"
        first_in.wait(5)
        with denied_join_result():
            second_in.set()
            first_out.wait(5)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert task_join_will_block(), "celery's flag is left set by the overlap"
    allow_task_joins()  # what the autouse fixture does before every test
    assert not task_join_will_block()
