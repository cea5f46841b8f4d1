"""The server processes that share the port (the HTTP protocol each one speaks is
gfd_kg/protocol.py's, the app gfd_kg/serve.py's).

- ``bind`` takes the address before the store loads (gfd_kg/cli.py); ``serve`` is a
  supervisor: it listens on that socket and runs ``workers`` server processes on it (each
  opens the store read-only), replacing any that ends. A process takes a new connection only when it holds no more than the others
  (``Loads``), so a burst of connections spreads evenly."""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import os
import signal
import socket
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.connection import wait as mp_wait
from typing import Any

import pyoxigraph as ox

from .errors import ServeError
from .protocol import RunawayGuard, SparqlProtocol
from .serve import Site, create_app
from .store import ClientCounts, Limits, QueryEngine


# -- the processes ----------------------------------------------------------------------------

@dataclass
class _Child:
    process: mp.process.BaseProcess
    conn: Connection
    row: int
    started: float
    draining: bool = False


class Loads:
    """What the server processes tell each other, in shared memory, so that connections
    spread evenly over them: each one's open connections, whether it is up (not draining),
    and since when it has been running a query (0: it is not). Each process writes only
    its own row."""

    BUSY = 0.005  # a process this long in a query leaves new connections to the others

    def __init__(self, rows: int, ctx: Any) -> None:
        self.rows = rows
        self.connections = ctx.RawArray("i", rows)
        self.up = ctx.RawArray("b", rows)
        self.busy_since = ctx.RawArray("d", rows)
        self.row = 0

    def my_turn(self) -> bool:
        """Whether this process should take the next connection: no process that is up
        and not deep in a query holds fewer."""
        mine, now = self.connections[self.row], time.monotonic()
        for r in range(self.rows):
            if r == self.row or not self.up[r]:
                continue
            since = self.busy_since[r]
            if since and now - since > self.BUSY:
                continue
            if self.connections[r] < mine:
                return False
        return True


class _BalancedListener(socket.socket):
    """The shared listening socket as one process sees it: it takes one connection per
    event-loop turn, and only when it holds no more connections than the others (asyncio
    would accept every pending connection at once, and the process that wakes first
    would take a whole burst while the others idle)."""

    loads: Loads
    _took = False

    def accept(self) -> tuple[socket.socket, Any]:
        if self._took or not self.loads.my_turn():
            self._took = False
            raise BlockingIOError
        self._took = True
        accepted = super().accept()
        # counted now, not when asyncio gets round to connection_made: the next turn's
        # choice must see it
        self.loads.connections[self.loads.row] += 1
        return accepted


def _drain_time(limits: Limits) -> float:
    """How long a draining process may take to answer what its connections asked: every
    query a client may have in flight, each up to the time limit."""
    return 5 + limits.timeout * (limits.max_per_client + 1)


def _head_limit(limits: Limits) -> int:
    # a GET query as long as --max-query-bytes, %-encoded, must fit in a request head
    return max(64 * 1024, 3 * limits.max_query_bytes + 16 * 1024)


def _serve_process(site: Site, sock: socket.socket, counts: ClientCounts, loads: Loads,
                   row: int, conn: Connection) -> None:
    """One server process: uvicorn with SparqlProtocol on the shared listening socket, the
    event loop on a thread with a large stack, this (main) thread waiting for signals."""
    import uvicorn

    counts.row = loads.row = row
    listener = _BalancedListener(sock.family, sock.type, sock.proto, fileno=sock.detach())
    listener.loads = loads
    SparqlProtocol.loads = loads
    servers: list[Any] = []

    def drain() -> None:
        loads.up[row] = 0
        if not servers[0].should_exit:
            servers[0].should_exit = True
            try:
                conn.send("draining")
            except OSError:
                pass

    guard = RunawayGuard(site.limits.timeout, drain, loads)

    def engine(store: ox.Store) -> QueryEngine:
        guard.engine = QueryEngine(store, site.limits, counts, guard)
        guard.watch()
        loads.up[row] = 1  # serving: the others may leave connections to this process
        return guard.engine

    config = uvicorn.Config(create_app(site, engine), http=SparqlProtocol, ws="none",
                            lifespan="on", loop="asyncio", log_level="warning",
                            access_log=False, timeout_graceful_shutdown=_drain_time(site.limits),
                            h11_max_incomplete_event_size=_head_limit(site.limits))
    server = uvicorn.Server(config)
    servers.append(server)
    SparqlProtocol.site = site
    status = [1]

    def run() -> None:
        loop = asyncio.new_event_loop()
        guard.loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(server.serve(sockets=[listener]))
            status[0] = 0
        finally:
            guard.done.set()

    def on_signal(signum: int, frame: Any) -> None:
        if server.should_exit:
            server.force_exit = True
        server.should_exit = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    size = threading.stack_size(RunawayGuard.STACK)  # applies to the threads started now
    try:
        threading.Thread(target=run, name="gfd-kg-loop", daemon=True).start()
    finally:
        threading.stack_size(size)
    while not guard.done.wait(0.5):
        pass
    # a thread may be stuck in a stopped query: exit without waiting for it
    os._exit(0 if guard.stopped or status[0] == 0 else 1)


