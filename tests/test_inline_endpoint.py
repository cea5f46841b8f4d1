"""The endpoint's fast path (gfd_kg/protocol.py): queries answered inline in the server
processes must keep every guarantee of the worker processes they replaced. The shortcuts
agree with what they skip (the query-string decoding with urllib's, the plain-request
reader with h11); a runaway query costs nobody else their answer; a query nested as deep
as the size limit allows does not crash a process; the HTTP details (HEAD, pipelining,
100-continue, Connection: close) hold on the fast path too."""

from __future__ import annotations

import re
import socket
import threading
import time
from urllib.parse import parse_qs, quote

import h11
import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gfd_kg.protocol import _simple_request
from gfd_kg.serve import parse_query_string
from tests.server import running_server

LIMIT = 64 * 1024

# -- the shortcuts agree with what they skip ---------------------------------------------

query_bytes = st.lists(st.one_of(
    st.sampled_from([b"%", b"+", b"&", b"=", b"\\", b"%2", b"%41", b"%e9", b"%C3%A9", b"%zz",
                     b"%5C", b"%u0041", b"\\x41", b"query", b"%F0%9F%8E%89", b"\xe9", b"%"]),
    st.binary(max_size=4),
    st.text(alphabet="abcXYZ019 {}?<>:/#-_.~", max_size=6).map(str.encode)), max_size=12
).map(b"".join)


@settings(max_examples=600, deadline=None)
@given(raw=query_bytes)
def test_the_query_string_is_read_as_urllib_reads_it(raw):
    assert parse_query_string(raw) == parse_qs(raw.decode("latin-1"), keep_blank_values=True)


def _h11_reads(data: bytes) -> tuple[bytes, bytes, list[tuple[bytes, bytes]], bytes] | None:
    """What h11 makes of ``data`` as one request: method, target, headers, body."""
    conn = h11.Connection(h11.SERVER, max_incomplete_event_size=LIMIT)
    conn.receive_data(data)
    try:
        request = conn.next_event()
        body = b""
        while True:
            event = conn.next_event()
            if isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                break
            else:
                return None
    except h11.RemoteProtocolError:
        return None
    if not isinstance(request, h11.Request) or conn.trailing_data[0]:
        return None
    return request.method, request.target, [tuple(h) for h in request.headers], body


head_line = st.one_of(
    st.sampled_from(["Host: x", "host:x", "Accept: */*", "Accept: text/csv;q=0.5, */*",
                     "Origin: https://example.org", "Connection: close", "Connection: keep-alive",
                     "Content-Type: application/sparql-query", "Content-Length: 7",
                     "Content-Length: 07", "Content-Length: 7, 7", "Transfer-Encoding: chunked",
                     "Expect: 100-continue", "Upgrade: websocket", "X-Empty:", "X-Tab:\tv\t",
                     " folded", "Bad Name: x", "X: caf\u00e9", "X: a\rb", "Host: y"]),
    st.text(alphabet="Xx-: \t\x7f\x01ab", max_size=8))


@settings(max_examples=800, deadline=None)
@given(method=st.sampled_from(["GET", "HEAD", "POST", "PUT", "get"]),
       target=st.sampled_from(["/sparql", "/sparql/", "/sparql?query=ASK%7B%7D", "/sparql?",
                               "/sparql?q=\u00e9", "/%73parql", "/sparqlx", "http://x/sparql",
                               "/sparql?a b", "/sparql#f"]),
       version=st.sampled_from(["HTTP/1.1", "HTTP/1.0", "HTTP/1.1 "]),
       headers=st.lists(head_line, max_size=5),
       body=st.sampled_from([b"", b"ASK {}\n", b"ASK {}"]),
       eol=st.sampled_from(["\r\n", "\r\n", "\n"]))
def test_a_request_read_without_h11_is_read_as_h11_reads_it(method, target, version, headers,
                                                             body, eol):
    data = (f"{method} {target} {version}{eol}" + "".join(h + eol for h in headers) + eol
            ).encode("utf-8") + body
    simple = _simple_request(data, LIMIT)
    if simple is None:
        return  # h11 reads it, whatever it is
    assert _h11_reads(data) == (simple.method, simple.target, simple.headers, simple.body)


@pytest.mark.parametrize("data", [
    b"GET /sparql HTTP/1.1\r\n\r\n",  # no Host
    b"GET /sparql HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    b"GET /sparql HTTP/1.0\r\nHost: a\r\n\r\n",
    b"GET /sparql HTTP/1.1\nHost: a\n\n",
    b"GET /sparql HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",
    b"POST /sparql HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    b"POST /sparql HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
    b"POST /sparql HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nabc",  # not all there
    b"GET /sparql HTTP/1.1\r\nHost: a\r\n\r\nGET /sparql HTTP/1.1\r\nHost: a\r\n\r\n",  # two
    b"GET /sparql HTTP/1.1\r\nHost: a\r\nX: \xe9\r\n\r\n",
    b"GET /%73parql HTTP/1.1\r\nHost: a\r\n\r\n",
])
def test_anything_but_the_plainest_request_is_left_to_h11(data):
    assert _simple_request(data, LIMIT) is None


# -- over HTTP ---------------------------------------------------------------------------

RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
SIMPLE = "ASK { ?s ?p ?o }"
DATA = "".join(f"<urn:g> {{ <urn:s{n}> <urn:p> <urn:o{n % 7}> . }}\n" for n in range(120))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    trig = tmp_path_factory.mktemp("inline") / "data.trig"
    trig.write_text(DATA, encoding="utf-8")
    with running_server(str(trig), "--timeout", "2", "--workers", "2") as base:
        yield base


