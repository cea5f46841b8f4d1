"""The SPARQL 1.1 Protocol endpoint, ``/sparql``: one Starlette handler for every request to
it (GET, HEAD, POST of a form or of ``application/sparql-query``, OPTIONS). The server library
reads the request and writes the response; this module decides what to answer. The query runs
in a thread of the server process (gfd_kg/web/runner.py). Read-only: updates get 403."""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode

import pyoxigraph as ox
from rdflib import Graph, URIRef
from starlette.background import BackgroundTask
from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response

from ..query import Table, term_from_json
from ..terms import to_rdflib
from . import pages
from .conneg import HTML, JSON_RESULTS, TURTLE, UnknownFormat, choose, named, ranked
from .editor import Editor, editor
from .runner import Runaway
from .site import RDF_TYPE, Site
from .store import QueryAnswer, QueryFailed, QueryJob

SD_FORMATS = {"text/turtle": "turtle", "application/ld+json": "json-ld",
              "application/n-triples": "nt", "application/rdf+xml": "xml"}
ALLOW = "GET, HEAD, POST, OPTIONS"
SD = "http://www.w3.org/ns/sparql-service-description#"
BODY_SLACK = 64 * 1024  # a form's other fields and its encoding, beyond the query's own bytes


def plain(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return PlainTextResponse(message.rstrip() + "\n", status_code=status, headers=headers)


def with_charset(media: str) -> str:
    return f"{media}; charset=utf-8" if media.startswith("text/") or "json" in media or \
        "xml" in media else media


def client_of(request: Request) -> str:
    """Who is asking, for the per-client limits: the peer address (proxy headers are not
    trusted; run the server behind no proxy, or give each proxy its own limits)."""
    return request.client.host if request.client else ""


class BodyTooLarge(QueryFailed):
    """A request body past the limit: refused unread, so the connection is closed after."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit} bytes")


async def read_body(request: Request, limit: int) -> bytes:
    """The request's body, refused once it passes ``limit`` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(limit)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise BodyTooLarge(limit)
    return bytes(body)


async def protocol_params(request: Request, limit: int) -> tuple[dict[str, list[str]], str | None]:
    """The protocol's parameters (query string and form body) and the query text of a
    direct POST. Raises QueryFailed for what the protocol says is a client error."""
    params: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        params.setdefault(key, []).append(value)
    if request.method != "POST":
        return params, None
    # the body is read before anything is refused: a refusal that leaves it unread would
    # leave the connection unusable for the client's next request
    body = await read_body(request, limit)
    media, _, rest = request.headers.get("content-type", "").partition(";")
    media = media.strip().lower()
    charset = "utf-8"
    for part in rest.split(";"):
        name, _, value = part.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip('"').lower()
    if not media:
        raise QueryFailed(400, "a POST needs a Content-Type: application/x-www-form-urlencoded "
                               "or application/sparql-query")
    if media == "application/sparql-update":
        raise QueryFailed(403, "this endpoint is read-only: updates are refused")
    if media not in ("application/x-www-form-urlencoded", "application/sparql-query"):
        raise QueryFailed(415, f"a query is sent as application/x-www-form-urlencoded or "
                               f"application/sparql-query, not {media}")
    if charset not in ("utf-8", "utf8"):
        raise QueryFailed(400, f"the body must be UTF-8, not {charset}")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise QueryFailed(400, "the body is not valid UTF-8") from None
    if media == "application/sparql-query":
        return params, text
    try:
        form = parse_qs(text, keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:
        raise QueryFailed(400, "the form is not valid UTF-8") from None
    for key, values in form.items():
        params.setdefault(key, []).extend(values)
    return params, None


def make_job(site: Site, query: str, params: dict[str, list[str]],
             result_types: tuple[str, ...], graph_types: tuple[str, ...]) -> QueryJob:
    for name in ("default-graph-uri", "named-graph-uri"):
        for value in params.get(name, ()):
            try:
                ox.NamedNode(value)
            except ValueError:
                raise QueryFailed(400, f"{name} must be an IRI, not {value[:200]!r}") from None
    return QueryJob(
        query=query,
        result_types=result_types,
        graph_types=graph_types,
        default_graphs=tuple(params.get("default-graph-uri", ())),
        named_graphs=tuple(params.get("named-graph-uri", ())),
        max_rows=site.limits.max_rows,
        base_iri=site.base,
        max_bytes=site.limits.max_result_bytes,
        prefixes=site.prefixes,
    )


def service_description(site: Site, endpoint: str, media: str) -> bytes:
    g = Graph()
    g.bind("sd", SD)
    s = URIRef(endpoint)

    def sd(name: str) -> URIRef:
        return URIRef(SD + name)

    g.add((s, URIRef(RDF_TYPE), sd("Service")))
    g.add((s, sd("endpoint"), s))
    g.add((s, sd("supportedLanguage"), sd("SPARQL11Query")))
    g.add((s, sd("feature"), sd("UnionDefaultGraph")))
    for fmt in ("SPARQL_Results_JSON", "SPARQL_Results_XML", "SPARQL_Results_CSV",
                "SPARQL_Results_TSV", "Turtle", "N-Triples", "RDF_XML", "JSON-LD"):
        g.add((s, sd("resultFormat"), URIRef("http://www.w3.org/ns/formats/" + fmt)))
    dataset = URIRef(endpoint + "#dataset")
    g.add((s, sd("defaultDataset"), dataset))
    g.add((dataset, URIRef(RDF_TYPE), sd("Dataset")))
    default = URIRef(endpoint + "#default-graph")
    g.add((dataset, sd("defaultGraph"), default))
    g.add((default, URIRef(RDF_TYPE), sd("Graph")))
    for n, name in enumerate(sorted(site.store.named_graphs(), key=str)):
        ng = URIRef(f"{endpoint}#named-graph-{n + 1}")
        g.add((dataset, sd("namedGraph"), ng))
        g.add((ng, URIRef(RDF_TYPE), sd("NamedGraph")))
        g.add((ng, sd("name"), URIRef(name.value)))
    if site.dist is not None:
        g.add((s, URIRef("http://rdfs.org/ns/void#sparqlEndpoint"), s))
    return g.serialize(format=SD_FORMATS[media], encoding="utf-8")


def table_of(body: bytes) -> Table:
    """SPARQL JSON results as the table the results page shows."""
    doc = json.loads(body)
    if "boolean" in doc:
        return Table((), (), (), bool(doc["boolean"]))
    variables = tuple(doc["head"]["vars"])
    terms = tuple(tuple(term_from_json(b.get(v)) for v in variables)
                  for b in doc["results"]["bindings"])
    rows = tuple(tuple("" if t is None else str(t) for t in row) for row in terms)
    return Table(variables, rows, terms)


def triples_of(body: bytes) -> Table:
    """A graph result (Turtle) as the table the results page shows: a row a triple."""
    triples = sorted(ox.parse(body, format=ox.RdfFormat.TURTLE), key=str)
    terms = tuple(tuple(to_rdflib(t) for t in (q.subject, q.predicate, q.object))
                  for q in triples)
    rows = tuple(tuple(str(t) for t in row) for row in terms)
    return Table(("subject", "predicate", "object"), rows, terms)


def page_editor(site: Site) -> Editor | None:
    """The query editor of the pages, None when its files are not served."""
    return editor(site.assets, site.examples, site.prefixes, "/sparql")


def results_page(site: Site, query: str, outcome: QueryAnswer | QueryFailed,
                 alternates: tuple[tuple[str, str], ...] = ()) -> Response:
    if isinstance(outcome, QueryFailed):
        html = pages.results_page(query, None, str(outcome), site.examples, "/sparql",
                                  base=site.base, editor=page_editor(site))
        return Response(html, status_code=outcome.status, media_type="text/html; charset=utf-8")
    graph = outcome.kind == "graph"
    table = triples_of(outcome.body) if graph else table_of(outcome.body)
    html = pages.results_page(query, table, None, site.examples, "/sparql", base=site.base,
                              alternates=alternates, unit="triple" if graph else "row",
                              editor=page_editor(site))
    return Response(html, media_type="text/html; charset=utf-8")


@dataclass(frozen=True)
class Negotiated:
    """What a query's answer may be given as, by kind, best first; HTML first: the page."""

    solutions: tuple[str, ...]
    graph: tuple[str, ...]

    def page_for(self, kind: str) -> bool:
        types = self.graph if kind == "graph" else self.solutions
        return bool(types) and types[0] == HTML

    def job_types(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The media types the query is run for: the page's data is SPARQL JSON or Turtle."""
        solutions = (JSON_RESULTS,) if self.page_for("solutions") else \
            tuple(m for m in self.solutions if m != HTML)
        graph = (TURTLE,) if self.page_for("graph") else tuple(m for m in self.graph if m != HTML)
        return solutions, graph


def negotiate(params: dict[str, list[str]], accept: str | None) -> Negotiated:
    """By kind: the format format= / output= names, else what the Accept header ranks."""
    values = params.get("format", []) + params.get("output", [])
    try:
        forced = {kind: named(values, kind) for kind in ("solutions", "graph")}
    except UnknownFormat as e:
        raise QueryFailed(400, str(e)) from None
    return Negotiated(*((m,) if (m := forced[kind]) else ranked(accept, kind)
                        for kind in ("solutions", "graph")))


def same_query(request: Request, query: str, fmt: str) -> str:
    """The address of the same query, as ``fmt``."""
    return "/sparql?" + urlencode({"query": query, "format": fmt})


async def sparql(request: Request) -> Response:
    """Every request to /sparql."""
    site: Site = request.app.state.site
    if request.method == "OPTIONS":  # a CORS preflight is the middleware's
        return Response(status_code=204, headers={"Allow": ALLOW})
    accept = request.headers.get("accept")
    queries: list[str] = []
    wanted: Negotiated | None = None
    try:
        params, direct = await protocol_params(
            request, site.limits.max_query_bytes + BODY_SLACK)
        if "update" in params or "using-graph-uri" in params or "using-named-graph-uri" in params:
            raise QueryFailed(403, "this endpoint is read-only: updates are refused")
        queries = params.get("query", [])
        if direct is not None and direct.strip():
            if queries:
                raise QueryFailed(400, "give the query once: in the body or as ?query=, not both")
            queries = [direct]
        if len(queries) > 1:
            raise QueryFailed(400, "give exactly one query parameter")
        if not queries:
            if request.method == "POST":
                raise QueryFailed(400, "a POST to /sparql needs a query: a form field `query`, "
                                       "or the query as the body (application/sparql-query)")
            return description(request, site, params, accept)
        query = queries[0]
        wanted = negotiate(params, accept)
        result_types, graph_types = wanted.job_types()
        job = make_job(site, query, params, result_types, graph_types)
        answer = await site.queries.answer(job, client_of(request))
    except ClientDisconnect:
        return Response(status_code=400)
    except QueryFailed as e:
        page = wanted is not None and wanted.page_for("solutions") and wanted.page_for("graph")
        response = results_page(site, queries[0], e) if page else plain(e.status, str(e))
        if isinstance(e, BodyTooLarge):
            response.headers["Connection"] = "close"
        if isinstance(e, Runaway):
            # the thread is lost to the query: this process is replaced once this answer
            # is sent, and this connection goes with it
            response.headers["Connection"] = "close"
            response.background = BackgroundTask(site.retire)
        return response
    kind = "graph" if answer.kind == "graph" else "solutions"
    if wanted.page_for(kind):
        formats = (("Turtle", "ttl"), ("JSON-LD", "jsonld"), ("N-Triples", "nt")) \
            if kind == "graph" else (("JSON", "json"), ("CSV", "csv"), ("TSV", "tsv"))
        return results_page(site, query, answer, tuple(
            (label, same_query(request, query, fmt)) for label, fmt in formats))
    return Response(answer.body, media_type=with_charset(answer.media_type),
                    headers={"Vary": "Accept"})


def description(request: Request, site: Site, params: dict[str, list[str]],
                accept: str | None) -> Response:
    """A GET without a query: the service description, or the query form for a browser."""
    try:
        media = named(params.get("format", []) + params.get("output", []), "description") \
            or choose(accept, "description") or TURTLE
    except UnknownFormat as e:
        raise QueryFailed(400, str(e)) from None
    if media == HTML:
        return Response(pages.results_page("", None, None, site.examples, "/sparql",
                                           base=site.base, editor=page_editor(site)),
                        media_type="text/html; charset=utf-8", headers={"Vary": "Accept"})
    endpoint = str(request.url.replace(query="", fragment=""))
    body = site.remember(("sd", endpoint, media),
                         lambda: service_description(site, endpoint, media))
    return Response(body, media_type=with_charset(media), headers={"Vary": "Accept"})
