"""The bare pyoxigraph server: a reference for benchmarks/endpoint.py, not a server to run.

    python benchmarks/bare_server.py --dist DIR --port PORT [--workers 2]

It serves DIR's dataset files (loaded as `gfd-kg serve` loads them, into one in-memory
pyoxigraph store) with as little Python as can answer a SPARQL GET: processes forked after
the load, one asyncio loop each on the shared listening socket, `GET /query?query=...`
answered with SPARQL JSON results (the default graph is the union of the graphs), any other
request with 404. It has no limits, no cache, no content negotiation and no checks of the
HTTP it reads; it takes a request to be whole when its head is. It reads the query string
with urllib's parser, as Starlette does for `gfd-kg serve`. So it shows the least a Python
server over the same store costs per request, and how much of what `gfd-kg serve` costs
beyond that is its own. `GET /` answers 200 once the store is loaded."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import sys
from pathlib import Path
from urllib.parse import parse_qs

import pyoxigraph as ox

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as `python benchmarks/bare_server.py` from anywhere
    sys.path.insert(0, str(ROOT))

from gfd_kg.publish import dataset_files  # noqa: E402
from gfd_kg.web.store import load_store  # noqa: E402

JSON = ox.QueryResultsFormat.JSON


def response(status: bytes, media: bytes, body: bytes) -> bytes:
    return b"HTTP/1.1 %s\r\ncontent-type: %s\r\ncontent-length: %d\r\n\r\n%s" % (
        status, media, len(body), body)


def answer(store: ox.Store, head: bytes) -> bytes:
    """The response to one request head."""
    target = head.split(b" ", 2)[1]
    path, _, query_string = target.partition(b"?")
    if path == b"/":
        return response(b"200 OK", b"text/plain", b"ok\n")
    if path != b"/query":
        return response(b"404 Not Found", b"text/plain", b"not found\n")
    query = parse_qs(query_string.decode("latin-1")).get("query", [""])[0]
    try:
        result = store.query(query, use_default_graph_as_union=True)
        if isinstance(result, ox.QuerySolutions):
            body = result.serialize(format=JSON) or b""
        elif isinstance(result, ox.QueryBoolean):
            body = b'{"head": {}, "boolean": %s}' % (b"true" if result else b"false")
        else:
            raise ValueError("the bare server answers SELECT and ASK queries only")
    except (SyntaxError, ValueError, OSError) as e:
        return response(b"400 Bad Request", b"text/plain", str(e).encode("utf-8"))
    return response(b"200 OK", b"application/sparql-results+json", body)


class Bare(asyncio.Protocol):
    store: ox.Store

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.held = b""

    def data_received(self, data: bytes) -> None:
        self.held += data
        while (end := self.held.find(b"\r\n\r\n")) >= 0:
            head, self.held = self.held[:end], self.held[end + 4:]
            self.transport.write(answer(self.store, head))


def serve(sock: socket.socket) -> None:
    loop = asyncio.new_event_loop()
    loop.run_until_complete(loop.create_server(Bare, sock=sock))
    loop.run_forever()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dist", type=Path, required=True, help="The build folder to serve.")
    ap.add_argument("--port", type=int, required=True, help="The port, on 127.0.0.1.")
    ap.add_argument("--workers", type=int, default=2, help="Server processes. Default: 2")
    args = ap.parse_args(argv)
    Bare.store = load_store(dataset_files(args.dist), None)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    sock.listen(1024)
    sock.setblocking(False)
    children = []
    for _ in range(args.workers):
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            serve(sock)
            os._exit(0)
        children.append(pid)

    def stop(signum: int, frame: object) -> None:
        for pid in children:  # the benchmark stops the whole session; a TERM to this
            os.kill(pid, signal.SIGTERM)  # process alone stops the rest too

    signal.signal(signal.SIGTERM, stop)
    for _ in children:
        os.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
