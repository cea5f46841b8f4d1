"""The embedded store: the published graphs in a pyoxigraph store (in memory, or on disk),
and the query engine each server process answers SPARQL with.

Queries run inline, in the process that read the request, on the served store (in memory,
inherited by the server processes forked after the load, or on disk, opened read-only by
each): a hop to a worker process or thread costs more than a small query (on this kind of
machine a cross-process round trip took 0.3 to 0.4 ms of CPU, the whole join of the
endpoint benchmark 0.5 ms).
pyoxigraph cannot cancel a query, so the time limit is kept by the server
(``RunawayGuard`` in gfd_kg/protocol.py: the process gives up the thread stuck in the
query, answers 503, and is replaced); this module only calls the guard around each query
(``Guard``). Results are written in the format asked for (SELECT results by pyoxigraph
itself, in Rust) and refused past the row or byte limit.

The per-client limits hold across the server processes: ``ClientCounts`` counts every
client's running and waiting queries in shared memory. The store does not change while it
is served, so the same query asked the same way has the same answer: each process keeps
recent answers (``AnswerCache``, bounded in entries and bytes) and gives them again
without running the query. A new store (a restart) starts empty."""

from __future__ import annotations

import functools
import json
import multiprocessing as mp
import re
import zlib
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from .errors import GfdError

# suffix -> pyoxigraph format of the files ``serve`` loads
LOAD_FORMATS: dict[str, ox.RdfFormat] = {
    ".ttl": ox.RdfFormat.TURTLE, ".nt": ox.RdfFormat.N_TRIPLES, ".nq": ox.RdfFormat.N_QUADS,
    ".trig": ox.RdfFormat.TRIG, ".jsonld": ox.RdfFormat.JSON_LD, ".rdf": ox.RdfFormat.RDF_XML,
}
# media type -> format, for results of SELECT / ASK and of CONSTRUCT / DESCRIBE
RESULT_TYPES = ("application/sparql-results+json", "application/sparql-results+xml",
                "text/csv", "text/tab-separated-values")
# the formats pyoxigraph writes itself (in Rust), for SELECT results
NATIVE_RESULTS: dict[str, ox.QueryResultsFormat] = {
    "application/sparql-results+json": ox.QueryResultsFormat.JSON,
    "application/sparql-results+xml": ox.QueryResultsFormat.XML,
    "text/csv": ox.QueryResultsFormat.CSV,
    "text/tab-separated-values": ox.QueryResultsFormat.TSV,
}
GRAPH_TYPES: dict[str, ox.RdfFormat] = {
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
    "application/ld+json": ox.RdfFormat.JSON_LD,
    "application/rdf+xml": ox.RdfFormat.RDF_XML,
}


class StoreError(GfdError):
    """A file cannot be loaded into the store."""


