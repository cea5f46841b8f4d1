"""Endpoint benchmark: the SPARQL endpoint of `gfd-kg serve` side by side with the Oxigraph
server and rdflib-endpoint over the same build, in one run, on 127.0.0.1 only. The Oxigraph
server runs twice: read-only on the on-disk store `oxigraph load` makes ("oxigraph"), and in
memory, loaded over its Graph Store endpoint ("oxigraph (memory)"), the like of `gfd-kg
serve`'s default store. A third reference, "bare pyoxigraph" (benchmarks/bare_server.py),
is the least a Python server over the same in-memory store can do per request: what
`gfd-kg serve` costs beyond it is its own, what it costs beyond the Oxigraph server is not.

    python benchmarks/endpoint.py --dist DIR [--seconds 3] [--connections 8]
                                  [--warmup 1] [--join-warmup 6] [--no-rdflib]
                                  [--out benchmarks/results/endpoint.json]

For every competency query (queries/*.rq, with its tests/query-answers/*.bind values; on a
synthetic corpus a value that names a resource of the real seminar names its copy in
synthetic seminar 1 instead, so the query finds what a user would ask it for) and for a
two-hop join (benchmarks/join.rq: a talk, its speakers, their organisations; a
different talk each request), on each server: a warm-up, then p50 / p99 latency with one
connection and throughput with N connections, each for a fixed time. Every server's answer
is checked first (the same number of rows), so nobody wins by erroring.

`gfd-kg serve` is measured twice: "uncached", every request a distinct query text (a
trailing comment with a counter, or another talk), which the answer cache cannot serve;
and "cached", the same text again and again. The references have no answer cache: they
get the distinct texts. rdflib-endpoint runs only the join (it is slow).

One load generator for all servers (asyncio, keep-alive, raw HTTP/1.1), so ratios are
fair; it shares the machine's cores with the servers, so each run also reports the CPU
time per request of the server's processes and of the load generator: where the cores
went. Each connection comes from its own loopback address (127.0.0.2, .3, ...): N
connections are N clients, as on a public endpoint, so gfd-kg's per-client limits apply to
each as they would. The join's runs come after a warm-up at full load (--join-warmup): a
server forked after its load (gfd-kg's, the bare one) settles only once its processes
have copied the pages of the store they write to. A script, not a test."""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as `python benchmarks/endpoint.py` from anywhere
    sys.path.insert(0, str(ROOT))

from gfd_kg.publish import dataset_files  # noqa: E402
from gfd_kg.query import load_query, parse_bindings, with_bindings  # noqa: E402
from tests.server import free_port, wait_until_up  # noqa: E402

QUERIES = ROOT / "queries"
ANSWERS = ROOT / "tests" / "query-answers"
JOIN = Path(__file__).resolve().parent / "join.rq"
BIN = Path(sys.executable).parent
JSON_RESULTS = "application/sparql-results+json"
# every connection is a client of its own (see _connection); two server processes on two
# cores; let whole answers through, and the slow queries run to the end
SERVE_OPTIONS = ("--workers", "2", "--max-waiting", "64", "--max-rows", "10000000",
                 "--timeout", "120")
# where each server answers queries (rdflib-endpoint's CLI serves its endpoint at "/")
ENDPOINTS = {"gfd-kg": "/sparql", "oxigraph": "/query", "oxigraph-memory": "/query",
             "bare-pyoxigraph": "/query", "rdflib-endpoint": "/"}
# what the Oxigraph server's /store is sent each dataset file as
STORE_TYPES = {".trig": "application/trig", ".nq": "application/n-quads",
               ".ttl": "text/turtle", ".nt": "application/n-triples"}
# the references: the Oxigraph server on its on-disk store, read-only, and in memory; the
# bare pyoxigraph server in memory
REFERENCES = {"oxigraph": "oxigraph", "oxigraph-memory": "oxigraph (memory)",
              "bare-pyoxigraph": "bare pyoxigraph"}
REQUEST_NUMBERS = itertools.count()  # for every request of the run: distinct texts stay distinct
TALKS = ("PREFIX gfdo: <https://w3id.org/gfd-kg/ontology/>\n"
         "SELECT DISTINCT ?talk WHERE { ?talk a gfdo:Talk } ORDER BY ?talk")


# -- the servers ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Server:
    name: str
    host: str
    port: int
    path: str  # of the query endpoint
    session: int = 0  # the session its processes run in (0: unknown), for their CPU time

    def url(self, query: str) -> str:
        return f"http://{self.host}:{self.port}{self.path}?query={quote(query, safe='')}"


