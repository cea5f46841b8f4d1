"""The HTTP protocol of a server process: /sparql answered in the protocol itself, and the
guard that stops a runaway query (the site and the app are gfd_kg/serve.py's; the
processes, gfd_kg/supervisor.py's).

- In a server process, GET, HEAD and POST of /sparql are answered by the HTTP protocol
  itself (``SparqlProtocol``, uvicorn's h11 protocol extended): the plainest request (one
  whole request in one read) is read without h11 (``_simple_request`` takes only what h11
  would read the same way), any other by h11; the query runs inline on the event loop's
  thread; the response goes out in one write. No ASGI task, middleware or routing. Every
  other request goes to the Starlette app as before.
- The time limit (``RunawayGuard``): a watcher thread takes the event loop over from a
  query past the limit, answers 503, frees the query's share of the client's limits, and
  serves every other connection on; the process then drains (stops accepting, answers
  what it was asked, closes) and exits, which ends the stuck query; the supervisor starts
  its replacement as soon as the draining begins. Loop threads get a 256 MiB stack: a
  query nested as deep as --max-query-bytes allows needs tens of MB in pyoxigraph.
- Per-client limits are counted across the processes (gfd_kg/store.py, ClientCounts): a
  client runs at most ``workers - 1`` queries at once, so another client always finds a
  process free; its further queries wait (polled every 2 ms) up to ``max_per_client`` in
  flight, then get 429."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_to_bytes

import h11
from uvicorn.protocols.http.h11_impl import STATUS_PHRASES, H11Protocol

from .serve import CORS_EXPOSED, Pending, Reply, Site, _plain_reply, sparql_request
from .store import Guard, QueryEngine, QueryFailed, Ticket

if TYPE_CHECKING:
    from .supervisor import Loads


# -- HTTP: the SPARQL endpoint answered in the protocol ------------------------------------

CORS_SIMPLE = ((b"access-control-allow-origin", b"*"),
               (b"access-control-expose-headers", ", ".join(CORS_EXPOSED).encode("ascii")))
_SPARQL_PATHS = (b"/sparql", b"/sparql/")
_SPARQL_METHODS = (b"GET", b"POST", b"HEAD")
_MAX_BODY_SLACK = 64 * 1024


def _is_sparql_request_line(data: bytes, limit: int) -> bool | None:
    """Whether the request that ``data`` starts with is a GET, HEAD or POST of /sparql;
    None while its request line is still incomplete (and within the head ``limit``)."""
    end = data.find(b"\n")
    if end < 0:
        return None if len(data) <= limit else False
    parts = data[:end].split(b" ")
    if len(parts) != 3 or parts[0] not in _SPARQL_METHODS:
        return False
    path = parts[1].partition(b"?")[0]
    if b"%" in path:
        path = unquote_to_bytes(path)
    return path in _SPARQL_PATHS


# A request the protocol reads itself, without h11: one whole GET, HEAD or POST of /sparql
# in one read, in the plainest HTTP/1.1 (see _simple_request); anything else goes to h11.
_SIMPLE_LINE = re.compile(rb"(GET|HEAD|POST) (/sparql/?(?:\?[\x21-\x7e]*)?) HTTP/1\.1")
_SIMPLE_HEADER = re.compile(
    rb"([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*((?:[\x21-\x7e](?:[\x20-\x7e\t]*[\x21-\x7e])?)?)[ \t]*")
_NOT_SIMPLE = frozenset({b"transfer-encoding", b"expect", b"upgrade"})


@dataclass
class _SimpleRequest:
    """A request read by _simple_request: what h11.Request would say of it, and its body."""

    method: bytes
    target: bytes
    headers: list[tuple[bytes, bytes]]
    body: bytes
    close: bool


def _simple_request(data: bytes, limit: int) -> _SimpleRequest | None:
    """``data`` as one request, when it is exactly one request that h11 would take the
    same way: a GET, HEAD or POST of /sparql, HTTP/1.1, CRLF lines, header names that are
    tokens and values of visible ASCII, one Host, no Transfer-Encoding, Expect or Upgrade,
    a body (POST only) of exactly its one Content-Length. None for anything else: h11
    reads it (and refuses what is malformed), so nothing is accepted here that h11 would
    refuse or read otherwise; this only spares the common request h11's cost."""
    if len(data) > limit:
        return None
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return None
    lines = data[:end].split(b"\r\n")
    line = _SIMPLE_LINE.fullmatch(lines[0])
    if line is None:
        return None
    headers: list[tuple[bytes, bytes]] = []
    hosts, length, close = 0, 0, False
    for raw in lines[1:]:
        header = _SIMPLE_HEADER.fullmatch(raw)
        if header is None:
            return None
        name, value = header.group(1).lower(), header.group(2)
        if name in _NOT_SIMPLE:
            return None
        if name == b"host":
            hosts += 1
        elif name == b"content-length":
            if length or not value.isdigit() or len(value) > 12:
                return None
            length = int(value)
        elif name == b"connection":
            tokens = {t.strip().lower() for t in value.split(b",")}
            if b"upgrade" in tokens:
                return None
            close = close or b"close" in tokens
        headers.append((name, value))
    body = data[end + 4:]
    if hosts != 1 or len(body) != length or (length and line.group(1) != b"POST"):
        return None
    return _SimpleRequest(line.group(1), line.group(2), headers, body, close)