class QueryFailed(GfdError):
    """A query the endpoint will not answer; ``status`` is the HTTP status to give."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        super().__init__(message)


def load_store(paths: Sequence[Path], directory: Path | None,
               graphs: dict[Path, str] | None = None) -> ox.Store:
    """Load RDF files into a new store, on disk in ``directory`` (closed again; open it
    read-only) or, without one, in memory; triples of Turtle, N-Triples, JSON-LD and
    RDF/XML files go to the default graph (or to the graph ``graphs`` names for the file),
    quads keep their graphs. Returns the store."""
    store = ox.Store(str(directory)) if directory is not None else ox.Store()
    for path in paths:
        fmt = LOAD_FORMATS.get(path.suffix.lower())
        if fmt is None:
            raise StoreError(f"{path}: unknown RDF format; use one of {', '.join(LOAD_FORMATS)}")
        if not path.is_file():
            raise StoreError(f"{path}: no such file (run `gfd-kg build` first?)")
        try:
            kwargs: dict[str, Any] = {"path": str(path), "format": fmt,
                                      "base_iri": path.absolute().as_uri()}
            if not fmt.supports_datasets:
                target = (graphs or {}).get(path)
                kwargs["to_graph"] = ox.NamedNode(target) if target else ox.DefaultGraph()
            if directory is None:
                # in memory, a transactional load: faster to load and to query than bulk_load
                # (at 1,000 seminars 6.5 s and 0.085 ms a join, against 7.6 s and 0.17 ms)
                store.load(**kwargs)
            else:
                store.bulk_load(**kwargs)
        except (SyntaxError, ValueError, OSError) as e:
            raise StoreError(f"{path}: cannot be loaded: {e}") from e
    if directory is not None:
        store.flush()
    return store


# -- results, serialised in the worker (pyoxigraph writes SELECT results itself) ----------

def serialise_boolean(value: bool, media_type: str) -> bytes:
    if media_type == "application/sparql-results+json":
        return json.dumps({"head": {}, "boolean": value}).encode("utf-8")
    if media_type == "application/sparql-results+xml":
        return ('<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#">'
                f"<head/><boolean>{'true' if value else 'false'}</boolean></sparql>\n"
                ).encode("utf-8")
    text = "true" if value else "false"
    if media_type == "text/csv":
        return f"_askResult\r\n{text}\r\n".encode()
    if media_type == "text/tab-separated-values":
        return f"?_askResult\n{text}\n".encode()
    raise QueryFailed(406, f"cannot give a boolean result as {media_type}")


@dataclass(frozen=True)
class QueryJob:
    query: str
    # for SELECT/ASK and for CONSTRUCT/DESCRIBE: the media types acceptable, best first
    result_types: tuple[str, ...]
    graph_types: tuple[str, ...]
    default_graphs: tuple[str, ...] = ()
    named_graphs: tuple[str, ...] = ()
    union_default: bool = True
    max_rows: int = 10_000
    base_iri: str | None = None
    max_bytes: int = 64 * 2**20


@dataclass(frozen=True)
class QueryAnswer:
    media_type: str
    body: bytes
    kind: str  # "solutions", "boolean" or "graph"


def _names(node: object, found: set[str], depth: int = 0) -> set[str]:
    """The names of every rule in a parse tree of rdflib's SPARQL parser."""
    if depth > 200:
        return found
    name = getattr(node, "name", None)
    if isinstance(name, str):
        found.add(name)
    if isinstance(node, dict):
        for value in node.values():
            _names(value, found, depth + 1)
    elif isinstance(node, (list, tuple)) or type(node).__name__ == "ParseResults":
        for value in node:
            _names(value, found, depth + 1)
    return found


def may_use_service(query: str) -> bool:
    """Whether the text could hold a SERVICE clause at all: the keyword in any ASCII case
    (SPARQL keywords fold ASCII case only), or a ``\\u`` escape (SPARQL 1.1 lets one
    stand for any character). A text with neither cannot ask for federation, whatever
    its structure, so it needs no parse: the common case costs a scan, not a parse."""
    raw = query.encode("utf-8", "surrogatepass").lower()  # bytes: ASCII letters only
    return b"service" in raw or b"\\u" in raw


def uses_service(query: str) -> bool:
    """Whether a query asks for federation (``SERVICE``): this endpoint never connects
    anywhere on a client's behalf. A text that may hold the keyword is decided on the
    parse tree (a regex cannot tell the operator ``<`` from an IRI's)."""
    return may_use_service(query) and _parsed_uses_service(query)


@functools.lru_cache(maxsize=128)
def _parsed_uses_service(query: str) -> bool:
    """rdflib's parse tree has a ServiceGraphPattern; a query rdflib cannot parse counts
    as federated when the word appears anywhere in it, to be safe. Remembered per text:
    the parse takes tens of milliseconds."""
    from rdflib.plugins.sparql.parser import parseQuery

    try:
        tree = parseQuery(query)
    except Exception:  # noqa: BLE001 - rdflib's grammar lags pyoxigraph's (e.g. RDF-star)
        return "service" in query.lower()
    return "ServiceGraphPattern" in _names(tree, set())


class _TooLarge(Exception):
    """The serialised result passed the byte limit."""


