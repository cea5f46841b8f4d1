"""The embedded store: the published graphs in an on-disk pyoxigraph store, queried by a
pool of worker processes so that a runaway query can be stopped.

pyoxigraph cannot interrupt a query, so each query runs in a worker process that holds
the store open read-only; a query past the time limit gets its worker killed and a fresh
one started in its place, and the caller an error. Workers also stop reading results at
the row limit. Results are serialised in the worker, in the format asked for."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import multiprocessing as mp
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape as xml_escape

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


def load_store(paths: Sequence[Path], directory: Path,
               graphs: dict[Path, str] | None = None) -> int:
    """Load RDF files into a new on-disk store; triples of Turtle, N-Triples, JSON-LD
    and RDF/XML files go to the default graph (or to the graph ``graphs`` names for the
    file), quads keep their graphs. Returns the number of quads."""
    store = ox.Store(str(directory))
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
            store.bulk_load(**kwargs)
        except (SyntaxError, ValueError, OSError) as e:
            raise StoreError(f"{path}: cannot be loaded: {e}") from e
    store.flush()
    count = len(store)
    del store
    return count


# -- results, serialised in the worker ------------------------------------------------

def _term_json(t: Any) -> dict[str, str]:
    if isinstance(t, ox.NamedNode):
        return {"type": "uri", "value": t.value}
    if isinstance(t, ox.BlankNode):
        return {"type": "bnode", "value": t.value}
    d = {"type": "literal", "value": t.value}
    if t.language:
        d["xml:lang"] = t.language
    elif t.datatype.value != "http://www.w3.org/2001/XMLSchema#string":
        d["datatype"] = t.datatype.value
    return d


def _term_xml(t: Any) -> str:
    if isinstance(t, ox.NamedNode):
        return f"<uri>{xml_escape(t.value)}</uri>"
    if isinstance(t, ox.BlankNode):
        return f"<bnode>{xml_escape(t.value)}</bnode>"
    if t.language:
        return f'<literal xml:lang="{xml_escape(t.language)}">{xml_escape(t.value)}</literal>'
    if t.datatype.value != "http://www.w3.org/2001/XMLSchema#string":
        return (f'<literal datatype="{xml_escape(t.datatype.value)}">'
                f"{xml_escape(t.value)}</literal>")
    return f"<literal>{xml_escape(t.value)}</literal>"


def _term_tsv(t: Any) -> str:
    if t is None:
        return ""
    if isinstance(t, ox.Literal):
        dt = t.datatype.value
        if not t.language and dt == "http://www.w3.org/2001/XMLSchema#integer":
            return t.value
        return str(t)
    return str(t)


def serialise_solutions(variables: list[str], rows: list[list[Any]], media_type: str) -> bytes:
    if media_type == "application/sparql-results+json":
        bindings = [{v: _term_json(t) for v, t in zip(variables, row) if t is not None}
                    for row in rows]
        return json.dumps({"head": {"vars": variables}, "results": {"bindings": bindings}},
                          ensure_ascii=False).encode("utf-8")
    if media_type == "application/sparql-results+xml":
        out = ['<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#">',
               "<head>" + "".join(f'<variable name="{v}"/>' for v in variables) + "</head>",
               "<results>"]
        for row in rows:
            out.append("<result>" + "".join(
                f'<binding name="{v}">{_term_xml(t)}</binding>'
                for v, t in zip(variables, row) if t is not None) + "</result>")
        out.append("</results>\n</sparql>\n")
        return "\n".join(out).encode("utf-8")
    if media_type == "text/csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\r\n")
        w.writerow(variables)
        for row in rows:
            w.writerow(["" if t is None else t.value for t in row])
        return buf.getvalue().encode("utf-8")
    if media_type == "text/tab-separated-values":
        lines = ["\t".join("?" + v for v in variables)]
        lines += ["\t".join(_term_tsv(t) for t in row) for row in rows]
        return ("\n".join(lines) + "\n").encode("utf-8")
    raise QueryFailed(406, f"cannot give query results as {media_type}")


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


@dataclass(frozen=True)
class QueryAnswer:
    media_type: str
    body: bytes
    rows: int
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


def uses_service(query: str) -> bool:
    """Whether a query asks for federation (``SERVICE``): this endpoint never connects
    anywhere on a client's behalf. Decided on the parse tree (a regex cannot tell the
    operator ``<`` from an IRI's); a query rdflib cannot parse counts as federated when
    the word appears anywhere in it, to be safe."""
    from rdflib.plugins.sparql.parser import parseQuery

    try:
        tree = parseQuery(query)
    except Exception:  # noqa: BLE001 - rdflib's grammar lags pyoxigraph's (e.g. RDF-star)
        return "service" in query.lower()
    return "ServiceGraphPattern" in _names(tree, set())


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
    if isinstance(result, ox.QueryBoolean):
        media = _first(job.result_types, RESULT_TYPES, "ASK")
        return QueryAnswer(media, serialise_boolean(bool(result), media), 1, "boolean")
    if isinstance(result, ox.QuerySolutions):
        media = _first(job.result_types, RESULT_TYPES, "SELECT")
        variables = [v.value for v in result.variables]
        rows = []
        for solution in result:
            if len(rows) >= job.max_rows:
                raise QueryFailed(413, f"the result has more than {job.max_rows} rows, the "
                                       "limit of this endpoint: add LIMIT (and OFFSET to page)")
            rows.append([solution[v] for v in variables])
        return QueryAnswer(media, serialise_solutions(variables, rows, media), len(rows),
                           "solutions")
    media = _first(job.graph_types, tuple(GRAPH_TYPES), "CONSTRUCT or DESCRIBE")
    triples = []
    for triple in result:
        if len(triples) >= job.max_rows:
            raise QueryFailed(413, f"the result has more than {job.max_rows} triples, the "
                                   "limit of this endpoint: add LIMIT")
        triples.append(triple)
    body = ox.serialize(triples, format=GRAPH_TYPES[media]) or b""
    return QueryAnswer(media, body, len(triples), "graph")


def _first(acceptable: tuple[str, ...], offered: Iterable[str], what: str) -> str:
    for media in acceptable:
        if media in offered:
            return media
    raise QueryFailed(406, f"a {what} query's results can be given as "
                           f"{', '.join(offered)}; none of them is acceptable to the client")


# -- the worker pool -------------------------------------------------------------------

def _worker_main(conn: Connection, directory: str) -> None:
    store = ox.Store.read_only(directory)
    while True:
        try:
            job = conn.recv()
        except EOFError:
            return
        try:
            conn.send(("ok", execute(store, job)))
        except QueryFailed as e:
            conn.send(("failed", e.status, str(e)))
        except OSError as e:  # reading the store failed: the server's fault
            conn.send(("failed", 500, f"the store could not be read: {e}"))
        except Exception as e:  # noqa: BLE001 - evaluation refused the query: the client's
            conn.send(("failed", 400, f"the query cannot be evaluated: {e}"))


@dataclass
class _Worker:
    process: mp.process.BaseProcess
    conn: Connection


@dataclass
class Limits:
    """The endpoint's limits (see README, "Limits")."""

    timeout: float = 5.0  # seconds a query may run
    max_rows: int = 10_000  # rows (or triples) a result may have
    max_query_bytes: int = 100_000  # size of a query's text
    workers: int = 2  # queries that run at once
    max_waiting: int = 16  # queries that may wait for a worker; more get 503
    max_per_client: int = 4  # queries one client may have running or waiting; more get 429

    @property
    def running_per_client(self) -> int:
        """One client never holds every worker: another client always finds one free."""
        return max(1, self.workers - 1)


