"""Where the endpoint's queries run, and for how long: off the event loop, in daemon threads of
the server process, each request waiting at most the time limit.

pyoxigraph releases the GIL while it evaluates a query and while it writes the result, so
the event loop keeps serving every other connection meanwhile. It cannot cancel a query:
past the limit the request is answered 503 and the thread is left to finish; the process
that holds it is then retired by the process manager (gfd_kg/web/server.py), which ends the
thread with the process. The threads are daemon threads for that reason: the standard
``concurrent.futures`` pool joins its threads when the process exits, which would keep a
retired process alive as long as its runaway query runs.

The per-client limit holds across the server processes: ``ClientCounts`` counts each client's
queries in shared memory (multiprocessing's Lock and RawArray), one row per process, so the
process manager can clear the row of a process that died (tests/test_serve.py shows the limit
fails when it is counted per process: a client's connections land on every process)."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing as mp
import queue
import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import pyoxigraph as ox

from .store import QueryAnswer, QueryFailed, QueryJob, execute

T = TypeVar("T")


@dataclass
class Limits:
    """The endpoint's limits (see README, "Limits")."""

    timeout: float = 5.0  # seconds a request waits for its query
    max_rows: int = 10_000  # rows (or triples) a result may have
    max_query_bytes: int = 100_000  # size of a query's text
    workers: int = 2  # server processes
    max_waiting: int = 16  # queries that may wait in one process for a free thread; more get 503
    max_per_client: int = 4  # queries one client may have at once, in all processes; more get 429
    max_result_bytes: int = 64 * 2**20  # size of a serialised SELECT result

    @property
    def threads(self) -> int:
        """Query threads in each process: one more than a client may hold, so that one
        client's runaway queries always leave a thread for another client."""
        return self.max_per_client + 1


class ClientCounts:
    """How many queries each client has at once, counted across the server processes. A
    client is a slot (CRC-32 of its address, modulo SLOTS); each process counts in its own
    row, so the row of a process that died can be cleared without undoing the others'
    counts; beside the rows, a total per slot answers the check of a limit with one read."""

    SLOTS = 4096

    def __init__(self, rows: int = 1, ctx: Any = None) -> None:
        ctx = ctx or mp.get_context("fork")
        self.rows = rows
        self.lock = ctx.Lock()
        self.by_row = ctx.RawArray("i", rows * self.SLOTS)
        self.total = ctx.RawArray("i", self.SLOTS)
        self.row = 0  # the row this process writes (set in each process)

    @classmethod
    def slot(cls, client: str) -> int:
        return zlib.crc32(client.encode("utf-8", "surrogatepass")) % cls.SLOTS

    def enter(self, slot: int, limit: int) -> bool:
        with self.lock:
            if self.total[slot] >= limit:
                return False
            self.by_row[self.row * self.SLOTS + slot] += 1
            self.total[slot] += 1
            return True

    def leave(self, slot: int) -> None:
        with self.lock:
            self.by_row[self.row * self.SLOTS + slot] -= 1
            self.total[slot] -= 1

    def clear_row(self, row: int) -> None:
        """Forget what the process writing ``row`` counted (it is gone)."""
        start = row * self.SLOTS
        with self.lock:
            for slot, n in enumerate(self.by_row[start:start + self.SLOTS]):
                if n:
                    self.total[slot] -= n
            self.by_row[start:start + self.SLOTS] = [0] * self.SLOTS


class Stuck(Exception):
    """The call was still running at the time limit (``started``) or still waiting."""

    def __init__(self, started: bool) -> None:
        self.started = started
        super().__init__("running" if started else "waiting")


@dataclass
class _Call(Generic[T]):
    fn: Callable[[], T]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[T]
    started: bool = False
    abandoned: bool = False


def _settle(future: asyncio.Future[T], value: T | None, error: BaseException | None) -> None:
    if future.done():  # the request stopped waiting
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(value)  # type: ignore[arg-type]


STACK_BYTES = 256 * 2**20  # a query nested as deep as --max-query-bytes allows needs tens of MB


