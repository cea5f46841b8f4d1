"""Endpoint benchmark: the SPARQL endpoint of `gfd-kg serve` side by side with the Oxigraph
server, rdflib-endpoint and (given --previous) an earlier checkout of gfd-kg over the same
build, in one run, on 127.0.0.1 only. The Oxigraph
server runs twice: read-only on the on-disk store `oxigraph load` makes ("oxigraph"), and in
memory, loaded over its Graph Store endpoint ("oxigraph (memory)"), the like of `gfd-kg
serve`'s default store. A third reference, "bare pyoxigraph" (benchmarks/bare_server.py),
is the least a Python server over the same in-memory store can do per request: what
`gfd-kg serve` costs beyond it is its own, what it costs beyond the Oxigraph server is not.

    python benchmarks/endpoint.py --dist DIR [--previous CHECKOUT] [--seconds 3]
                                  [--connections 8] [--warmup 1] [--join-warmup 6]
                                  [--no-rdflib] [--out benchmarks/results/endpoint.json]

For every competency query (queries/*.rq, with its tests/query-answers/*.bind values; on a
synthetic corpus a value that names a resource of the real seminar names its copy in
synthetic seminar 1 instead, so the query finds what a user would ask it for) and for a
two-hop join (benchmarks/join.rq: a talk, its speakers, their organisations; a
different talk each request), on each server: a warm-up, then p50 / p99 latency with one
connection and throughput with N connections, each for a fixed time. Every server's answer
is checked first (the same number of rows), so nobody wins by erroring.

Every request is a distinct query text (a trailing comment with a counter, or another
talk), on every server: `gfd-kg serve` keeps no answer cache, and an answer cache elsewhere
(the previous design had one) serves none of them. rdflib-endpoint runs only the join (it
is slow). "gfd-kg previous" is `gfd-kg serve` of another checkout (--previous: a clone of
the design before a change, with its own .venv), run with the same options, so a change is
measured beside what it replaces in the same run, on the same noisy machine.

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
from typing import Any
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
ENDPOINTS = {"gfd-kg": "/sparql", "gfd-kg-previous": "/sparql", "oxigraph": "/query",
             "oxigraph-memory": "/query", "bare-pyoxigraph": "/query", "rdflib-endpoint": "/"}
# what each server's runs are called in the report, in the order its tables give them
LABELS = {"gfd-kg": "gfd-kg", "gfd-kg-previous": "gfd-kg previous", "oxigraph": "oxigraph",
          "oxigraph-memory": "oxigraph (memory)", "bare-pyoxigraph": "bare pyoxigraph",
          "rdflib-endpoint": "rdflib-endpoint"}
# the servers that run the competency queries (rdflib-endpoint runs only the join)
QUERY_SERVERS = ("gfd-kg", "gfd-kg-previous", "oxigraph", "oxigraph-memory",
                 "bare-pyoxigraph")
# what the Oxigraph server's /store is sent each dataset file as
STORE_TYPES = {".trig": "application/trig", ".nq": "application/n-quads",
               ".ttl": "text/turtle", ".nt": "application/n-triples"}
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


def spawn(cmd: list[str], log: Path, cwd: Path = ROOT) -> subprocess.Popen:
    """A server process in its own session, its output to a file (never an unread pipe)."""
    out = log.open("wb")
    return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=cwd,
                            start_new_session=True)


def stop(process: subprocess.Popen) -> None:
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
             work: Path, deadline: float, cwd: Path = ROOT) -> Iterator[Server]:
    process = spawn(cmd, work / f"{name}.log", cwd)
    stack.callback(stop, process)
    process.log_path = str(work / f"{name}.log")  # type: ignore[attr-defined]
    wait_until_up(f"http://127.0.0.1:{port}{health}", process, deadline)
    yield Server(LABELS[name], "127.0.0.1", port, ENDPOINTS[name], process.pid)


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


def previous_python(checkout: Path) -> Path:
    """The interpreter of the previous checkout's own environment (its .venv)."""
    python = checkout / ".venv" / "bin" / "python"
    if not (checkout / "gfd_kg").is_dir() or not python.exists():
        raise SystemExit(f"--previous {checkout}: not a gfd-kg checkout with its own .venv "
                         f"(no gfd_kg/ or no {python}); make one with `make setup` there")
    return python


