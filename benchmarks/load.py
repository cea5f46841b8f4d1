"""Load benchmark of `gfd-kg serve`: a fixed, seeded mix of what clients ask (pages, IRIs
dereferenced as Turtle and JSON-LD, downloads, the VoID description, the competency queries
by GET and POST), sent N times with C in flight, twice, over loopback.

    python benchmarks/load.py [--requests 5000] [--concurrency 16] [--dist DIR]
                              [--out benchmarks/results/load.json]

It reports latency per request kind and overall, throughput, and the resident memory
(VmRSS) of the server with its worker processes before the first run, after it, and after
a second identical run: flat memory is a small growth between the last two. Exit 1 if any
request failed (a status outside 2xx/3xx, or no answer). A script, not a test;
tests/test_load.py runs a small version of the same mix."""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as `python benchmarks/load.py` from anywhere
    sys.path.insert(0, str(ROOT))

from gfd_kg.iris import DEFAULT_BASE  # noqa: E402
from gfd_kg.query import load_query, parse_bindings, with_bindings  # noqa: E402
from tests.server import build_dist, free_port, stop, wait_until_up  # noqa: E402

QUERIES = ROOT / "queries"
ANSWERS = ROOT / "tests" / "query-answers"
SEED = 2008
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
TALK_TYPES = {DEFAULT_BASE + "ontology/" + t for t in ("Talk", "Keynote", "CaseStudy")}
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
# Accept headers a SPARQL client sends for a SELECT (the last one is a browser's: HTML results)
RESULT_ACCEPTS = (
    "application/sparql-results+json",
    "application/sparql-results+xml",
    "text/csv",
    "text/tab-separated-values",
    "*/*",
    "text/csv;q=0.5, application/sparql-results+xml;q=0.9",
    BROWSER,
)
_NT = re.compile(r"^<([^>]*)> <([^>]*)> (.*) \.$")


# -- what is asked -------------------------------------------------------------------------

@dataclass(frozen=True)
class Request:
    kind: str  # the row of the report
    method: str
    path: str
    params: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    label: str = ""  # the query or resource, for the details


@dataclass(frozen=True)
class Catalogue:
    """The resources and queries the mix draws from, read from a build."""

    seminar: str
    people: tuple[str, ...]
    organisations: tuple[str, ...]
    talks: tuple[str, ...]
    others: tuple[str, ...]  # sessions, countries, places, documents, questions
    queries: tuple[tuple[str, str], ...]  # (name, text with its .bind values)

    @property
    def resources(self) -> tuple[str, ...]:
        return (self.seminar, *self.people, *self.organisations, *self.talks, *self.others)


def catalogue(dist: Path, base: str = DEFAULT_BASE) -> Catalogue:
    """Every subject of the build's gfd.nt under the base, sorted, and the competency
    queries with the parameter values their expected answers use."""
    subjects: set[str] = set()
    talks: set[str] = set()
    for line in (dist / "gfd.nt").read_text(encoding="utf-8").splitlines():
        m = _NT.match(line)
        if not m or not m.group(1).startswith(base):
            continue
        s, p, o = m.groups()
        subjects.add(s[len(base):])
        if p == RDF_TYPE and o.strip("<>") in TALK_TYPES:
            talks.add(s[len(base):])
    kinds = ("person/", "organization/", "country/", "place/", "document/", "question/", "event/")
    people = sorted(s for s in subjects if s.startswith("person/"))
    organisations = sorted(s for s in subjects if s.startswith("organization/"))
    others = sorted(s for s in subjects if s.startswith(kinds) and s not in talks
                    and not s.startswith(("person/", "organization/")))
    queries = []
    for path in sorted(QUERIES.glob("*.rq")):
        bind = ANSWERS / f"{path.stem}.bind"
        pairs = bind.read_text(encoding="utf-8").split() if bind.exists() else []
        queries.append((path.stem, with_bindings(load_query(path).text, parse_bindings(pairs))))
    seminar = "event/gfd-2008-tunis"
    assert seminar in subjects, f"{dist}/gfd.nt has no {base}{seminar}"
    assert people and organisations and talks and queries, "the build looks empty"
    return Catalogue(seminar, tuple(people), tuple(organisations), tuple(sorted(talks)),
                     tuple(others), tuple(queries))


