"""Work in forked processes (gfd_kg/workers.py), which the build's seminars and dumps use:
results in order, from other processes, reading what the parent holds; an error in the
work raised in the parent; the same results in one process."""

from __future__ import annotations

import os

import pytest

from gfd_kg.workers import can_fork, forked_map

pytestmark = pytest.mark.skipif(not can_fork(), reason="no fork on this system")


def test_the_results_come_in_order_from_other_processes() -> None:
    held = [f"item {i}".encode() * 1000 for i in range(20)]  # read, never pickled
    parent = os.getpid()
    out = list(forked_map(lambda i: (i, len(held[i]), os.getpid()), len(held), 2, chunksize=3))
    assert [(i, n) for i, n, _pid in out] == [(i, len(held[i])) for i in range(20)]
    pids = {pid for _i, _n, pid in out}
    assert parent not in pids and 1 <= len(pids) <= 2


def test_one_job_runs_here_with_the_same_results() -> None:
    def work(i: int) -> tuple[int, int]:
        return i * i, os.getpid()

    here = list(forked_map(work, 5, 1))
    assert here == [(i * i, os.getpid()) for i in range(5)]
    assert [r for r, _ in forked_map(work, 5, 2)] == [r for r, _ in here]


class Refused(Exception):
    pass


def test_an_error_in_the_work_is_raised_here_and_the_pool_is_gone() -> None:
    def work(i: int) -> int:
        if i == 3:
            raise Refused(f"record {i}: wrong")
        return i

    with pytest.raises(Refused, match="record 3: wrong"):
        list(forked_map(work, 8, 2))
    # the module is free again: a next run works
    assert list(forked_map(lambda i: i + 1, 3, 2)) == [1, 2, 3]


def test_a_run_inside_a_run_is_refused() -> None:
    outer = forked_map(lambda i: i, 2, 2)
    assert next(outer) == 0
    with pytest.raises(RuntimeError, match="already running"):
        next(forked_map(lambda i: i, 2, 2))
    assert list(outer) == [1]


def test_after_an_error_no_worker_is_still_at_work(tmp_path) -> None:
    """The build removes its half-written folder when a write fails in a worker: by then
    the other worker must have stopped writing into it."""
    import time

    def work(i: int) -> int:
        if i == 0:
            raise Refused("the disk is full")
        time.sleep(0.3)
        (tmp_path / str(i)).write_text("late")
        return i

    with pytest.raises(Refused):
        list(forked_map(work, 6, 2))
    seen = sorted(p.name for p in tmp_path.iterdir())
    time.sleep(0.6)  # what a worker still running would write meanwhile
    assert sorted(p.name for p in tmp_path.iterdir()) == seen