def start_servers(stack: ExitStack, dist: Path, work: Path, rdflib: bool,
                  previous: Path | None = None) -> dict[str, Server]:
    """`gfd-kg serve`, (given ``previous``) that checkout's `gfd-kg serve`, `oxigraph
    serve-read-only` (on its on-disk store), `oxigraph serve` (in memory, loaded over HTTP),
    the bare pyoxigraph server and (if asked) `rdflib-endpoint serve` over DIST's dataset
    files, each on a free loopback port; ``stack`` stops them. Keyed as in LABELS."""
    files = [str(p) for p in dataset_files(dist)]
    servers: dict[str, Server] = {}
    # each checkout's own gfd_kg (``-m`` from its root, with its own interpreter), not
    # whatever an installed script points at
    serves = [("gfd-kg", Path(sys.executable), ROOT)]
    if previous is not None:
        serves.append(("gfd-kg-previous", previous_python(previous), previous))
    for key, python, cwd in serves:
        port = free_port()
        cmd = [str(python), "-m", "gfd_kg", "serve", "--host", "127.0.0.1", "--port",
               str(port), "--out", str(dist.resolve()), *SERVE_OPTIONS]
        servers[key] = stack.enter_context(_running(stack, key, cmd, port, "/health", work,
                                                    1800, cwd))
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
             connections: int) -> dict[str, Any]:
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


# the ratios a report gives: (its name, the run over, the run under), by the runs' labels;
# the first of each is the issue's target (p50 within 3x, throughput at least 0.35x)
P50_RATIOS = (("p50_ratio_vs_memory", "gfd-kg", "oxigraph (memory)"),
              ("p50_ratio_vs_previous", "gfd-kg", "gfd-kg previous"),
              ("p50_ratio_vs_oxigraph", "gfd-kg", "oxigraph"),
              ("p50_ratio_vs_bare", "gfd-kg", "bare pyoxigraph"),
              ("p50_ratio_previous_vs_memory", "gfd-kg previous", "oxigraph (memory)"),
              ("p50_ratio_bare_vs_memory", "bare pyoxigraph", "oxigraph (memory)"))
THROUGHPUT_RATIOS = (
    ("throughput_ratio_vs_oxigraph_memory", "gfd-kg", "oxigraph (memory)"),
    ("throughput_ratio_vs_previous", "gfd-kg", "gfd-kg previous"),
    ("throughput_ratio_vs_oxigraph", "gfd-kg", "oxigraph"),
    ("throughput_ratio_vs_bare", "gfd-kg", "bare pyoxigraph"),
    ("throughput_ratio_vs_rdflib_endpoint", "gfd-kg", "rdflib-endpoint"),
    ("throughput_ratio_previous_vs_oxigraph_memory", "gfd-kg previous", "oxigraph (memory)"),
    ("throughput_ratio_bare_vs_oxigraph_memory", "bare pyoxigraph", "oxigraph (memory)"))


def _ratios(values: dict[str, float], ratios: tuple[tuple[str, str, str], ...]
            ) -> dict[str, float | None]:
    """The ratios whose two runs were measured."""
    return {name: _ratio(values[over], values[under]) for name, over, under in ratios
            if over in values and under in values}