class _Body:
    """Where pyoxigraph writes a result: kept in memory up to ``limit`` bytes, then the
    writing is stopped, so a huge result never fills the worker's memory."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.buffer = bytearray()

    def write(self, chunk: bytes) -> int:
        self.buffer += chunk
        if len(self.buffer) > self.limit:
            raise _TooLarge
        return len(chunk)

    def flush(self) -> None:
        pass


_CSV_FIELD = re.compile(rb'"(?:[^"]|"")*"')


def more_rows_than(body: bytes, fmt: ox.QueryResultsFormat, limit: int) -> bool:
    """Whether a result pyoxigraph wrote has more than ``limit`` rows, counted on the
    bytes: TSV has one line a row (its terms escape line breaks), XML one ``<result>``
    (its text escapes ``<``), CSV one line a row once quoted fields are taken out. JSON
    has at most as many rows as ``{`` (less the three of its frame); only when that bound
    passes the limit are the rows counted exactly, by pyoxigraph reading them back."""
    if fmt == ox.QueryResultsFormat.TSV:
        return body.count(b"\n") - 1 > limit
    if fmt == ox.QueryResultsFormat.XML:
        return body.count(b"<result>") > limit
    if fmt == ox.QueryResultsFormat.CSV:
        return _CSV_FIELD.sub(b"", body).count(b"\n") - 1 > limit
    if body.count(b"{") - 3 <= limit:
        return False
    tsv = ox.parse_query_results(body, ox.QueryResultsFormat.JSON).serialize(
        format=ox.QueryResultsFormat.TSV) or b""
    return tsv.count(b"\n") - 1 > limit


def execute(store: ox.Store, job: QueryJob) -> QueryAnswer:
    """Run one query on an open store (in a worker)."""
    if uses_service(job.query):
        raise QueryFailed(400, "federated queries (SERVICE) are not allowed on this endpoint")
    kwargs: dict[str, Any] = {}
    if job.default_graphs:
        kwargs["default_graph"] = [ox.NamedNode(g) for g in job.default_graphs]
    elif job.union_default:
        kwargs["use_default_graph_as_union"] = True
    if job.named_graphs:
        kwargs["named_graphs"] = [ox.NamedNode(g) for g in job.named_graphs]
    try:
        result = store.query(job.query, base_iri=job.base_iri, **kwargs)
    except SyntaxError as e:
        raise QueryFailed(400, f"the query does not parse: {e}") from e
    except ValueError as e:
        raise QueryFailed(400, f"the query cannot be run: {e}") from e
    try:
        return _answer(result, job)
    finally:
        # pyoxigraph's results may only be dropped on the thread that made them: drop
        # them here, not with a traceback that the garbage collector frees elsewhere
        del result


def _answer(result: Any, job: QueryJob) -> QueryAnswer:
    if isinstance(result, ox.QueryBoolean):
        media = _first(job.result_types, RESULT_TYPES, "ASK")
        return QueryAnswer(media, serialise_boolean(bool(result), media), "boolean")
    if isinstance(result, ox.QuerySolutions):
        media = _first(job.result_types, RESULT_TYPES, "SELECT")
        fmt = NATIVE_RESULTS[media]
        body = _Body(job.max_bytes)
        try:
            result.serialize(body, format=fmt)
        except _TooLarge:
            raise QueryFailed(413, f"the result is larger than {job.max_bytes // 2**20} MiB, "
                                   "the limit of this endpoint: add LIMIT (and OFFSET to page)"
                              ) from None
        data = bytes(body.buffer)
        if more_rows_than(data, fmt, job.max_rows):
            raise QueryFailed(413, f"the result has more than {job.max_rows} rows, the "
                                   "limit of this endpoint: add LIMIT (and OFFSET to page)")
        return QueryAnswer(media, data, "solutions")
    media = _first(job.graph_types, tuple(GRAPH_TYPES), "CONSTRUCT or DESCRIBE")
    triples = []
    for triple in result:
        if len(triples) >= job.max_rows:
            raise QueryFailed(413, f"the result has more than {job.max_rows} triples, the "
                                   "limit of this endpoint: add LIMIT")
        triples.append(triple)
    body = ox.serialize(triples, format=GRAPH_TYPES[media]) or b""
    return QueryAnswer(media, body, "graph")


def _first(acceptable: tuple[str, ...], offered: Iterable[str], what: str) -> str:
    for media in acceptable:
        if media in offered:
            return media
    raise QueryFailed(406, f"a {what} query's results can be given as "
                           f"{', '.join(offered)}; none of them is acceptable to the client")


# -- the answer cache ----------------------------------------------------------------------

# refusals that depend on the query and the (unchanging) store only: the same next time
CACHED_REFUSALS = frozenset({400, 406, 413})


@dataclass
class AnswerCache:
    """Recent answers by job (query text, acceptable media types, dataset, limits): the
    least recently used go first when there are more than ``max_entries`` or their bodies
    and query texts pass ``max_bytes``. Refusals whose status is in CACHED_REFUSALS are
    kept too; time limits, crowding and worker faults are not (they may pass)."""

    max_entries: int = 1024
    max_bytes: int = 64 * 2**20
    size: int = 0
    _entries: OrderedDict[QueryJob, QueryAnswer | QueryFailed] = field(
        default_factory=OrderedDict)

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, job: QueryJob) -> QueryAnswer | QueryFailed | None:
        found = self._entries.get(job)
        if found is not None:
            self._entries.move_to_end(job)
        return found

    def put(self, job: QueryJob, outcome: QueryAnswer | QueryFailed) -> None:
        if isinstance(outcome, QueryFailed) and outcome.status not in CACHED_REFUSALS:
            return
        cost = _cost(job, outcome)
        if cost > self.max_bytes or self.max_entries < 1 or job in self._entries:
            return
        self._entries[job] = outcome
        self.size += cost
        while len(self._entries) > self.max_entries or self.size > self.max_bytes:
            old_job, old = self._entries.popitem(last=False)
            self.size -= _cost(old_job, old)


def _cost(job: QueryJob, outcome: QueryAnswer | QueryFailed) -> int:
    body = len(outcome.body) if isinstance(outcome, QueryAnswer) else len(str(outcome))
    return body + len(job.query) + 256  # the rest of the entry, roughly


# -- the limits and the engine -------------------------------------------------------------

@dataclass
class Limits:
    """The endpoint's limits (see README, "Limits")."""

    timeout: float = 5.0  # seconds a query may run
    max_rows: int = 10_000  # rows (or triples) a result may have
    max_query_bytes: int = 100_000  # size of a query's text
    workers: int = 2  # server processes, each running one query at a time
    max_waiting: int = 16  # queries that may wait in one process for their client's turn; more get 503
    max_per_client: int = 4  # queries one client may have running or waiting; more get 429
    max_result_bytes: int = 64 * 2**20  # size of a serialised SELECT result
    cache_entries: int = 1024  # answers kept for queries asked again (in each process)
    cache_bytes: int = 64 * 2**20  # their total size

    @property
    def running_per_client(self) -> int:
        """One client never holds every worker: another client always finds one free."""
        return max(1, self.workers - 1)


class ClientCounts:
    """How many queries each client has running and in flight (running or waiting), counted
    across the server processes in shared memory, so that the per-client limits hold
    whichever process a client's connections land on. A client is a slot (CRC-32 of its
    address, modulo SLOTS); each process counts in its own row, so the supervisor can
    clear the row of a process that died without undoing its own decrements. Beside the
    rows, a total per slot (the sum of its rows, kept under the same lock) answers the
    check of a limit with one read."""

    SLOTS = 4096

    def __init__(self, rows: int = 1, ctx: Any = None) -> None:
        ctx = ctx or mp.get_context("spawn")
        self.rows = rows
        self._lock = ctx.Lock()
        # (by row and slot, total by slot), for running and for in-flight queries
        self._running = (ctx.RawArray("i", rows * self.SLOTS), ctx.RawArray("i", self.SLOTS))
        self._in_flight = (ctx.RawArray("i", rows * self.SLOTS), ctx.RawArray("i", self.SLOTS))
        self.row = 0  # the row this process writes (set in each process)

    @classmethod
    def slot(cls, client: str) -> int:
        return zlib.crc32(client.encode("utf-8", "surrogatepass")) % cls.SLOTS

    def _take(self, counts: tuple[Any, Any], slot: int, limit: int) -> bool:
        by_row, total = counts
        with self._lock:
            if total[slot] >= limit:
                return False
            by_row[self.row * self.SLOTS + slot] += 1
            total[slot] += 1
            return True

    def _give(self, counts: tuple[Any, Any], slot: int) -> None:
        by_row, total = counts
        with self._lock:
            by_row[self.row * self.SLOTS + slot] -= 1
            total[slot] -= 1

    def enter(self, slot: int, limit: int) -> bool:
        return self._take(self._in_flight, slot, limit)

    def leave(self, slot: int) -> None:
        self._give(self._in_flight, slot)

    def start(self, slot: int, limit: int) -> bool:
        return self._take(self._running, slot, limit)

    def stop(self, slot: int) -> None:
        self._give(self._running, slot)

    def clear_row(self, row: int) -> None:
        """Forget what the process writing ``row`` counted (it is gone)."""
        start = row * self.SLOTS
        with self._lock:
            for by_row, total in (self._running, self._in_flight):
                for slot, n in enumerate(by_row[start:start + self.SLOTS]):
                    if n:
                        total[slot] -= n
                by_row[start:start + self.SLOTS] = [0] * self.SLOTS


class Guard:
    """What watches a query while it runs; the server's (gfd_kg/protocol.py) stops a query
    past the time limit. This one watches nothing: for a store used from one process."""

    def begin(self, ticket: Ticket) -> None:
        pass

    def end(self, ticket: Ticket) -> bool:
        """False when the query was stopped meanwhile: the caller must not touch the
        ticket or the connection again."""
        return True


@dataclass
class Ticket:
    """One query of one client, from its admission to its answer."""

    job: QueryJob
    client: str
    slot: int
    running: bool = False
    owner: Any = None  # what asked (the connection), for the guard


class QueryEngine:
    """Queries answered in this process, on the served store, one at a time: the
    answer cache first, then the client's limits, then the query itself, inline. The
    time limit is the guard's: pyoxigraph cannot cancel a query, so the server stops a
    runaway one by giving up the thread it runs on (see gfd_kg/protocol.py)."""

    def __init__(self, store: ox.Store, limits: Limits, counts: ClientCounts | None = None,
                 guard: Guard | None = None) -> None:
        self.store = store
        self.limits = limits
        self.counts = counts or ClientCounts(rows=1, ctx=mp.get_context("fork"))
        self.guard = guard or Guard()
        self.cache = AnswerCache(limits.cache_entries, limits.cache_bytes)

    def lookup(self, job: QueryJob) -> QueryAnswer | None:
        """The answer from the cache, or None; a refusal that does not need the store
        (too long, refused before) raises QueryFailed."""
        if len(job.query) > self.limits.max_query_bytes or \
                len(job.query.encode("utf-8", "surrogatepass")) > self.limits.max_query_bytes:
            raise QueryFailed(413, f"the query is longer than {self.limits.max_query_bytes} "
                                   "bytes, the limit of this endpoint")
        cached = self.cache.get(job)
        if isinstance(cached, QueryFailed):
            raise QueryFailed(cached.status, str(cached))
        return cached

    def admit(self, job: QueryJob, client: str) -> Ticket:
        """A ticket for a query the cache cannot answer; 429 when the client has
        ``max_per_client`` queries in flight already."""
        slot = ClientCounts.slot(client)
        if not self.counts.enter(slot, self.limits.max_per_client):
            raise QueryFailed(429, f"too many queries at once from one client (at most "
                                   f"{self.limits.max_per_client}); wait for the earlier ones")
        return Ticket(job, client, slot)

    def may_start(self, ticket: Ticket) -> bool:
        """Whether the ticket's query may run now: its client runs fewer than
        ``running_per_client`` queries (in all processes)."""
        if not ticket.running:
            ticket.running = self.counts.start(ticket.slot, self.limits.running_per_client)
        return ticket.running

    def run(self, ticket: Ticket) -> QueryAnswer | QueryFailed | None:
        """Run the ticket's query here and now (it may_start); the answer or refusal,
        cached as the cache keeps them. None: the guard stopped it and the ticket is no
        longer the caller's."""
        self.guard.begin(ticket)
        try:
            outcome: QueryAnswer | QueryFailed = execute(self.store, ticket.job)
        except QueryFailed as e:  # a fresh one: no traceback that keeps the query's frames
            outcome = QueryFailed(e.status, str(e))
        except OSError as e:  # reading the store failed: the server's fault
            outcome = QueryFailed(500, f"the store could not be read: {e}")
        except Exception as e:  # noqa: BLE001 - evaluation refused the query: the client's
            outcome = QueryFailed(400, f"the query cannot be evaluated: {e}")
        if not self.guard.end(ticket):
            return None
        self.cache.put(ticket.job, outcome)
        return outcome

    def release(self, ticket: Ticket) -> None:
        """The ticket is done with (answered, refused or given up)."""
        if ticket.running:
            ticket.running = False
            self.counts.stop(ticket.slot)
        self.counts.leave(ticket.slot)

    def ask(self, job: QueryJob, client: str = "") -> QueryAnswer:
        """All of the above in one call, for a caller with nothing else to do: the answer,
        or QueryFailed (503 when the client already runs its share of queries)."""
        cached = self.lookup(job)
        if cached is not None:
            return cached
        ticket = self.admit(job, client)
        try:
            if not self.may_start(ticket):
                raise QueryFailed(503, "too many queries at once; try again in a moment")
            outcome = self.run(ticket)
        finally:
            self.release(ticket)
        if isinstance(outcome, QueryFailed):
            raise QueryFailed(outcome.status, str(outcome))
        assert outcome is not None
        return outcome