class QueryThreads:
    """``size`` daemon threads running blocking calls for one event loop, first come first
    served; ``waiting`` counts the calls queued for a thread. A thread left in a call past
    its time limit is replaced at once, so ``size`` threads stay free to work (a retiring
    process still accepts for up to a second, and its lost threads must not leave another
    client without one); it ends when its call does. Stacks are STACK_BYTES (of address
    space; only what is used is memory)."""

    def __init__(self, size: int) -> None:
        self.calls: queue.SimpleQueue[_Call[Any]] = queue.SimpleQueue()
        self.lock = threading.Lock()
        self.size = size
        self.waiting = 0
        self.busy = 0
        self.lost = 0  # threads still in a call given up on
        for _ in range(size):
            self.spawn()

    def spawn(self) -> None:
        before = threading.stack_size(STACK_BYTES)
        try:
            threading.Thread(target=self.work, name="gfd-kg query", daemon=True).start()
        finally:
            threading.stack_size(before)

    def work(self) -> None:
        while True:
            call = self.calls.get()
            with self.lock:
                self.waiting -= 1
                if call.abandoned:
                    continue
                call.started = True
                self.busy += 1
            value, error = None, None
            try:
                value = call.fn()
            except BaseException as e:
                error = e
            with self.lock:
                self.busy -= 1
                if call.abandoned:  # replaced meanwhile: this thread is one too many
                    self.lost -= 1
                    return
            with contextlib.suppress(RuntimeError):  # a closed loop: the process is ending
                call.loop.call_soon_threadsafe(_settle, call.future, value, error)

    async def run(self, fn: Callable[[], T], timeout: float) -> T:
        """``fn()`` in a thread; Stuck when it has not returned within ``timeout`` seconds."""
        loop = asyncio.get_running_loop()
        call: _Call[T] = _Call(fn, loop, loop.create_future())
        with self.lock:
            self.waiting += 1
        self.calls.put(call)
        try:
            return await asyncio.wait_for(call.future, timeout)
        except TimeoutError:
            with self.lock:
                call.abandoned = True
                started = call.started
                if started:
                    self.lost += 1
            if started:
                self.spawn()
            raise Stuck(started) from None


class Runaway(QueryFailed):
    """A query still running at the time limit: its thread cannot be taken back, so the
    process that holds it should be replaced once the client has its answer."""

    def __init__(self, timeout: float) -> None:
        super().__init__(503, f"the query was stopped after {timeout:g} s, the time limit of "
                              "this endpoint; make it more selective or add LIMIT")


def run_query(store: ox.Store, job: QueryJob) -> QueryAnswer:
    """``execute``, with what else may go wrong said as the HTTP status it deserves. The
    error raised is a fresh one, raised outside the handler: it keeps no traceback or context
    that holds pyoxigraph's result objects, which may only be dropped on this thread."""
    try:
        return execute(store, job)
    except QueryFailed as e:
        failure = QueryFailed(e.status, str(e))
    except OSError as e:  # reading the store failed: the server's fault
        failure = QueryFailed(500, f"the store could not be read: {e}")
    except Exception as e:
        failure = QueryFailed(400, f"the query cannot be evaluated: {e}")
    raise failure


class QueryRunner:
    """The queries of one server process: the client's limit, a thread, the time limit."""

    def __init__(self, store: ox.Store, limits: Limits, counts: ClientCounts) -> None:
        self.store = store
        self.limits = limits
        self.counts = counts
        self.threads = QueryThreads(limits.threads)

    def check(self, job: QueryJob) -> None:
        """Refusals that need no store: a query text past the size limit."""
        if len(job.query.encode("utf-8", "surrogatepass")) > self.limits.max_query_bytes:
            raise QueryFailed(413, f"the query is longer than {self.limits.max_query_bytes} "
                                   "bytes, the limit of this endpoint")

    async def answer(self, job: QueryJob, client: str) -> QueryAnswer:
        """The answer, or QueryFailed: 413 too long, 429 the client has too many queries
        at once, 503 too many waiting or not started in time, Runaway past the limit."""
        self.check(job)
        slot = ClientCounts.slot(client)
        if not self.counts.enter(slot, self.limits.max_per_client):
            raise QueryFailed(429, f"too many queries at once from one client (at most "
                                   f"{self.limits.max_per_client}); wait for the earlier ones")
        try:
            if self.threads.waiting >= self.limits.max_waiting:
                raise QueryFailed(503, "too many queries at once; try again in a moment")
            return await self.threads.run(lambda: run_query(self.store, job),
                                          self.limits.timeout)
        except Stuck as e:
            if e.started:
                raise Runaway(self.limits.timeout) from None
            raise QueryFailed(503, f"the endpoint was too busy to start the query within "
                                   f"{self.limits.timeout:g} s; try again in a moment") from None
        finally:
            self.counts.leave(slot)