def measure_query(servers: dict[str, Server], name: str, text: str, seconds: float,
                  connections: int, warmup: float, slow: float = 2.0) -> dict:
    """One competency query on every server but rdflib-endpoint; not load-tested (only
    timed once on each, and the ratios are of those times) when the on-disk Oxigraph server
    takes more than ``slow`` seconds."""
    oxi = servers["oxigraph"]
    measured = [servers[key] for key in QUERY_SERVERS if key in servers]
    once: dict[str, float] = {}
    rows: dict[str, int] = {}
    for s in measured:
        t = time.perf_counter()
        rows[s.name] = rows_of(s, f"{text}\n# request {next(REQUEST_NUMBERS)}\n")
        once[s.name] = round(time.perf_counter() - t, 3)
    if len(set(rows.values())) != 1:
        raise RuntimeError(f"{name}: the servers give different numbers of rows: {rows}")
    if once[oxi.name] > slow:
        return {"rows": rows[oxi.name], "once_s": once,
                "skipped": f"Oxigraph answers in {once[oxi.name]:.1f} s (over {slow:g} s): "
                           "timed once, not load-tested",
                **_ratios(once, P50_RATIOS)}
    runs: dict[str, dict] = {}
    for server in measured:
        make = distinct(server, text)
        run_load(server, make, warmup, 1)
        runs[server.name] = {"latency": run_load(server, make, seconds, 1),
                             "throughput": run_load(server, make, seconds, connections)}
    p50 = {label: r["latency"]["p50_ms"] for label, r in runs.items()}
    return {"rows": rows[oxi.name], "runs": runs, **_ratios(p50, P50_RATIOS)}


def measure_join(servers: dict[str, Server], seconds: float, connections: int,
                 warmup: float) -> dict:
    """The two-hop join, a different talk each request, on every server."""
    oxi = servers["oxigraph"]
    talks = talks_of(oxi)
    text = join_for(talks)
    for server in servers.values():
        sample = [rows_of(server, text(n)) for n in range(3)]
        reference = [rows_of(oxi, text(n)) for n in range(3)]
        if sample != reference:
            raise RuntimeError(f"join: {server.name} gives {sample} rows, Oxigraph {reference}")
    runs: dict[str, dict] = {}
    for server in servers.values():
        make = (lambda s: lambda n: request_bytes(s, text(n)))(server)
        # warmed at full load, for ``warmup`` seconds: a server forked after its load
        # (gfd-kg serve, the bare pyoxigraph server) copies each page of the store its
        # processes first write to (pyoxigraph's reference counts), so it settles only
        # once its processes have seen most talks (at 1,000 seminars, some seconds)
        run_load(server, make, warmup, connections)
        runs[server.name] = {"latency": run_load(server, make, seconds, 1),
                       "throughput": run_load(server, make, seconds, connections)}
    tp = {k: v["throughput"]["throughput"] for k, v in runs.items()}
    return {"talks": len(talks), "runs": runs, **_ratios(tp, THROUGHPUT_RATIOS)}


def commit_of(checkout: Path) -> str:
    """The checkout's commit, with "+changes" when its package (gfd_kg/) differs from it."""
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(checkout), *args], capture_output=True,
                              text=True).stdout.strip()
    head = git("rev-parse", "--short", "HEAD") or "unknown"
    return head + ("+changes" if git("status", "--porcelain", "--", "gfd_kg") else "")


def measure(dist: Path, *, seconds: float = 3.0, connections: int = 8, warmup: float = 1.0,
            join_warmup: float = 6.0, rdflib: bool = True, previous: Path | None = None,
            only: list[str] | None = None) -> dict:
    """Start the servers on DIST, measure every competency query and the join, stop them
    (also on errors). ``only`` limits the competency queries to those names."""
    queries = competency_queries()
    if only:
        queries = {k: v for k, v in queries.items() if k in only}
    commits = {"gfd_kg_commit": commit_of(ROOT),
               "previous_commit": commit_of(previous) if previous else None}
    work = Path(tempfile.mkdtemp(prefix="gfd-kg-endpoint-bench-"))
    try:
        with ExitStack() as stack:
            t0 = time.perf_counter()
            servers = start_servers(stack, dist, work, rdflib, previous)
            started = round(time.perf_counter() - t0, 1)
            results = {}
            for name, (text, pairs) in queries.items():
                pairs = in_the_data(servers["oxigraph"], pairs)
                text = with_bindings(text, parse_bindings(pairs))
                results[name] = measure_query(servers, name, text, seconds, connections, warmup)
                if pairs:
                    results[name]["parameters"] = pairs
                said = ", ".join(f"{k} {results[name][k]}" for k, _, _ in P50_RATIOS[:2]
                                 if k in results[name])
                print(f"{name}: {said} {results[name].get('skipped', '')}", file=sys.stderr,
                      flush=True)
            join = measure_join(servers, seconds, connections, join_warmup)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {"settings": {"dist": str(dist), "seconds": seconds, "connections": connections,
                         "warmup_s": warmup, "join_warmup_s": join_warmup,
                         "gfd_kg_serve_options": list(SERVE_OPTIONS),
                         "previous": str(previous) if previous else None, **commits,
                         "servers_started_in_s": started, "cpus": os.cpu_count(),
                         "python": sys.version.split()[0]},
            "queries": results, "join": join}