class SparqlProtocol(H11Protocol):
    """uvicorn's h11 protocol, with every GET, HEAD and POST of /sparql answered here:
    parsed by h11 as before, then answered on the spot (the query run inline, the response
    written in one piece), without an ASGI task, Starlette's middleware and routing, or two
    writes per response. Everything else goes to the app as before.

    A query waits (parked, polled every 2 ms) while its client already runs its share of
    queries in the other processes; the time limit is the process's RunawayGuard's."""

    site: Site  # the process's, set before serving
    loads: Loads | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._request: h11.Request | _SimpleRequest | None = None
        self._held = b""  # what came while a simple request waits its turn
        self._body = bytearray()
        self._ticket: Ticket | None = None
        self._pending: Pending | None = None
        self._retry: asyncio.TimerHandle | None = None
        self._close_after = False

    def data_received(self, data: bytes) -> None:
        self._unset_keepalive_if_required()
        if self._request is not None and not isinstance(self._request, h11.Request):
            self._held += data  # a simple request waits: this comes after it
            self.flow.pause_reading()
            return
        if self._request is None and self.conn.our_state is h11.IDLE and \
                self.conn.their_state is h11.IDLE and not self.conn.trailing_data[0]:
            simple = _simple_request(data, self.conn._max_incomplete_event_size)
            if simple is not None:
                self._request, self._body = simple, bytearray(simple.body)
                self._close_after = self._close_after or simple.close
                self._answer()
                return
        self.conn.receive_data(data)
        self.handle_events()

    # dispatch: a request of ours is answered here, any other goes to uvicorn's code
    def handle_events(self) -> None:
        while True:
            if self._request is not None:
                if not self._fast_events():
                    return
                continue
            if self.conn.their_state is not h11.IDLE or self.conn.our_state is not h11.IDLE:
                super().handle_events()
                return
            data, closed = self.conn.trailing_data
            ours = _is_sparql_request_line(data, self.conn._max_incomplete_event_size) \
                if data else False
            if ours is None and not closed:
                return  # the request line is not all there yet
            if not ours:
                super().handle_events()
                return
            if not self._fast_events():
                return

    def _fast_events(self) -> bool:
        """Read our request's events; True when it was answered and the next may follow."""
        while True:
            try:
                event = self.conn.next_event()
            except h11.RemoteProtocolError:
                self._forget()
                self.send_400_response("Invalid HTTP request received.")
                return False
            if event is h11.NEED_DATA:
                return False
            if event is h11.PAUSED:  # a pipelined request: read no more until we answer
                self.flow.pause_reading()
                return False
            if isinstance(event, h11.Request):
                self._unset_keepalive_if_required()
                self._request = event
                self._body = bytearray()
                if self.conn.client_is_waiting_for_100_continue:
                    self.transport.write(self.conn.send(h11.InformationalResponse(
                        status_code=100, headers=[], reason=b"Continue")))
            elif isinstance(event, h11.Data):
                self._body += event.data
                if len(self._body) > 4 * self.site.limits.max_query_bytes + _MAX_BODY_SLACK:
                    self._close_after = True
                    self._reply(_plain_reply(413, "the request body is too large for a query"))
                    return False
            elif isinstance(event, h11.EndOfMessage):
                return self._answer()
            elif isinstance(event, h11.ConnectionClosed):
                self._forget()
                return False

    def _header(self, name: bytes) -> str | None:
        assert self._request is not None
        for key, value in self._request.headers:
            if key == name:
                return value.decode("latin-1")
        return None

    def _answer(self) -> bool:
        request = self._request
        assert request is not None
        target, _, query_string = request.target.partition(b"?")
        host = self._header(b"host") or "%s:%d" % (self.server or ("localhost", 80))
        path = unquote_to_bytes(target).decode("latin-1")
        plan = sparql_request(self.site, request.method.decode("ascii"), query_string,
                              self._header(b"accept"), self._header(b"content-type"),
                              bytes(self._body), f"{self.scheme}://{host}{path}")
        if isinstance(plan, Reply):
            return self._reply(plan)
        engine = self.site.engine
        try:
            cached = engine.lookup(plan.job)
            if cached is not None:
                return self._reply(plan.render(cached))
            self._ticket = engine.admit(plan.job, self.client[0] if self.client else "")
        except QueryFailed as e:
            return self._reply(plan.render(e))
        self._ticket.owner = self
        self._pending = plan
        return self._go(waited=False)

    def _go(self, waited: bool) -> bool:
        """Run the pending query if its client may run one now, else wait for its turn."""
        ticket, plan, engine = self._ticket, self._pending, self.site.engine
        assert ticket is not None and plan is not None
        if not engine.may_start(ticket):
            if not waited and SparqlProtocol.parked >= self.site.limits.max_waiting:
                return self._refuse(503, "too many queries at once; try again in a moment")
            SparqlProtocol.parked += 1
            self._retry = self.loop.call_later(0.002, self._resume)
            return False
        outcome = engine.run(ticket)
        if outcome is None:  # stopped by the guard: this thread is no longer the server's
            RunawayGuard.park_forever()
        self._ticket = self._pending = None
        engine.release(ticket)
        return self._reply(plan.render(outcome))

    parked = 0  # requests of this process waiting for their client's turn

    def _resume(self) -> None:
        self._retry = None
        SparqlProtocol.parked -= 1
        if self._go(waited=True):
            self.handle_events()

    def _refuse(self, status: int, message: str) -> bool:
        ticket, plan = self._ticket, self._pending
        assert ticket is not None and plan is not None
        self._ticket = self._pending = None
        self.site.engine.release(ticket)
        return self._reply(plan.render(QueryFailed(status, message)))

    def runaway(self, ticket: Ticket) -> None:
        """The guard stopped this connection's query: 503, and the connection closes."""
        self._ticket = self._pending = None
        self._close_after = True
        message = (f"the query was stopped after {self.site.limits.timeout:g} s, the time "
                   "limit of this endpoint; make it more selective or add LIMIT")
        if not self.transport.is_closing():
            self._reply(_plain_reply(503, message))

    def _close_if_idle(self) -> None:
        if self._request is None and not self.transport.is_closing():
            super().shutdown()

    def _forget(self) -> None:
        """The request will not be answered (the client left, or sent garbage)."""
        if self._retry is not None:
            self._retry.cancel()
            self._retry = None
            SparqlProtocol.parked -= 1
        if self._ticket is not None:
            self.site.engine.release(self._ticket)
        self._ticket = self._pending = self._request = None

    def _closing_headers(self, headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        """The last headers of a response: CORS (as CORSMiddleware answers) and close."""
        if self._header(b"origin") is not None:
            headers = [*headers, *CORS_SIMPLE]
            vary = [v for k, v in headers if k == b"vary"]
            headers = [(k, v) for k, v in headers if k != b"vary"]
            headers.append((b"vary", b", ".join([*vary, b"Origin"])))
        if self._close_after:
            headers = headers + [(b"connection", b"close")]
        return headers

    def _reply(self, reply: Reply) -> bool:
        """Write the response in one piece; True when h11 has the next request to read."""
        request = self._request
        assert request is not None
        headers = [*self.server_state.default_headers, (b"content-type", reply.media.encode()),
                   (b"content-length", str(len(reply.body)).encode()), *reply.headers]
        headers = self._closing_headers(headers)
        if isinstance(request, _SimpleRequest):
            return self._reply_simple(request, reply, headers)
        body = b"" if request.method == b"HEAD" else reply.body
        try:
            out = self.conn.send(h11.Response(status_code=reply.status, headers=headers,
                                              reason=STATUS_PHRASES[reply.status]))
            out += self.conn.send(h11.Data(data=body)) + self.conn.send(h11.EndOfMessage())
        except h11.LocalProtocolError:  # the client broke off meanwhile
            self._request = None
            self.transport.close()
            return False
        self.transport.write(out)
        self._request = None
        self._body = bytearray()
        self.server_state.total_requests += 1
        if self.conn.our_state is h11.MUST_CLOSE or self._close_after:
            self.conn.send(h11.ConnectionClosed())
            self.transport.close()
            return False
        self._unset_keepalive_if_required()
        self.timeout_keep_alive_task = self.loop.call_later(self.timeout_keep_alive,
                                                            self.timeout_keep_alive_handler)
        self.flow.resume_reading()
        if self.conn.our_state is h11.DONE and self.conn.their_state is h11.DONE:
            self.conn.start_next_cycle()
            return True
        return False

    def _reply_simple(self, request: _SimpleRequest, reply: Reply,
                      headers: list[tuple[bytes, bytes]]) -> bool:
        """The response to a request h11 never saw, written as h11 would (h11 stays idle)."""
        head = b"HTTP/1.1 %d %s\r\n" % (reply.status, STATUS_PHRASES[reply.status]) + \
            b"".join(b"%s: %s\r\n" % h for h in headers) + b"\r\n"
        self.transport.write(head if request.method == b"HEAD" else head + reply.body)
        self._request = None
        self._body = bytearray()
        self.server_state.total_requests += 1
        if self._close_after:
            self.transport.close()
            return False
        self.timeout_keep_alive_task = self.loop.call_later(self.timeout_keep_alive,
                                                            self.timeout_keep_alive_handler)
        if self._held:
            held, self._held = self._held, b""
            self.flow.resume_reading()
            self.loop.call_soon(self.data_received, held)
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        if self.loads is not None:
            self.loads.connections[self.loads.row] -= 1
        if self._request is not None:
            self._forget()
        super().connection_lost(exc)

    def shutdown(self) -> None:
        """The process drains: a request waiting for its client's turn is refused (the
        client runs its share of queries already), any other is answered; then the
        connection closes."""
        self._close_after = True
        if self._request is None:
            # idle: a request may be on its way; answer it (and close) if it comes soon
            self.loop.call_later(1.0, self._close_if_idle)
            return
        if self._retry is not None:
            self._retry.cancel()
            self._retry = None
            SparqlProtocol.parked -= 1
            limit = self.site.limits.max_per_client
            self._refuse(429, f"too many queries at once from one client (at most {limit}); "
                              "wait for the earlier ones")


# -- the time limit -------------------------------------------------------------------------

class RunawayGuard(Guard):
    """Stops a query past the time limit, though pyoxigraph cannot interrupt one.

    Queries run inline, on the thread that runs the process's event loop. A watcher
    thread looks every few milliseconds; when the running query has passed the limit it
    takes the event loop over: it marks the query stopped (so that its thread, should the
    query ever end, parks for good instead of touching the loop), frees the query's share
    of its client's limits, answers 503 on its connection, and runs the event loop itself
    from then on, with a fresh watcher. Every other connection of the process is served
    on as if nothing happened. Then the process drains, to get rid of the thread still
    stuck in the query: it stops accepting connections, tells the supervisor (which starts
    a replacement at once), answers what its connections have asked, closes them, and
    exits. The same happens to the next runaway query of a draining process.

    Two details of asyncio are relied on (see ``_take_over``): a loop whose running thread
    is stuck can be run by another thread once its ``_thread_id`` is cleared, and the
    stuck query runs in a plain callback (SparqlProtocol), not in an asyncio task."""

    STACK = 256 * 2**20  # a query 100 kB deep needs tens of MB of stack in pyoxigraph

    def __init__(self, timeout: float, on_runaway: Callable[[], None],
                 loads: Loads | None = None) -> None:
        self.timeout = timeout
        self.loads = loads
        self.on_runaway = on_runaway
        self.lock = threading.Lock()
        self.current: Ticket | None = None
        self.started = 0.0
        self.stopped: set[int] = set()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.engine: QueryEngine | None = None
        self.done = threading.Event()  # set when the loop, whichever thread ran it, ended

    def begin(self, ticket: Ticket) -> None:
        with self.lock:
            self.current, self.started = ticket, time.monotonic()
        if self.loads is not None:
            self.loads.busy_since[self.loads.row] = self.started

    def end(self, ticket: Ticket) -> bool:
        with self.lock:
            if id(ticket) in self.stopped:
                return False
            self.current = None
        if self.loads is not None:
            self.loads.busy_since[self.loads.row] = 0.0
        return True

    @staticmethod
    def park_forever() -> None:
        threading.Event().wait()

    def watch(self) -> None:
        """Start a watcher thread (with a stack a loop thread needs)."""
        size = threading.stack_size(self.STACK)
        try:
            threading.Thread(target=self._watch, name="gfd-kg-guard", daemon=True).start()
        finally:
            threading.stack_size(size)

    def _watch(self) -> None:
        step = min(0.02, self.timeout / 20)
        while True:
            time.sleep(step)
            with self.lock:
                ticket = self.current
                if ticket is None or time.monotonic() - self.started <= self.timeout:
                    continue
                self.stopped.add(id(ticket))
                self.current = None
            self._take_over(ticket)
            return

    def _take_over(self, ticket: Ticket) -> None:
        loop, engine = self.loop, self.engine
        assert loop is not None and engine is not None
        engine.release(ticket)
        owner = ticket.owner
        if owner is not None:
            loop.call_soon(owner.runaway, ticket)
        loop.call_soon(self.on_runaway)
        self.watch()
        task = asyncio.current_task(loop)
        if task is not None:  # stuck in a task (Starlette's /sparql): let others run
            asyncio.tasks._leave_task(loop, task)  # type: ignore[attr-defined]
        loop._thread_id = None  # type: ignore[attr-defined]
        try:
            loop.run_forever()
        finally:
            self.done.set()