def _spawn(cmd: list[str], log: Path) -> subprocess.Popen:
    """A server process in its own session, its output to a file (never an unread pipe)."""
    out = log.open("wb")
    return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT,
                            start_new_session=True)


def _stop(process: subprocess.Popen) -> None:
    """TERM the process's session, KILL it if it lingers."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=15)
        except ProcessLookupError:
            pass


@contextmanager
def _running(stack: ExitStack, name: str, cmd: list[str], port: int, health: str,
             work: Path, deadline: float) -> Iterator[Server]:
    process = _spawn(cmd, work / f"{name}.log")
    stack.callback(_stop, process)
    process.log_path = str(work / f"{name}.log")  # type: ignore[attr-defined]
    wait_until_up(f"http://127.0.0.1:{port}{health}", process, deadline)
    yield Server(name, "127.0.0.1", port, ENDPOINTS[name], process.pid)


def _load_over_http(server: Server, files: list[str]) -> None:
    """POST each file to the Oxigraph server's Graph Store endpoint (quads keep their
    graphs, triples go to the default graph)."""
    for name in files:
        request = urllib.request.Request(
            f"http://{server.host}:{server.port}/store", data=Path(name).read_bytes(),
            headers={"Content-Type": STORE_TYPES[Path(name).suffix]}, method="POST")
        with urllib.request.urlopen(request, timeout=3600) as response:
            if response.status not in (200, 201, 204):
                raise RuntimeError(f"{name}: the Oxigraph server answered {response.status}")


def start_servers(stack: ExitStack, dist: Path, work: Path, rdflib: bool) -> dict[str, Server]:
    """`gfd-kg serve`, `oxigraph serve-read-only` (on its on-disk store), `oxigraph serve`
    (in memory, loaded over HTTP), the bare pyoxigraph server and (if asked) `rdflib-endpoint
    serve` over DIST's dataset files, each on a free loopback port; ``stack`` stops them."""
    files = [str(p) for p in dataset_files(dist)]
    servers: dict[str, Server] = {}
    port = free_port()
    # this tree's gfd_kg (``-m`` from ROOT), not whatever an installed script points at
    cmd = [sys.executable, "-m", "gfd_kg", "serve", "--host", "127.0.0.1", "--port", str(port),
           "--out", str(dist), *SERVE_OPTIONS]
    servers["gfd-kg"] = stack.enter_context(_running(stack, "gfd-kg", cmd, port, "/health",
                                                     work, 1800))
    location = work / "oxigraph-store"
    subprocess.run([str(BIN / "oxigraph"), "load", "--location", str(location), "--file",
                    *files], check=True, capture_output=True, timeout=3600)
    port = free_port()
    cmd = [str(BIN / "oxigraph"), "serve-read-only", "--location", str(location), "--bind",
           f"127.0.0.1:{port}", "--union-default-graph"]
    servers["oxigraph"] = stack.enter_context(_running(stack, "oxigraph", cmd, port, "/",
                                                       work, 120))
    port = free_port()
    cmd = [str(BIN / "oxigraph"), "serve", "--bind", f"127.0.0.1:{port}",
           "--union-default-graph"]  # no --location: in memory
    servers["oxigraph-memory"] = stack.enter_context(
        _running(stack, "oxigraph-memory", cmd, port, "/", work, 120))
    _load_over_http(servers["oxigraph-memory"], files)
    port = free_port()
    cmd = [sys.executable, str(ROOT / "benchmarks" / "bare_server.py"), "--dist", str(dist),
           "--port", str(port), "--workers", "2"]
    servers["bare-pyoxigraph"] = stack.enter_context(
        _running(stack, "bare-pyoxigraph", cmd, port, "/", work, 1800))
    if rdflib:
        port = free_port()
        cmd = [str(BIN / "rdflib-endpoint"), "serve", *files, "--host", "127.0.0.1",
               "--port", str(port)]
        servers["rdflib-endpoint"] = stack.enter_context(
            _running(stack, "rdflib-endpoint", cmd, port, "/?query=ASK%7B%7D", work, 3600))
    return servers


# -- the load generator --------------------------------------------------------------------