# the ratio columns of the query table: (heading, ratio name)
TABLE_RATIOS = (("ratio to oxigraph (memory)", "p50_ratio_vs_memory"),
                ("ratio to previous", "p50_ratio_vs_previous"))


def _cells(row: list[object]) -> str:
    return "| " + " | ".join("" if c is None else str(c) for c in row) + " |"


def table(report: dict) -> str:
    """The figures as Markdown tables: each query's p50 latency (one connection) on every
    server, with gfd-kg's ratios; the join's latency, throughput and CPU per request, with
    gfd-kg's throughput ratios. "(once)": the query was timed once on each server."""
    queries = report["queries"]
    labels = [LABELS[k] for k in QUERY_SERVERS
              if any(LABELS[k] in q.get("runs", q.get("once_s", {})) for q in queries.values())]
    lines = [_cells(["query", "rows", *(f"{label} p50 ms" for label in labels),
                     *(heading for heading, _ in TABLE_RATIOS)]),
             _cells(["---", *["---:"] * (1 + len(labels) + len(TABLE_RATIOS))])]
    for name, q in queries.items():
        if "skipped" in q:
            times = [f"{q['once_s'][label] * 1000:.0f} (once)" if label in q["once_s"] else ""
                     for label in labels]
        else:
            times = [q["runs"].get(label, {}).get("latency", {}).get("p50_ms", "")
                     for label in labels]
        lines.append(_cells([name, q["rows"], *times,
                             *(q.get(key, "") for _, key in TABLE_RATIOS)]))
    join = report["join"]
    lines += ["", _cells(["join (a talk, its speakers, their organisations)", "p50 ms",
                          "p99 ms", f"req/s at {report['settings']['connections']} connections",
                          "server CPU us per request", "load generator CPU us per request"]),
              _cells(["---", *["---:"] * 5])]
    for label, r in join["runs"].items():
        t = r["throughput"]
        lines.append(_cells([label, r["latency"]["p50_ms"], r["latency"]["p99_ms"],
                             t["throughput"], t.get("server_cpu_us_per_request", ""),
                             t.get("client_cpu_us_per_request", "")]))
    lines += ["", _cells(["join throughput", "ratio"]), _cells(["---", "---:"])]
    lines += [_cells([f"{over} / {under}", join[key]]) for key, over, under in THROUGHPUT_RATIOS
              if key in join]
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
    ap.add_argument("--previous", type=Path, metavar="CHECKOUT",
                    help="A checkout of gfd-kg with its own .venv (the design before a change): "
                         "its `gfd-kg serve` is measured too, as \"gfd-kg previous\", with the "
                         "same options.")
    ap.add_argument("--no-rdflib", action="store_true",
                    help="Leave rdflib-endpoint out (it loads big builds slowly).")
    ap.add_argument("--only", nargs="*", help="Only these competency queries (file stems).")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "endpoint.json",
                    help="Where to write the figures. Default: benchmarks/results/endpoint.json")
    args = ap.parse_args(argv)
    if args.previous is not None:
        args.previous = args.previous.resolve()
        previous_python(args.previous)  # fail now, not after the other servers have loaded
    # a TERM (timeout, kill) unwinds like an error, so every server started is stopped
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    report = measure(args.dist, seconds=args.seconds, connections=args.connections,
                     warmup=args.warmup, join_warmup=args.join_warmup,
                     rdflib=not args.no_rdflib, previous=args.previous, only=args.only)
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