def _page(kind: str, path: str) -> Request:
    return Request(kind, "GET", "/" + path, headers={"Accept": BROWSER}, label=path)


def _rdf(kind: str, rng: random.Random, path: str, media: str, suffix: str) -> Request:
    """A resource as RDF, asked the three ways the README names."""
    way = rng.randrange(3)
    if way == 0:
        return Request(kind, "GET", "/" + path, headers={"Accept": media}, label=path)
    if way == 1:
        return Request(kind, "GET", f"/{path}.{suffix}", label=path)
    return Request(kind, "GET", "/" + path, params={"format": suffix}, label=path)


def _sparql(kind: str, rng: random.Random, cat: Catalogue) -> Request:
    name, text = rng.choice(cat.queries)
    if kind == "sparql GET":
        return Request(kind, "GET", "/sparql", params={"query": text},
                       headers={"Accept": rng.choice(RESULT_ACCEPTS)}, label=name)
    accept = rng.choice(RESULT_ACCEPTS[:-1])  # a POST's results are never an HTML page
    if kind == "sparql POST form":
        body = str(httpx.QueryParams({"query": text})).encode()
        return Request(kind, "POST", "/sparql", body=body, label=name, headers={
            "Accept": accept, "Content-Type": "application/x-www-form-urlencoded"})
    return Request(kind, "POST", "/sparql", body=text.encode(), label=name, headers={
        "Accept": accept, "Content-Type": "application/sparql-query"})


# kind -> (weight in the mix, how to draw one)
MIX: dict[str, tuple[int, Callable[[random.Random, Catalogue], Request]]] = {
    "landing page": (4, lambda rng, c: _page("landing page", "")),
    "seminar page": (4, lambda rng, c: _page("seminar page", c.seminar)),
    "person page": (7, lambda rng, c: _page("person page", rng.choice(c.people))),
    "organisation page": (6, lambda rng, c: _page("organisation page",
                                                  rng.choice(c.organisations))),
    "talk page": (6, lambda rng, c: _page("talk page", rng.choice(c.talks))),
    "IRI as Turtle": (9, lambda rng, c: _rdf("IRI as Turtle", rng, rng.choice(c.resources),
                                             "text/turtle", "ttl")),
    "IRI as JSON-LD": (9, lambda rng, c: _rdf("IRI as JSON-LD", rng, rng.choice(c.resources),
                                              "application/ld+json", "jsonld")),
    "download gfd.ttl": (4, lambda rng, c: Request("download gfd.ttl", "GET",
                                                   "/download/gfd.ttl")),
    "download void.ttl": (3, lambda rng, c: Request("download void.ttl", "GET",
                                                    "/download/void.ttl")),
    ".well-known/void": (4, lambda rng, c: Request(
        ".well-known/void", "GET", "/.well-known/void", headers={"Accept": rng.choice(
            ("text/turtle", "application/ld+json", "application/n-triples"))})),
    "sparql GET": (20, lambda rng, c: _sparql("sparql GET", rng, c)),
    "sparql POST form": (12, lambda rng, c: _sparql("sparql POST form", rng, c)),
    "sparql POST query": (12, lambda rng, c: _sparql("sparql POST query", rng, c)),
}


def mix(cat: Catalogue, n: int, seed: int = SEED) -> list[Request]:
    """N requests drawn from MIX; the same seed gives the same list."""
    rng = random.Random(seed)
    kinds = list(MIX)
    weights = [MIX[k][0] for k in kinds]
    return [MIX[k][1](rng, cat) for k in rng.choices(kinds, weights, k=n)]


# -- sending it ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Result:
    kind: str
    label: str
    status: int | None
    seconds: float
    error: str | None


