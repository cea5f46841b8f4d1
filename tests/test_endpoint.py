"""The endpoint's processes and threads (gfd_kg/web/runner.py, gfd_kg/web/server.py): a
runaway query costs nobody else their answer, and its process is replaced; a query nested as
deep as the size limit allows does not crash a process; the HTTP details (HEAD, pipelining,
100-continue, Connection: close) are the server library's and hold; the per-client counts the
processes share admit exactly what the limit allows."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import threading
import time
from urllib.parse import quote

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.server import CLIENT_LIMITS, served, workers_of

# -- over HTTP ---------------------------------------------------------------------------

RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
SIMPLE = "ASK { ?s ?p ?o }"
DATA = "".join(f"<urn:g> {{ <urn:s{n}> <urn:p> <urn:o{n % 7}> . }}\n" for n in range(120))


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    trig = tmp_path_factory.mktemp("endpoint") / "data.trig"
    trig.write_text(DATA, encoding="utf-8")
    return trig


@pytest.fixture(scope="module")
def serving(data):
    # bursts of twenty fresh clients at once: more than --max-waiting's default lets wait in
    # one worker (16) may land on the same worker
    with served(str(data), "--timeout", "2", "--workers", "2",
                "--max-waiting", "64") as (base, process):
        yield base, process


@pytest.fixture(scope="module")
def server(serving):
    return serving[0]


def _runaway(base: str, client: int = 99) -> httpx.Response:
    with _client(client, base) as c:
        return c.get("/sparql", params={"query": RUNAWAY})


def _ask(base: str, client: int) -> int | str:
    """A fresh connection from its own address asks a simple query: the status, or the
    error that took its answer."""
    try:
        with _client(client, base) as c:
            return c.get("/sparql", params={"query": SIMPLE}).status_code
    except httpx.HTTPError as e:
        return repr(e)


def _at_once(calls: list) -> list:
    """Run the calls in threads, all at once; their results in order."""
    results: list = [None] * len(calls)

    def run(n: int) -> None:
        results[n] = calls[n]()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def _client(n: int, base: str) -> httpx.Client:
    return httpx.Client(limits=CLIENT_LIMITS, base_url=base, timeout=30,
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


def test_clients_that_connect_as_a_worker_retires_are_all_answered(server):
    """Right after a runaway query's 503 its worker retires: sixteen fresh connections
    opened at that moment, five times over, each get their answer (a worker that closes
    connections it has not read yet would drop some)."""
    for _ in range(5):
        r = _runaway(server)
        assert r.status_code == 503 and "stopped after 2 s" in r.text
        assert _at_once([lambda n=n: _ask(server, 20 + n) for n in range(16)]) == [200] * 16


def test_a_retired_worker_is_replaced(serving):
    """The retired worker exits and the process manager forks its replacement: the same
    number of workers, one of them new, every one answering."""
    base, process = serving
    before = workers_of(process)
    assert len(before) == 2
    assert _runaway(base).status_code == 503
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        now = workers_of(process)
        if len(now) == 2 and now != before:
            break
        time.sleep(0.05)  # polling interval, not a wait for readiness
    assert len(now) == 2 and set(now) != set(before), (before, now)
    assert _at_once([lambda n=n: _ask(base, 40 + n) for n in range(20)]) == [200] * 20


def test_the_per_client_limit_holds_across_the_workers(data):
    """--max-per-client 2 with two workers: of four runaway queries sent at once from one
    client, whichever workers their connections land on, two run (503 at the limit) and two
    are refused at once (429); another client is answered meanwhile. Counted in each worker
    alone, a client whose connections land on both would run up to four."""
    with served(str(data), "--timeout", "2", "--workers", "2",
                "--max-per-client", "2") as (base, _process):
        calls = [lambda: _runaway(base, client=5) for _ in range(4)]
        calls.append(lambda: (time.sleep(0.5), _ask(base, 6))[1])
        results = _at_once(calls)
        assert sorted(r.status_code for r in results[:4]) == [429, 429, 503, 503]
        assert results[4] == 200
        assert all("too many queries at once from one client" in r.text
                   for r in results[:4] if r.status_code == 429)


def test_a_killed_worker_is_replaced_and_its_client_counts_cleared(data):
    """--max-per-client 1: a client's query is running when every worker is killed; the
    process manager forks new workers, and the client may ask again (its count went with
    the worker that held it)."""
    with served(str(data), "--timeout", "60", "--workers", "2",
                "--max-per-client", "1") as (base, process):
        before = workers_of(process)
        t = threading.Thread()
        deadline = time.monotonic() + 20
        while True:  # until the runaway query holds the client's one place
            if not t.is_alive():  # (not yet started, or refused: a probe held the place)
                t = threading.Thread(target=lambda: _ask_runaway_ignoring_the_drop(base))
                t.start()
            if _ask(base, 7) == 429 and t.is_alive():
                break
            assert time.monotonic() < deadline
            time.sleep(0.05)  # polling interval, not a wait for readiness
        for pid in before:
            os.kill(pid, signal.SIGKILL)
        t.join(timeout=30)
        deadline = time.monotonic() + 10
        while len(set(workers_of(process)) - set(before)) < 2:
            assert time.monotonic() < deadline, workers_of(process)
            time.sleep(0.05)  # polling interval, not a wait for readiness
        assert _ask(base, 7) == 200


def _ask_runaway_ignoring_the_drop(base: str) -> None:
    with contextlib.suppress(httpx.HTTPError):
        _runaway(base, client=7)


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


def test_head_pipelining_continue_and_close(server):
    ask = quote("ASK {}")
    head = f"HEAD /sparql?query={ask} HTTP/1.1\r\nHost: x\r\nAccept: text/csv\r\n\r\n".encode()
    get = f"GET /sparql?query={ask} HTTP/1.1\r\nHost: x\r\nAccept: text/csv\r\n\r\n".encode()
    page = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
    post = (b"POST /sparql HTTP/1.1\r\nHost: x\r\nAccept: text/csv\r\nExpect: 100-continue\r\n"
            b"Content-Type: application/sparql-query\r\nContent-Length: 6\r\n"
            b"Connection: close\r\n\r\nASK {}")
    out = _exchange(server, head + get + page + get + post)
    # a 100 Continue may be left out: the body came with the request (RFC 9110, 10.1.1)
    statuses = [s for s in re.findall(rb"HTTP/1\.1 \d+ [A-Za-z ]+\r\n", out)
                if s != b"HTTP/1.1 100 Continue\r\n"]
    assert statuses == [b"HTTP/1.1 200 OK\r\n"] * 5
    first, rest = out.split(b"\r\n\r\n", 1)  # HEAD: the length of what GET gives, no body
    assert b"content-length: 18" in first.lower() and rest.startswith(b"HTTP/1.1 200")
    assert out.count(b"_askResult\r\ntrue\r\n") == 3 and b'"status": "ok"' in out
    assert out.lower().count(b"connection: close") == 1  # and the server closed it after


# -- the per-client counts the server processes share ------------------------------------

_COUNT_OPS = st.lists(st.tuples(
    st.sampled_from(["enter", "leave", "clear"]),
    st.integers(0, 2),     # the process's row
    st.integers(0, 1),     # the client's slot
    st.integers(1, 3)),    # the limit asked
    max_size=40)


@settings(max_examples=300, deadline=None)
@given(_COUNT_OPS)
def test_client_counts_admit_exactly_what_the_sum_of_the_rows_allows(ops):
    """Whatever the processes (rows) do, including one whose row the process manager clears, a
    client is admitted only while its count over all rows is under the limit."""
    import multiprocessing as mp

    from gfd_kg.web.runner import ClientCounts

    counts = ClientCounts(rows=3, ctx=mp.get_context("fork"))
    model: dict[str, dict[tuple[int, int], int]] = {"in": {}}
    take = {"enter": ("in", counts.enter)}
    give = {"leave": ("in", counts.leave)}
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


def test_a_body_nobody_reads_does_not_cost_the_answer(server):
    """A HEAD or GET of a page with a form body (the fuzzer's find): the server reads the
    body the app left, answers each request on one kept-alive connection, and keeps it."""
    body = ("query=" + "+" * 60_000 + "ASK%7B%7D").encode()
    host, port = server.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as s:
        for method in (b"HEAD", b"GET", b"HEAD"):
            s.sendall(method + b" /health HTTP/1.1\r\nHost: x\r\nContent-Length: "
                      + str(len(body)).encode() + b"\r\n\r\n" + body)
            head = b""
            while b"\r\n\r\n" not in head:
                head += s.recv(1)
            assert head.startswith(b"HTTP/1.1 200"), head
            assert b"connection: close" not in head.lower(), head
            length = int(re.search(rb"content-length: (\d+)", head, re.I).group(1))
            if method == b"GET":
                got = b""
                while len(got) < length:
                    got += s.recv(length - len(got))


def test_a_thread_lost_to_a_runaway_is_replaced_at_once():
    """One query thread, held past its limit by a call that never returns in time: the next
    call runs at once on its replacement, and the lost thread ends when its call does."""
    import asyncio

    from gfd_kg.web.runner import QueryThreads, Stuck

    release = threading.Event()

    async def scenario() -> tuple[bool, str, float]:
        threads = QueryThreads(1)
        try:
            await threads.run(lambda: release.wait(30), 0.2)
        except Stuck as e:
            started = e.started
        t = time.monotonic()
        answer = await threads.run(lambda: "next", 5.0)
        return started, answer, time.monotonic() - t

    started, answer, took = asyncio.run(scenario())
    release.set()
    assert started and answer == "next"
    assert took < 4.0  # it did not wait for the lost thread (which waits up to 30 s)