@dataclass
class _Client:
    running: asyncio.Semaphore
    in_flight: int = 0


@dataclass
class QueryPool:
    """Worker processes over one store directory."""

    directory: Path
    limits: Limits = field(default_factory=Limits)

    def __post_init__(self) -> None:
        self._ctx = mp.get_context("spawn")
        self._idle: asyncio.Queue[_Worker] | None = None
        self._workers: list[_Worker] = []
        self._waiting = 0
        self._clients: dict[str, _Client] = {}

    def _spawn(self) -> _Worker:
        parent, child = self._ctx.Pipe()
        process = self._ctx.Process(target=_worker_main, args=(child, str(self.directory)),
                                    daemon=True)
        process.start()
        child.close()
        worker = _Worker(process, parent)
        self._workers.append(worker)
        return worker

    async def start(self) -> None:
        self._idle = asyncio.Queue()
        for _ in range(self.limits.workers):
            await self._idle.put(self._spawn())

    def stop(self) -> None:
        for w in self._workers:
            if w.process.is_alive():
                w.process.kill()
            w.conn.close()
        for w in self._workers:
            w.process.join(timeout=5)
        self._workers.clear()

    def _replace(self, worker: _Worker) -> _Worker:
        worker.process.kill()
        worker.process.join(timeout=5)
        worker.conn.close()
        self._workers.remove(worker)
        return self._spawn()

    async def run(self, job: QueryJob, client: str = "") -> QueryAnswer:
        """Run a query in a worker. ``client`` (its address) has at most
        ``max_per_client`` queries in flight and ``running_per_client`` running."""
        assert self._idle is not None, "start() the pool first"
        limits = self.limits
        if len(job.query.encode("utf-8")) > limits.max_query_bytes:
            raise QueryFailed(413, f"the query is longer than {limits.max_query_bytes} "
                                   "bytes, the limit of this endpoint")
        state = self._clients.setdefault(client, _Client(asyncio.Semaphore(limits.running_per_client)))
        if state.in_flight >= limits.max_per_client:
            raise QueryFailed(429, f"too many queries at once from one client (at most "
                                   f"{limits.max_per_client}); wait for the earlier ones")
        if self._waiting >= limits.max_waiting:
            raise QueryFailed(503, "too many queries at once; try again in a moment")
        state.in_flight += 1
        self._waiting += 1
        waiting = True
        try:
            async with state.running:
                worker = await self._idle.get()
                self._waiting -= 1
                waiting = False
                return await self._execute(worker, job)
        finally:
            if waiting:
                self._waiting -= 1
            state.in_flight -= 1
            if state.in_flight == 0:
                self._clients.pop(client, None)

    async def _execute(self, worker: _Worker, job: QueryJob) -> QueryAnswer:
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        fd = worker.conn.fileno()
        loop.add_reader(fd, lambda: done.done() or done.set_result(None))
        try:
            worker.conn.send(job)
            await asyncio.wait_for(done, self.limits.timeout)
            reply = worker.conn.recv()
        except asyncio.TimeoutError:
            loop.remove_reader(fd)
            await self._idle.put(self._replace(worker))
            raise QueryFailed(503, f"the query was stopped after {self.limits.timeout:g} s, "
                                   "the time limit of this endpoint; make it more selective "
                                   "or add LIMIT") from None
        except (EOFError, OSError):
            loop.remove_reader(fd)
            await self._idle.put(self._replace(worker))
            raise QueryFailed(500, "the query's worker stopped unexpectedly") from None
        except asyncio.CancelledError:
            loop.remove_reader(fd)
            await self._idle.put(self._replace(worker))
            raise
        loop.remove_reader(fd)
        await self._idle.put(worker)
        if reply[0] == "ok":
            return reply[1]
        raise QueryFailed(reply[1], reply[2])