def bind(host: str, port: int) -> socket.socket:
    """The server's socket, bound but not listening yet: taken before the store loads, so
    that a port in use is said at once; until ``serve`` listens, connections are refused
    rather than left waiting. Raises ServeError."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise ServeError(f"cannot serve on {host}:{port}: {e.strerror or e}; stop what "
                         "uses that address or give another --host or --port") from None
    return sock


def serve(site: Site, sock: socket.socket) -> None:
    """Run ``workers`` server processes on one listening socket (``bind``'s), each
    answering HTTP and running its queries itself, and replace any that stops. A process
    that had to stop a runaway query drains and is replaced at once. The store folder is
    the caller's to remove (``with site:``), so that it goes even when the server cannot
    start; the socket is closed at the end. The processes are forked when the store is
    in memory (they inherit it, and a replacement need not load it again), else spawned."""
    limits = site.limits
    sock.listen(2048)
    ctx = mp.get_context("fork" if site.memory is not None else "spawn")
    rows = 2 * limits.workers + 4
    counts = ClientCounts(rows=rows, ctx=ctx)
    loads = Loads(rows, ctx)
    children: dict[int, _Child] = {}
    stopping = False

    def spawn() -> None:
        free = [r for r in range(rows) if r not in {c.row for c in children.values()}]
        if not free:
            return
        counts.clear_row(free[0])
        loads.connections[free[0]], loads.busy_since[free[0]], loads.up[free[0]] = 0, 0.0, 0
        parent, child = ctx.Pipe(duplex=False)
        process = ctx.Process(target=_serve_process, name=f"gfd-kg-serve-{free[0]}",
                              args=(site, sock, counts, loads, free[0], child))
        process.start()
        child.close()
        children[process.sentinel] = _Child(process, parent, free[0], time.monotonic())

    def on_signal(signum: int, frame: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    crashes = 0
    try:
        for _ in range(limits.workers):
            spawn()
        while not stopping:
            live = sum(not c.draining for c in children.values())
            for _ in range(limits.workers - live):
                spawn()
            waiting = [*children, *(c.conn for c in children.values() if not c.draining)]
            for ready in mp_wait(waiting, timeout=0.5):
                if isinstance(ready, Connection):  # "draining", or the end of the pipe
                    child_of = next((c for c in children.values() if c.conn is ready), None)
                    if child_of is not None:
                        try:
                            child_of.conn.recv()
                        except (EOFError, OSError):
                            pass
                        child_of.draining = True
                        loads.up[child_of.row] = 0
                    continue
                if ready not in children:
                    continue
                gone = children.pop(ready)  # type: ignore[arg-type]
                gone.process.join()
                gone.conn.close()
                counts.clear_row(gone.row)
                loads.up[gone.row] = 0
                if gone.process.exitcode != 0 and time.monotonic() - gone.started < 5:
                    crashes += 1
                    if crashes > 5:
                        raise RuntimeError("the server processes keep failing at start; "
                                           "see the messages above")
                else:
                    crashes = 0
    finally:
        for c in children.values():
            if c.process.is_alive():
                c.process.terminate()
        end = time.monotonic() + _drain_time(limits) + 1
        for c in children.values():
            c.process.join(timeout=max(0.1, end - time.monotonic()))
            if c.process.is_alive():
                c.process.kill()
                c.process.join(timeout=5)
        sock.close()