def request_bytes(server: Server, query: str) -> bytes:
    """A keep-alive GET of the query, asking for SPARQL JSON results."""
    target = server.url(query).split(str(server.port), 1)[1]
    return (f"GET {target} HTTP/1.1\r\nHost: {server.host}:{server.port}\r\n"
            f"Accept: {JSON_RESULTS}\r\n\r\n").encode("ascii")


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """Status, body and whether the server keeps the connection; Content-Length or chunked."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip().lower()
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding") == "chunked":
        parts = []
        while True:
            size = int((await reader.readline()).split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                break
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)
        body = b"".join(parts)
    else:
        body = await reader.read()
    return status, body, headers.get("connection") != "close"


@dataclass
class Tally:
    latencies: list[float]
    errors: int = 0
    first_error: str = ""


async def _connection(server: Server, make: Callable[[int], bytes], counter: Iterator[int],
                      deadline: float, tally: Tally, client: int = 0) -> None:
    """One client (from 127.0.0.``client + 2``) sending its requests one after another."""
    local = (f"127.0.0.{2 + client % 250}", 0)
    reader, writer = await asyncio.open_connection(server.host, server.port, local_addr=local)
    try:
        while time.perf_counter() < deadline:
            request = make(next(counter))
            start = time.perf_counter()
            writer.write(request)
            status, body, keep = await _read_response(reader)
            tally.latencies.append(time.perf_counter() - start)
            if status != 200:
                tally.errors += 1
                tally.first_error = tally.first_error or f"{status}: {body[:200]!r}"
            if not keep:
                writer.close()
                reader, writer = await asyncio.open_connection(server.host, server.port,
                                                               local_addr=local)
    finally:
        writer.close()


def session_cpu_seconds(session: int) -> float:
    """The CPU time (user and system) of the live processes of a session, from /proc."""
    total = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            fields = Path(entry.path, "stat").read_text().rpartition(")")[2].split()
        except OSError:  # gone meanwhile
            continue
        if int(fields[3]) == session:
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def percentile(ordered: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) of sorted values."""
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def run_load(server: Server, make: Callable[[int], bytes], seconds: float,
             connections: int) -> dict[str, float]:
    """``connections`` keep-alive connections, each sending the next request as soon as
    the last is answered, for ``seconds``; requests started before the end are finished.
    Request numbers run on across runs, so no text of a warm-up comes again. With the
    server's session known, also the CPU time per request of the server's processes and
    of the load generator (this process), which share the machine's cores."""
    counter = REQUEST_NUMBERS
    tally = Tally([])

    async def main() -> float:
        start = time.perf_counter()
        await asyncio.gather(*(_connection(server, make, counter, start + seconds, tally, n)
                               for n in range(connections)))
        return time.perf_counter() - start

    server_cpu = session_cpu_seconds(server.session) if server.session else 0.0
    client_cpu = time.process_time()
    wall = asyncio.run(main())
    client_cpu = time.process_time() - client_cpu
    ordered = sorted(tally.latencies)
    out = {"requests": len(ordered), "errors": tally.errors, "first_error": tally.first_error,
           "seconds": round(wall, 3), "throughput": round(len(ordered) / wall, 1),
           "p50_ms": round(percentile(ordered, 50) * 1000, 3),
           "p99_ms": round(percentile(ordered, 99) * 1000, 3)}
    if server.session and ordered:
        server_cpu = session_cpu_seconds(server.session) - server_cpu
        out["server_cpu_us_per_request"] = round(server_cpu / len(ordered) * 1e6, 1)
        out["client_cpu_us_per_request"] = round(client_cpu / len(ordered) * 1e6, 1)
    return out


def answer_of(server: Server, query: str) -> dict:
    """The server's JSON answer to one query, on a connection of its own (an error
    raises)."""

    async def one() -> tuple[int, bytes, bool]:
        reader, writer = await asyncio.open_connection(server.host, server.port)
        try:
            writer.write(request_bytes(server, query))
            return await _read_response(reader)
        finally:
            writer.close()

    status, body, _ = asyncio.run(one())
    if status != 200:
        raise RuntimeError(f"{server.name} answered {status}: {body[:300]!r}")
    return json.loads(body)


def rows_of(server: Server, query: str) -> int:
    """The number of rows of the server's answer (an error raises)."""
    doc = answer_of(server, query)
    return 1 if "boolean" in doc else len(doc["results"]["bindings"])


# -- what is asked ---------------------------------------------------------------------------