def _client(n: int, base: str) -> httpx.Client:
    return httpx.Client(base_url=base, timeout=30,
                        transport=httpx.HTTPTransport(local_address=f"127.0.0.{10 + n}"))


def test_a_runaway_query_costs_other_clients_nothing(server):
    """Clients with kept-alive connections (on either process) ask while a runaway query
    runs and after it was stopped: every one of them gets its answer."""
    clients = [_client(n, server) for n in range(6)]
    try:
        for c in clients:  # open the connections before the runaway
            assert c.get("/sparql", params={"query": SIMPLE}).json()["boolean"] is True
        outcome: dict[str, httpx.Response] = {}
        t = threading.Thread(target=lambda: outcome.update(
            r=_client(99, server).get("/sparql", params={"query": RUNAWAY})))
        t.start()
        time.sleep(0.3)  # let the runaway query reach a process (not a readiness wait)
        answers = []

        def ask(c: httpx.Client) -> None:
            r = c.get("/sparql", params={"query": SIMPLE}, headers={"Accept": "text/csv"})
            answers.append((r.status_code, r.text))

        askers = [threading.Thread(target=ask, args=(c,)) for c in clients]
        for a in askers:
            a.start()
        for a in askers:
            a.join(timeout=30)
        t.join(timeout=30)
        assert outcome["r"].status_code == 503 and "stopped after 2 s" in outcome["r"].text
        assert answers == [(200, "_askResult\r\ntrue\r\n")] * len(clients)
        for c in clients:  # and after it, on the same clients (reconnecting if drained)
            assert c.get("/sparql", params={"query": SIMPLE}).json()["boolean"] is True
    finally:
        for c in clients:
            c.close()


def test_a_query_nested_as_deep_as_the_size_limit_allows_is_answered(server):
    depth = 24_000  # 96 kB of braces: far past what an 8 MB thread stack survives
    query = "SELECT ?s WHERE { " + "{ " * depth + "?s ?p ?o " + "} " * depth + "} LIMIT 1"
    with _client(1, server) as c:
        r = c.post("/sparql", content=query, headers={"Content-Type": "application/sparql-query",
                                                       "Accept": "text/csv"})
        assert r.status_code == 200 and r.text.startswith("s\r\nurn:s")
        assert c.get("/health").json()["status"] == "ok"


def _exchange(base: str, data: bytes) -> bytes:
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as s:
        s.sendall(data)
        out = b""
        while chunk := s.recv(65536):
            out += chunk
    return out


def test_head_pipelining_continue_and_close_on_the_fast_path(server):
    ask = quote("ASK {}")
    head = f"HEAD /sparql?query={ask} HTTP/1.1\r\nHost: x\r\nAccept: text/csv\r\n\r\n".encode()
    get = f"GET /sparql?query={ask} HTTP/1.1\r\nHost: x\r\nAccept: text/csv\r\n\r\n".encode()
    page = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
    post = (b"POST /sparql HTTP/1.1\r\nHost: x\r\nAccept: text/csv\r\nExpect: 100-continue\r\n"
            b"Content-Type: application/sparql-query\r\nContent-Length: 6\r\n"
            b"Connection: close\r\n\r\nASK {}")
    out = _exchange(server, head + get + page + get + post)
    statuses = re.findall(rb"HTTP/1\.1 \d+ [A-Za-z ]+\r\n", out)
    assert statuses == [b"HTTP/1.1 200 OK\r\n"] * 4 + [b"HTTP/1.1 100 Continue\r\n",
                                                       b"HTTP/1.1 200 OK\r\n"]
    first, rest = out.split(b"\r\n\r\n", 1)  # HEAD: the length of what GET gives, no body
    assert b"content-length: 18" in first.lower() and rest.startswith(b"HTTP/1.1 200")
    assert out.count(b"_askResult\r\ntrue\r\n") == 3 and b'"status": "ok"' in out
    assert out.lower().count(b"connection: close") == 1  # and the server closed it after


# -- the per-client counts the server processes share ------------------------------------

_COUNT_OPS = st.lists(st.tuples(
    st.sampled_from(["enter", "leave", "start", "stop", "clear"]),
    st.integers(0, 2),     # the process's row
    st.integers(0, 1),     # the client's slot
    st.integers(1, 3)),    # the limit asked
    max_size=40)


@settings(max_examples=300, deadline=None)
@given(_COUNT_OPS)
def test_client_counts_admit_exactly_what_the_sum_of_the_rows_allows(ops):
    """Whatever the processes (rows) do, including one whose row the supervisor clears, a
    client is admitted only while its count over all rows is under the limit."""
    import multiprocessing as mp

    from gfd_kg.store import ClientCounts

    counts = ClientCounts(rows=3, ctx=mp.get_context("fork"))
    model: dict[str, dict[tuple[int, int], int]] = {"in": {}, "run": {}}
    take = {"enter": ("in", counts.enter), "start": ("run", counts.start)}
    give = {"leave": ("in", counts.leave), "stop": ("run", counts.stop)}
    for op, row, slot, limit in ops:
        counts.row = row
        if op == "clear":
            counts.clear_row(row)
            for kind in model.values():
                for key in [k for k in kind if k[0] == row]:
                    del kind[key]
        elif op in take:
            kind, call = take[op]
            total = sum(n for (_, s), n in model[kind].items() if s == slot)
            assert call(slot, limit) is (total < limit)
            if total < limit:
                model[kind][row, slot] = model[kind].get((row, slot), 0) + 1
        elif model[give[op][0]].get((row, slot), 0) > 0:  # only what this row took
            kind, call = give[op]
            call(slot)
            model[kind][row, slot] -= 1