async def _send(base: str, requests: list[Request], concurrency: int, timeout: float,
                time_limit: float) -> tuple[list[Result | None], float]:
    """Each request once, at most ``concurrency`` in flight; none is started after
    ``time_limit`` seconds (those stay None). Returns the results and the wall time."""
    results: list[Result | None] = [None] * len(requests)
    todo = iter(enumerate(requests))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    start = time.perf_counter()
    async with httpx.AsyncClient(base_url=base, timeout=timeout, limits=limits,
                                 follow_redirects=False) as client:
        async def sender() -> None:
            for i, r in todo:  # one iterator shared by every sender: each request once
                if time.perf_counter() - start > time_limit:
                    return
                t0 = time.perf_counter()
                try:
                    answer = await client.request(r.method, r.path, params=r.params or None,
                                                  headers=r.headers, content=r.body)
                    status, error = answer.status_code, None
                    if not 200 <= status < 400:
                        error = f"{status}: {answer.text[:200].strip()}"
                except httpx.HTTPError as e:
                    status, error = None, f"{type(e).__name__}: {e}"
                results[i] = Result(r.kind, r.label, status, time.perf_counter() - t0, error)

        await asyncio.gather(*(sender() for _ in range(concurrency)))
    return results, time.perf_counter() - start


def send(base: str, requests: list[Request], concurrency: int, timeout: float = 30.0,
         time_limit: float = 600.0) -> RunReport:
    results, wall = asyncio.run(_send(base, requests, concurrency, timeout, time_limit))
    return summarise(results, wall, concurrency)


# -- what came back ------------------------------------------------------------------------

def percentile(ordered: list[float], p: float) -> float:
    """Nearest rank (the smallest value with at least p% of the values at or below it)."""
    if not ordered:
        return math.nan
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


@dataclass
class Stats:
    n: int
    errors: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    statuses: dict[str, int]

    @classmethod
    def of(cls, results: list[Result]) -> Stats:
        ordered = sorted(r.seconds * 1000 for r in results)
        statuses: dict[str, int] = {}
        for r in results:
            key = str(r.status) if r.status is not None else "no answer"
            statuses[key] = statuses.get(key, 0) + 1
        p50, p90, p99, top = (round(percentile(ordered, p), 1) for p in (50, 90, 99, 100))
        return cls(len(results), sum(r.error is not None for r in results), p50, p90, p99, top,
                   dict(sorted(statuses.items())))


@dataclass
class RunReport:
    requests: int
    sent: int
    errors: int  # failed requests, plus those never sent within the time limit
    wall_seconds: float
    throughput_per_second: float
    concurrency: int
    overall: Stats
    kinds: dict[str, Stats]
    queries: dict[str, Stats]  # the SPARQL requests, by query
    error_samples: list[dict[str, object]]


def summarise(results: list[Result | None], wall: float, concurrency: int) -> RunReport:
    done = [r for r in results if r is not None]
    kinds = {k: Stats.of([r for r in done if r.kind == k]) for k in MIX
             if any(r.kind == k for r in done)}
    sparql = sorted({r.label for r in done if r.kind.startswith("sparql")})
    queries = {q: Stats.of([r for r in done if r.kind.startswith("sparql") and r.label == q])
               for q in sparql}
    failed = [r for r in done if r.error is not None]
    unsent = len(results) - len(done)
    return RunReport(
        requests=len(results), sent=len(done), errors=len(failed) + unsent,
        wall_seconds=round(wall, 2), throughput_per_second=round(len(done) / wall, 1),
        concurrency=concurrency, overall=Stats.of(done), kinds=kinds, queries=queries,
        error_samples=[asdict(r) for r in failed[:20]]
        + ([{"error": f"{unsent} requests not sent within the time limit"}] if unsent else []))