def competency_queries() -> dict[str, tuple[str, list[str]]]:
    """Every queries/*.rq with the parameter values (name=value) of its expected answer."""
    out = {}
    for path in sorted(QUERIES.glob("*.rq")):
        bind = ANSWERS / f"{path.stem}.bind"
        pairs = bind.read_text(encoding="utf-8").split() if bind.exists() else []
        out[path.stem] = (load_query(path).text, pairs)
    return out


def _described(server: Server, iri: str) -> bool:
    return bool(answer_of(server, f"ASK {{ <{iri}> ?p ?o }}")["boolean"])


def in_the_data(server: Server, pairs: list[str]) -> list[str]:
    """The parameters, each IRI replaced by its copy in synthetic seminar 1 when the data
    does not describe the IRI itself but describes the copy (gfd_kg/synth.py names the copy
    of ``person/khedija-zammouri`` ``person/s0001-khedija-zammouri``): on a synthetic
    corpus the query then measures the answer a user would ask for, not an empty one."""
    out = []
    for pair in pairs:
        name, _, value = pair.partition("=")
        if value.startswith(("http://", "https://")) and not _described(server, value):
            folder, _, last = value.rpartition("/")
            copy = f"{folder}/s0001-{last}"
            if _described(server, copy):
                value = copy
        out.append(f"{name}={value}")
    return out


def distinct(server: Server, query: str) -> Callable[[int], bytes]:
    """Request n: the query with a trailing comment naming n, a text no cache has seen."""
    return lambda n: request_bytes(server, f"{query}\n# request {n}\n")


def same(server: Server, query: str) -> Callable[[int], bytes]:
    request = request_bytes(server, query)
    return lambda n: request


def join_for(talks: list[str]) -> Callable[[int], str]:
    """Request n: the join for the n-th talk (round the list), plus a counter comment. The
    talk is bound by a VALUES block at the start of the pattern, not after it: rdflib then
    joins from the one talk instead of from every talk (Oxigraph plans either the same)."""
    text = load_query(JOIN).text
    assert text.count("WHERE {") == 1, f"{JOIN}: one WHERE {{ expected"

    def make(n: int) -> str:
        talk = parse_bindings([f"talk={talks[n % len(talks)]}"])["talk"].n3()
        return text.replace("WHERE {", f"WHERE {{\n  VALUES ?talk {{ {talk} }}", 1) \
            + f"# request {n}\n"

    return make


def talks_of(server: Server) -> list[str]:
    return [b["talk"]["value"] for b in answer_of(server, TALKS)["results"]["bindings"]]


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 3) if b else None


# the ratios a report gives: (its name, the run over, the run under), by the runs' labels
P50_RATIOS = (("p50_ratio_uncached", "gfd-kg uncached", "oxigraph"),
              ("p50_ratio_cached", "gfd-kg cached", "oxigraph"),
              ("p50_ratio_uncached_vs_memory", "gfd-kg uncached", "oxigraph (memory)"),
              ("p50_ratio_uncached_vs_bare", "gfd-kg uncached", "bare pyoxigraph"),
              ("p50_ratio_bare_vs_memory", "bare pyoxigraph", "oxigraph (memory)"))
THROUGHPUT_RATIOS = (
    ("throughput_ratio_uncached_vs_oxigraph", "gfd-kg uncached", "oxigraph"),
    ("throughput_ratio_cached_vs_oxigraph", "gfd-kg cached", "oxigraph"),
    ("throughput_ratio_uncached_vs_oxigraph_memory", "gfd-kg uncached", "oxigraph (memory)"),
    ("throughput_ratio_uncached_vs_bare", "gfd-kg uncached", "bare pyoxigraph"),
    ("throughput_ratio_bare_vs_oxigraph_memory", "bare pyoxigraph", "oxigraph (memory)"),
    ("throughput_ratio_uncached_vs_rdflib_endpoint", "gfd-kg uncached", "rdflib-endpoint"))


def _ratios(values: dict[str, float], ratios: tuple[tuple[str, str, str], ...]
            ) -> dict[str, float | None]:
    """The ratios whose two runs were measured."""
    return {name: _ratio(values[over], values[under]) for name, over, under in ratios
            if over in values and under in values}


