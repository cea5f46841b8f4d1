"""Work spread over processes forked from this one: the build's seminars and its dumps.

A forked worker starts with a copy of this process's memory (shared until written), so a
piece of work reads the records, graphs and bytes already loaded without pickling them:
only an index goes to the worker and only its result comes back. Where ``fork`` is not
available (Windows, and macOS, where it is not safe) or one process is asked for, the
work runs here, in order, with the same results.
"""

from __future__ import annotations

import gc
import multiprocessing as mp
import signal
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import TypeVar, cast

T = TypeVar("T")

# The work the forked workers call: set before they fork, so that they inherit it.
_WORK: Callable[[int], object] | None = None


def can_fork() -> bool:
    return "fork" in mp.get_all_start_methods() and sys.platform != "darwin"


def quiet_on_interrupt() -> None:
    """A worker's start: Ctrl-C reaches the whole process group, and the parent stops the
    work and says so; a worker just ends, without a traceback of its own. (A forked one
    starts with SIGINT blocked, see ``forked_map``: a Ctrl-C meanwhile ends it here.)"""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def _run(index: int) -> object:
    assert _WORK is not None
    return _WORK(index)


def forked_map(work: Callable[[int], T], count: int, jobs: int,
               chunksize: int = 1) -> Iterator[T]:
    """``work(0)``, ..., ``work(count - 1)`` in this order, computed in ``jobs`` forked
    processes (each takes the next ``chunksize`` indexes when it is free); in this process
    when ``jobs`` or ``count`` is 1 or ``fork`` is not available. An exception in the work
    is raised here once no worker runs any more: the work not yet started is cancelled."""
    global _WORK
    if jobs <= 1 or count <= 1 or not can_fork():
        for index in range(count):
            yield work(index)
        return
    if _WORK is not None:
        raise RuntimeError("forked_map is already running in this process")
    _WORK = work
    # The garbage collector would write to every object's header in a worker (and so
    # copy every page it shares with this process), unless the objects that exist when
    # it forks are frozen out of its reach.
    gc.freeze()
    try:
        with ProcessPoolExecutor(max_workers=min(jobs, count), mp_context=mp.get_context("fork"),
                                 initializer=quiet_on_interrupt) as pool:
            try:
                # the workers fork as the work is handed out: with SIGINT blocked, so that
                # a Ctrl-C then does not break into a child before quiet_on_interrupt
                # (Python's own at-fork handlers would print its traceback)
                mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
                try:
                    results = pool.map(_run, range(count), chunksize=chunksize)
                finally:
                    signal.pthread_sigmask(signal.SIG_SETMASK, mask)
                for result in results:
                    yield cast(T, result)
            except BaseException:
                # the work not started is dropped; the work running is waited for, so
                # that no worker still writes when the caller cleans up after the error
                pool.shutdown(wait=True, cancel_futures=True)
                raise
    finally:
        gc.unfreeze()
        _WORK = None