def table(report: RunReport) -> str:
    head = (f"{'kind':<20} {'n':>6} {'errors':>6} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} "
            f"{'max ms':>8}")
    lines = [head, "-" * len(head)]
    for name, s in [*report.kinds.items(), ("all", report.overall)]:
        if name == "all":
            lines.append("-" * len(head))
        lines.append(f"{name:<20} {s.n:>6} {s.errors:>6} {s.p50_ms:>8.1f} {s.p90_ms:>8.1f} "
                     f"{s.p99_ms:>8.1f} {s.max_ms:>8.1f}")
    lines.append(f"{report.sent} of {report.requests} requests in {report.wall_seconds:.2f} s "
                 f"at concurrency {report.concurrency}: {report.throughput_per_second:.1f} req/s, "
                 f"{report.errors} errors")
    return "\n".join(lines)


# -- the server and its memory -----------------------------------------------------------

@dataclass(frozen=True)
class Server:
    base: str
    process: subprocess.Popen


@contextmanager
def serving(dist: Path, *options: str) -> Iterator[Server]:
    """`gfd-kg serve --out DIST` on a free loopback port, in its own session (as
    tests/server.py's running_server, which does not give the process)."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "gfd_kg", "serve", "--host", "127.0.0.1", "--port", str(port),
         "--out", str(dist), *options],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT,
        start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base + "/health", process)
        yield Server(base, process)
    finally:
        stop(process)


def _ppid_and_name(pid: int) -> tuple[int, str] | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    name = stat[stat.index("(") + 1: stat.rindex(")")]
    return int(stat[stat.rindex(")") + 2:].split()[1]), name


def _rss_kib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _command(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return None


def _role(pid: int, root: int) -> str:
    """A server process is spawned (multiprocessing's command line) or forked (the
    server's own command line, with the store in memory)."""
    if pid == root:
        return "server"
    cmd = _command(pid)
    if cmd is None:
        return "?"
    if "resource_tracker" in cmd:
        return "resource tracker"
    return "worker" if "multiprocessing" in cmd or cmd == _command(root) else "child"


@dataclass
class Process:
    pid: int
    role: str
    rss_kib: int


@dataclass
class Memory:
    total_kib: int
    processes: list[Process]

    def mib(self) -> str:
        return f"{self.total_kib / 1024:.1f} MiB"


def memory(root: int) -> Memory:
    """VmRSS of the process and of all its descendants (the query workers, the
    multiprocessing resource tracker), in KiB."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (info := _ppid_and_name(int(entry.name))):
            parents[int(entry.name)] = info[0]
    family, todo = [], [root]
    while todo:
        pid = todo.pop()
        family.append(pid)
        todo.extend(child for child, parent in parents.items() if parent == pid)
    processes = [Process(pid, _role(pid, root), rss) for pid in sorted(family)
                 if (rss := _rss_kib(pid)) is not None]
    return Memory(sum(p.rss_kib for p in processes), processes)


def _growth(before: Memory, after: Memory) -> float:
    return round(100 * (after.total_kib / before.total_kib - 1), 2)


# -- the whole benchmark -----------------------------------------------------------------

@dataclass
class Benchmark:
    settings: dict[str, object]
    memory: dict[str, Memory]  # start, before run 1, after run 1, after run 2
    growth_run1_to_run2_percent: float
    growth_before_to_run1_percent: float
    runs: list[RunReport]

    @property
    def errors(self) -> int:
        return sum(r.errors for r in self.runs)

    def memory_line(self) -> str:
        m = self.memory
        roles = ", ".join(f"{p.role} {p.rss_kib / 1024:.1f} MiB"
                          for p in m["after run 2"].processes)
        return (f"server RSS with its workers (VmRSS): at start {m['start'].mib()}, before run "
                f"1 {m['before run 1'].mib()}, after run 1 {m['after run 1'].mib()} "
                f"({self.growth_before_to_run1_percent:+.1f}%), after run 2 "
                f"{m['after run 2'].mib()} ({self.growth_run1_to_run2_percent:+.1f}% over run 1)"
                f"\nafter run 2, by process: {roles}")


def serve_options(concurrency: int) -> list[str]:
    """One load generator is one client address: lift the per-client query limit (if the
    server has one) to the concurrency, so the run measures capacity, not that refusal."""
    help_text = subprocess.run([sys.executable, "-m", "gfd_kg", "serve", "--help"],
                               capture_output=True, text=True, cwd=ROOT, timeout=60).stdout
    return ["--max-per-client", str(concurrency)] if "--max-per-client" in help_text else []


def benchmark(dist: Path, requests: int, concurrency: int, warmup: int = 200,
              seed: int = SEED, timeout: float = 30.0, time_limit: float = 600.0,
              options: list[str] | None = None) -> Benchmark:
    """Start the server on DIST, warm it up, then send the same mix twice."""
    cat = catalogue(dist)
    options = serve_options(concurrency) if options is None else options
    work = mix(cat, requests, seed)
    with serving(dist, *options) as server:
        pid = server.process.pid
        mem = {"start": memory(pid)}
        send(server.base, mix(cat, warmup, seed + 1), concurrency, timeout, time_limit)
        mem["before run 1"] = memory(pid)
        first = send(server.base, work, concurrency, timeout, time_limit)
        mem["after run 1"] = memory(pid)
        second = send(server.base, work, concurrency, timeout, time_limit)
        mem["after run 2"] = memory(pid)
    return Benchmark(
        settings={"requests": requests, "concurrency": concurrency, "warmup": warmup,
                  "seed": seed, "timeout_s": timeout, "time_limit_s": time_limit,
                  "serve_options": options, "mix_weights": {k: w for k, (w, _) in MIX.items()},
                  "queries": [name for name, _ in cat.queries], "python": sys.version.split()[0]},
        memory=mem,
        growth_run1_to_run2_percent=_growth(mem["after run 1"], mem["after run 2"]),
        growth_before_to_run1_percent=_growth(mem["before run 1"], mem["after run 1"]),
        runs=[first, second])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=5000, help="Requests per run. Default: 5000")
    ap.add_argument("--concurrency", type=int, default=16,
                    help="Requests in flight at once. Default: 16")
    ap.add_argument("--warmup", type=int, default=200,
                    help="Requests sent (from another seed) before the first run. Default: 200")
    ap.add_argument("--seed", type=int, default=SEED, help=f"Seed of the mix. Default: {SEED}")
    ap.add_argument("--dist", type=Path,
                    help="A build to serve. Default: build one in a temporary folder.")
    ap.add_argument("--timeout", type=float, default=30.0,
                    help="Seconds one request may take before it counts as failed. Default: 30")
    ap.add_argument("--time-limit", type=float, default=600.0,
                    help="Seconds a run may take; requests not sent by then count as "
                         "failed. Default: 600")
    ap.add_argument("--serve-option", action="append", metavar="OPTION",
                    help="An option for `gfd-kg serve`, e.g. --serve-option=--workers=4 "
                         "(repeatable). Default: --max-per-client set to the concurrency.")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "load.json",
                    help="JSON report. Default: benchmarks/results/load.json")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="gfd-kg-load-") as tmp:
        dist = args.dist or build_dist(Path(tmp) / "dist")
        result = benchmark(dist, args.requests, args.concurrency, args.warmup, args.seed,
                           args.timeout, args.time_limit, args.serve_option)
    print(f"run 1 of 2 (the same {args.requests} requests are sent again in run 2)")
    print(table(result.runs[0]))
    second = result.runs[1]
    print(f"run 2: {second.sent} requests, {second.errors} errors, p50 "
          f"{second.overall.p50_ms:.1f} ms, p99 {second.overall.p99_ms:.1f} ms, "
          f"{second.throughput_per_second:.1f} req/s")
    print(result.memory_line())
    for run, report in enumerate(result.runs, 1):
        for sample in report.error_samples[:5]:
            print(f"error (run {run}): {sample}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(asdict(result), indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 1 if result.errors else 0


if __name__ == "__main__":
    sys.exit(main())