def measure_query(servers: dict[str, Server], name: str, text: str, seconds: float,
                  connections: int, warmup: float, slow: float = 2.0) -> dict:
    """One competency query on gfd-kg (uncached and cached) and the Oxigraph servers; not
    load-tested (only timed once on each) when the on-disk Oxigraph server takes more than
    ``slow`` seconds."""
    ours, oxi = servers["gfd-kg"], servers["oxigraph"]
    refs = {label: servers[key] for key, label in REFERENCES.items() if key in servers}
    once: dict[str, float] = {}
    rows: dict[str, int] = {}
    for s in (*refs.values(), ours):
        t = time.perf_counter()
        rows[s.name] = rows_of(s, text)
        once[s.name] = round(time.perf_counter() - t, 3)
    if len(set(rows.values())) != 1:
        raise RuntimeError(f"{name}: the servers give different numbers of rows: {rows}")
    if once[oxi.name] > slow:
        return {"rows": rows[oxi.name], "once_s": once,
                "skipped": f"Oxigraph answers in {once[oxi.name]:.1f} s (over {slow:g} s): "
                           "timed once, not load-tested"}
    runs: dict[str, dict] = {}
    for label, server, make in (("gfd-kg uncached", ours, distinct(ours, text)),
                                ("gfd-kg cached", ours, same(ours, text)),
                                *((label, s, distinct(s, text)) for label, s in refs.items())):
        run_load(server, make, warmup, 1)
        runs[label] = {"latency": run_load(server, make, seconds, 1),
                       "throughput": run_load(server, make, seconds, connections)}
    p50 = {label: r["latency"]["p50_ms"] for label, r in runs.items()}
    return {"rows": rows[ours.name], "runs": runs, **_ratios(p50, P50_RATIOS)}


def measure_join(servers: dict[str, Server], seconds: float, connections: int,
                 warmup: float) -> dict:
    """The two-hop join, a different talk each request, on every server; and on gfd-kg
    the same talk again and again (cached)."""
    ours, oxi = servers["gfd-kg"], servers["oxigraph"]
    talks = talks_of(oxi)
    text = join_for(talks)
    for server in servers.values():
        sample = [rows_of(server, text(n)) for n in range(3)]
        reference = [rows_of(oxi, text(n)) for n in range(3)]
        if sample != reference:
            raise RuntimeError(f"join: {server.name} gives {sample} rows, Oxigraph {reference}")
    plan = [("gfd-kg uncached", ours, lambda n: request_bytes(ours, text(n))),
            ("gfd-kg cached", ours, same(ours, text(0)))]
    plan += [(label, servers[key], lambda n, s=servers[key]: request_bytes(s, text(n)))
             for key, label in REFERENCES.items() if key in servers]
    if "rdflib-endpoint" in servers:
        rdf = servers["rdflib-endpoint"]
        plan.append(("rdflib-endpoint", rdf, lambda n: request_bytes(rdf, text(n))))
    runs: dict[str, dict] = {}
    for label, server, make in plan:
        # warmed at full load, for ``warmup`` seconds: a server forked after its load
        # (gfd-kg serve, the bare pyoxigraph server) copies each page of the store its
        # processes first write to (pyoxigraph's reference counts), so it settles only
        # once its processes have seen most talks (at 1,000 seminars, some seconds)
        run_load(server, make, warmup, connections)
        runs[label] = {"latency": run_load(server, make, seconds, 1),
                       "throughput": run_load(server, make, seconds, connections)}
    tp = {k: v["throughput"]["throughput"] for k, v in runs.items()}
    return {"talks": len(talks), "runs": runs, **_ratios(tp, THROUGHPUT_RATIOS)}


def measure(dist: Path, *, seconds: float = 3.0, connections: int = 8, warmup: float = 1.0,
            join_warmup: float = 6.0, rdflib: bool = True,
            only: list[str] | None = None) -> dict:
    """Start the servers on DIST, measure every competency query and the join, stop them
    (also on errors). ``only`` limits the competency queries to those names."""
    queries = competency_queries()
    if only:
        queries = {k: v for k, v in queries.items() if k in only}
    work = Path(tempfile.mkdtemp(prefix="gfd-kg-endpoint-bench-"))
    try:
        with ExitStack() as stack:
            t0 = time.perf_counter()
            servers = start_servers(stack, dist, work, rdflib)
            started = round(time.perf_counter() - t0, 1)
            results = {}
            for name, (text, pairs) in queries.items():
                pairs = in_the_data(servers["oxigraph"], pairs)
                text = with_bindings(text, parse_bindings(pairs))
                results[name] = measure_query(servers, name, text, seconds, connections, warmup)
                if pairs:
                    results[name]["parameters"] = pairs
                print(f"{name}: p50 ratio {results[name].get('p50_ratio_uncached')} uncached, "
                      f"{results[name].get('p50_ratio_cached')} cached "
                      f"{results[name].get('skipped', '')}", file=sys.stderr, flush=True)
            join = measure_join(servers, seconds, connections, join_warmup)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {"settings": {"dist": str(dist), "seconds": seconds, "connections": connections,
                         "warmup_s": warmup, "join_warmup_s": join_warmup,
                         "gfd_kg_serve_options": list(SERVE_OPTIONS),
                         "servers_started_in_s": started, "cpus": os.cpu_count(),
                         "python": sys.version.split()[0]},
            "queries": results, "join": join}


