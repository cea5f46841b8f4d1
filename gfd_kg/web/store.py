"""The embedded store: the published graphs in a pyoxigraph store (in memory, or on disk),
and one query run on it (``execute``): federation refused, the dataset chosen, the result
written in the format asked for (SELECT results by pyoxigraph itself, in Rust) and refused
past the row or byte limit. Where and how long a query runs is gfd_kg/web/runner.py's."""

from __future__ import annotations

import csv
import functools
import io
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

import pyoxigraph as ox

from ..errors import GfdError

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
                ).encode()
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
    prefixes: tuple[tuple[str, str], ...] = ()  # for a graph written as Turtle


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
        for value in node:  # type: ignore[attr-defined]  # pyparsing's results iterate
            _names(value, found, depth + 1)
    return found


_COMMENT_LINE = re.compile(rb"^[ \t]*#[^\r\n]*", re.MULTILINE)  # a comment ends at CR or LF


def may_use_service(query: str) -> bool:
    """Whether the text could hold a SERVICE clause at all: the keyword in any ASCII case
    (SPARQL keywords fold ASCII case only), or a ``\\u`` escape (SPARQL 1.1 lets one
    stand for any character). A text with neither cannot ask for federation, whatever
    its structure, so it needs no parse: the common case costs a scan, not a parse.

    Lines whose first visible character is ``#`` are left out of the scan for the keyword:
    such a line is a comment, or the inside of a long string; either way no keyword (a
    query file's header, "... shared service centre ...", would otherwise cost every
    request a parse). Not of the scan for escapes: an escaped line break ends a comment."""
    raw = query.encode("utf-8", "surrogatepass")
    if b"\\u" in raw or b"\\U" in raw:
        return True
    return b"service" in _COMMENT_LINE.sub(b"", raw).lower()  # ASCII letters only


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
    except Exception:
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
# what hides a variable name from a scan of the query: comments, strings, IRIs
_NOT_CODE = re.compile(r"#[^\n]*|'''[\s\S]*?'''|\"\"\"[\s\S]*?\"\"\""
                       r"|'(?:[^'\\\n]|\\.)*'|\"(?:[^\"\\\n]|\\.)*\"|<[^<>\"{}|^`\\\s]*>")
_SELECT_STAR = re.compile(r"\bSELECT\s+(?:DISTINCT\s+|REDUCED\s+)?\*", re.IGNORECASE)
_VARIABLE = re.compile(r"[?$]([A-Za-z0-9_\u00b7\u00c0-\ufffd]+)")


def star_order(query: str) -> tuple[str, ...] | None:
    """For a ``SELECT *`` query, its variables in the order the text first names them after
    the ``*`` (the order its pattern binds them, as a reader sees it); None otherwise."""
    code = _NOT_CODE.sub(" ", query)
    star = _SELECT_STAR.search(code)
    if star is None:
        return None
    seen: dict[str, None] = {}
    for m in _VARIABLE.finditer(code, star.end()):
        seen.setdefault(m.group(1), None)
    return tuple(seen)


def reorder(body: bytes, fmt: ox.QueryResultsFormat, have: list[str],
            order: tuple[str, ...]) -> bytes:
    """Results pyoxigraph wrote with its variables ``have``, with the columns in ``order``
    (a variable the order does not name keeps its place after those it names)."""
    rank = {v: i for i, v in enumerate(order)}
    wanted = sorted(have, key=lambda v: (rank.get(v, len(rank)), have.index(v)))
    if wanted == have:
        return body
    if fmt == ox.QueryResultsFormat.JSON:  # only the head lists them in order
        compact = (",", ":")
        head = json.dumps({"vars": have}, separators=compact, ensure_ascii=False).encode()
        return body.replace(head, json.dumps({"vars": wanted}, separators=compact,
                                             ensure_ascii=False).encode(), 1)
    if fmt == ox.QueryResultsFormat.XML:
        def head_of(names: list[str]) -> bytes:
            return b"".join(b'<variable name="%s"/>' % v.encode() for v in names)
        return body.replace(head_of(have), head_of(wanted), 1)
    columns = [have.index(v) for v in wanted]
    if fmt == ox.QueryResultsFormat.TSV:  # a row a line; its terms escape tabs and breaks
        lines = []
        for line in body.split(b"\n"):
            cells = line.split(b"\t")
            lines.append(b"\t".join(cells[i] for i in columns) if len(cells) == len(have)
                         else line)
        return b"\n".join(lines)
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    for row in csv.reader(io.StringIO(body.decode("utf-8"), newline="")):
        writer.writerow([row[i] for i in columns] if len(row) == len(have) else row)
    return out.getvalue().encode("utf-8")


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
        sink = _Body(job.max_bytes)
        try:
            result.serialize(cast(IO[bytes], sink), format=fmt)  # it only calls write
        except _TooLarge:
            raise QueryFailed(413, f"the result is larger than {job.max_bytes // 2**20} MiB, "
                                   "the limit of this endpoint: add LIMIT (and OFFSET to page)"
                              ) from None
        data = bytes(sink.buffer)
        order = star_order(job.query)
        if order is not None:
            data = reorder(data, fmt, [v.value for v in result.variables], order)
        if more_rows_than(data, fmt, job.max_rows):
            raise QueryFailed(413, f"the result has more than {job.max_rows} rows, the "
                                   "limit of this endpoint: add LIMIT (and OFFSET to page)")
        return QueryAnswer(media, data, "solutions")
    media = _first(job.graph_types, tuple(GRAPH_TYPES), "CONSTRUCT or DESCRIBE")
    triples: list[ox.Triple] = []
    for triple in result:
        if len(triples) >= job.max_rows:
            raise QueryFailed(413, f"the result has more than {job.max_rows} triples, the "
                                   "limit of this endpoint: add LIMIT")
        triples.append(triple)
    rdf_format = GRAPH_TYPES[media]
    if rdf_format == ox.RdfFormat.TURTLE and job.prefixes:
        body = ox.serialize(triples, format=rdf_format, prefixes=dict(job.prefixes)) or b""
    else:
        body = ox.serialize(triples, format=rdf_format) or b""
    return QueryAnswer(media, body, "graph")


def _first(acceptable: tuple[str, ...], offered: Iterable[str], what: str) -> str:
    for media in acceptable:
        if media in offered:
            return media
    raise QueryFailed(406, f"a {what} query's results can be given as "
                           f"{', '.join(offered)}; none of them is acceptable to the client")