def table(report: dict) -> str:
    """The figures as a Markdown table: p50 latency, one connection; the ratios are
    gfd-kg's (a new query text each time) over each reference's."""
    refs = ("oxigraph", "oxigraph-memory", "bare-pyoxigraph")
    ratios = ("p50_ratio_uncached", "p50_ratio_uncached_vs_memory", "p50_ratio_uncached_vs_bare")
    lines = ["| query | rows | gfd-kg p50 ms (uncached) | gfd-kg p50 ms (cached) | "
             "oxigraph p50 ms | oxigraph (memory) p50 ms | bare pyoxigraph p50 ms | ratio | "
             "ratio to memory | ratio to bare |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for name, q in report["queries"].items():
        if "skipped" in q:
            once = q["once_s"]
            ours = once["gfd-kg"]
            times = [f"{once[k] * 1000:.0f} (once)" if k in once else "" for k in refs]
            shares = [f"{ours / once[k]:.2f}" if once.get(k) else "" for k in refs]
            lines.append(f"| {name} | {q['rows']} | {ours * 1000:.0f} (once) | | "
                         + " | ".join(times + shares) + " |")
            continue
        r = q["runs"]
        times = [str(r.get(REFERENCES[k], {}).get("latency", {}).get("p50_ms", "")) for k in refs]
        shares = [str(q.get(k, "")) for k in ratios]
        lines.append(f"| {name} | {q['rows']} | {r['gfd-kg uncached']['latency']['p50_ms']} | "
                     f"{r['gfd-kg cached']['latency']['p50_ms']} | "
                     + " | ".join(times + shares) + " |")
    lines += ["", "| join (a talk, its speakers, their organisations) | p50 ms | p99 ms | "
              f"req/s at {report['settings']['connections']} connections | server CPU us per "
              "request | load generator CPU us per request |",
              "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for label, r in report["join"]["runs"].items():
        t = r["throughput"]
        lines.append(f"| {label} | {r['latency']['p50_ms']} | {r['latency']['p99_ms']} | "
                     f"{t['throughput']} | {t.get('server_cpu_us_per_request', '')} | "
                     f"{t.get('client_cpu_us_per_request', '')} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dist", type=Path, required=True,
                    help="The build folder to serve (gfd.trig and the rest).")
    ap.add_argument("--seconds", type=float, default=3.0,
                    help="Seconds of each measured run. Default: 3")
    ap.add_argument("--connections", type=int, default=8,
                    help="Connections of the throughput runs. Default: 8")
    ap.add_argument("--join-warmup", type=float, default=6.0,
                    help="Seconds of warm-up at full load before each server's join runs. "
                         "Default: 6")
    ap.add_argument("--warmup", type=float, default=1.0,
                    help="Seconds of warm-up (one connection) before each server's runs of a "
                         "competency query. Default: 1")
    ap.add_argument("--no-rdflib", action="store_true",
                    help="Leave rdflib-endpoint out (it loads big builds slowly).")
    ap.add_argument("--only", nargs="*", help="Only these competency queries (file stems).")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "endpoint.json",
                    help="Where to write the figures. Default: benchmarks/results/endpoint.json")
    args = ap.parse_args(argv)
    # a TERM (timeout, kill) unwinds like an error, so every server started is stopped
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    report = measure(args.dist, seconds=args.seconds, connections=args.connections,
                     warmup=args.warmup, join_warmup=args.join_warmup,
                     rdflib=not args.no_rdflib, only=args.only)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(table(report))
    errors = sum(r[k]["errors"] for q in report["queries"].values()
                 for r in q.get("runs", {}).values()
                 for k in ("latency", "throughput"))
    errors += sum(r[k]["errors"] for r in report["join"]["runs"].values()
                  for k in ("latency", "throughput"))
    print(f"\n{errors} failed requests; figures in {args.out}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
