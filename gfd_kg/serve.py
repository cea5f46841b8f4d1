"""HTTP: the SPARQL 1.1 Protocol endpoint, dereferenceable IRIs, web pages and downloads,
over the embedded store (gfd_kg/store.py). A Starlette app, served by uvicorn in several
processes that share one listening socket.

IRIs are slash IRIs answered directly (200, no 303): ``{base}person/x`` is served at
``/person/x``, as HTML for browsers and as Turtle, JSON-LD or N-Triples by Accept header
(q-values honoured), by suffix (``/person/x.ttl``) or by ``?format=ttl``. The endpoint is
read-only: updates get 403.

How a query is answered, and why so (issue 7: the join at 0.8 of the Oxigraph server's
throughput, every competency query within 1.5 times its p50): the server processes share
the port (gfd_kg/supervisor.py); in each, the HTTP protocol answers /sparql itself and a
guard keeps the time limit (gfd_kg/protocol.py). This module holds the site, the app that
answers every other request, and what both answer /sparql with (``sparql_request``)."""

from __future__ import annotations

import functools
import json
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, unquote_plus

import pyoxigraph as ox
from rdflib import Graph, URIRef
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from . import pages
from .conneg import RESOURCE_TYPES, choose, ranked
from .iris import IRIs
from .query import QueryFile, Table, load_query
from .store import (GRAPH_TYPES, RESULT_TYPES, Limits, QueryAnswer, QueryEngine, QueryFailed,
                    QueryJob, load_store)
from .terms import to_rdflib

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
LABELS = ("http://schema.org/name", "http://www.w3.org/2000/01/rdf-schema#label",
          "http://www.w3.org/2004/02/skos/core#prefLabel")
NEIGHBOUR_FACTS = LABELS + (RDF_TYPE, "http://schema.org/startDate", "http://schema.org/endDate",
                            "http://schema.org/roleName", "http://schema.org/streetAddress")
ROLE_TYPES = {"http://schema.org/Role", "http://schema.org/OrganizationRole"}
ROLE_LINKS = ("http://schema.org/performer", "http://schema.org/organizer",
              "http://schema.org/affiliation", "http://schema.org/memberOf")
SUFFIXES = {f".{suffix}": media for suffix, media in RESOURCE_TYPES.items()}
RDF_FORMATS: dict[str, ox.RdfFormat] = {
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/ld+json": ox.RdfFormat.JSON_LD,
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
}
FORMAT_LABELS = {"text/turtle": "Turtle", "application/ld+json": "JSON-LD",
                 "application/n-triples": "N-Triples"}
HTML = "text/html"
SD_TYPES = ("text/turtle", "application/ld+json", "application/n-triples", HTML)
GRAPH_MEDIA = tuple(GRAPH_TYPES)
_DOWNLOAD_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(?:/[A-Za-z0-9][A-Za-z0-9._-]*)?$")


@dataclass
class Site:
    """What the server serves: the store, its limits, the build's files; in each server
    process, the store (``lookup``: the shared in-memory one, or the on-disk one opened
    read-only) and the query engine over it. One of ``memory`` and ``store_dir`` is set."""

    base: str
    store_dir: Path | None
    limits: Limits = field(default_factory=Limits)
    dist: Path | None = None
    examples: list[QueryFile] = field(default_factory=list)
    lookup: ox.Store | None = None
    engine: QueryEngine | None = None
    memory: ox.Store | None = None  # loaded before the server processes fork, inherited
    cache: dict[tuple[str, ...], bytes] = field(default_factory=dict)

    def iri_for_path(self, path: str) -> str:
        return self.base + path.lstrip("/")

    def href(self, iri: str) -> str | None:
        return "/" + iri[len(self.base):] if iri.startswith(self.base) else None

    def downloads(self) -> dict[str, Path]:
        """The published files, by name: those the checksum list names, nothing else."""
        if self.dist is None or not (self.dist / "SHA256SUMS").is_file():
            return {}
        names = {}
        for line in (self.dist / "SHA256SUMS").read_text(encoding="utf-8").splitlines():
            _digest, _, name = line.partition("  ")
            if _DOWNLOAD_NAME.match(name):
                names[name] = self.dist / name
        names["SHA256SUMS"] = self.dist / "SHA256SUMS"
        return names

    def __enter__(self) -> Site:
        return self

    def __exit__(self, *exc: object) -> None:
        """The store folder goes however the server ends: stopped, failed to start, or
        interrupted (the server processes have ended by then)."""
        if self.store_dir is not None:
            shutil.rmtree(self.store_dir, ignore_errors=True)


# -- terms --------------------------------------------------------------------------------

def _triples(store: ox.Store, s=None, p=None, o=None) -> list[ox.Triple]:
    seen: set[ox.Triple] = set()
    for q in store.quads_for_pattern(s, p, o, None):
        seen.add(ox.Triple(q.subject, q.predicate, q.object))
    return sorted(seen, key=str)


def describe(store: ox.Store, iri: str) -> list[ox.Triple]:
    """The resource's outgoing triples in every graph, with the blank nodes they reach
    (a concise bounded description)."""
    out: list[ox.Triple] = []
    todo: list[ox.NamedNode | ox.BlankNode] = [ox.NamedNode(iri)]
    done: set = set()
    while todo:
        node = todo.pop()
        if node in done:
            continue
        done.add(node)
        for t in _triples(store, s=node):
            out.append(t)
            if isinstance(t.object, ox.BlankNode):
                todo.append(t.object)
    return out


def page_graph(store: ox.Store, iri: str, base: str) -> Graph:
    """What a resource page shows: outgoing and incoming triples; for every node
    mentioned its labels, types, dates, position, role name, street; labels of the
    predicates and classes; and for a role, who holds it in which event."""
    g = Graph()
    node = ox.NamedNode(iri)

    def add(triples: Iterable[ox.Triple]) -> None:
        for t in triples:
            g.add((to_rdflib(t.subject), to_rdflib(t.predicate), to_rdflib(t.object)))

    facts = [ox.NamedNode(p) for p in NEIGHBOUR_FACTS + (base + "ontology/position",)]
    triples = describe(store, iri) + _triples(store, o=node)
    add(triples)
    mentioned = {x for t in triples for x in (t.subject, t.predicate, t.object)
                 if not isinstance(x, ox.Literal)}
    roles = set()
    for m in sorted(mentioned, key=str):
        for p in facts:
            found = _triples(store, s=m, p=p)
            add(found)
            if p.value == RDF_TYPE and any(t.object.value in ROLE_TYPES for t in found):
                roles.add(m)
    for role in sorted(roles, key=str):
        held = [t for p in ROLE_LINKS for t in _triples(store, s=role, p=ox.NamedNode(p))]
        holders = _triples(store, o=role)
        add(held + holders)
        for t in held:
            mentioned.add(t.object)
            add(_triples(store, s=t.object, p=ox.NamedNode(LABELS[0])))
        for t in holders:
            mentioned.add(t.subject)
            add(_triples(store, s=t.subject, p=ox.NamedNode(LABELS[0])))
    # labels of every class the page names
    for cls in sorted({t for t in g.objects(None, URIRef(RDF_TYPE))}, key=str):
        for p in LABELS[1:]:
            add(_triples(store, s=ox.NamedNode(str(cls)), p=ox.NamedNode(p)))
    return g


def serialise_triples(triples: Iterable[ox.Triple], media: str,
                      prefixes: dict[str, str] | None = None) -> bytes:
    fmt = RDF_FORMATS[media]
    if fmt == ox.RdfFormat.TURTLE and prefixes:
        return ox.serialize(sorted(triples, key=str), format=fmt, prefixes=prefixes) or b""
    return ox.serialize(sorted(triples, key=str), format=fmt) or b""


# -- the SPARQL endpoint --------------------------------------------------------------------
# Answered from the raw request (method, query string, a few headers, body), so that the
# HTTP protocol (SparqlProtocol, gfd_kg/protocol.py) can answer it without the Starlette stack.

JSON_RESULTS = "application/sparql-results+json"
RESULTS_OR_HTML = (*RESULT_TYPES, HTML)
VARY_ACCEPT = ((b"vary", b"Accept"),)


@dataclass(frozen=True)
class Reply:
    """An HTTP answer: status, Content-Type, body, other headers."""

    status: int
    media: str
    body: bytes
    headers: tuple[tuple[bytes, bytes], ...] = ()


@dataclass(frozen=True)
class Pending:
    """A query to run and how to answer with its outcome."""

    job: QueryJob
    render: Callable[[QueryAnswer | QueryFailed], Reply]


def _plain_reply(status: int, message: str) -> Reply:
    return Reply(status, "text/plain; charset=utf-8", (message.rstrip() + "\n").encode("utf-8"))


def _plain(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return PlainTextResponse(message.rstrip() + "\n", status_code=status, headers=headers)


def _unquote(raw: bytes) -> str:
    """``urllib.parse.unquote_plus`` of an ASCII query-string part, with the escapes
    decoded in C: ``%XX`` becomes ``\\xXX`` for the ``unicode_escape`` codec (a backslash
    of the text is escaped first), then the bytes are read as UTF-8 (bad bytes replaced,
    as unquote does). A broken escape (``%ZZ``, a ``%`` at the end) makes the codec fail;
    then unquote_plus itself decides. tests/test_results.py checks both agree."""
    if b"+" in raw:
        raw = raw.replace(b"+", b" ")
    if b"%" not in raw:
        return raw.decode("ascii")
    try:
        return raw.replace(b"\\", b"\\x5c").replace(b"%", b"\\x").decode(
            "unicode_escape").encode("latin-1").decode("utf-8", "replace")
    except UnicodeDecodeError:
        return unquote_plus(raw.decode("ascii"))


def parse_query_string(raw: bytes) -> dict[str, list[str]]:
    """``parse_qs(raw.decode("latin-1"), keep_blank_values=True)`` (what Starlette and
    the form parser see), fast for the usual ASCII query string."""
    if not raw.isascii():
        return parse_qs(raw.decode("latin-1"), keep_blank_values=True)
    out: dict[str, list[str]] = {}
    for part in raw.split(b"&"):
        if not part:
            continue
        name, _, value = part.partition(b"=")
        out.setdefault(_unquote(name), []).append(_unquote(value))
    return out


def _protocol_params(method: str, query_string: bytes, content_type: str | None,
                     body: bytes) -> tuple[dict[str, list[str]], str | None]:
    """The protocol's parameters (query string and form body) and the query text of a
    direct POST. Raises QueryFailed for what the protocol says is a client error."""
    params = parse_query_string(query_string)
    if method != "POST":
        return params, None
    media, _, rest = (content_type or "").partition(";")
    media = media.strip().lower()
    charset = "utf-8"
    m = re.search(r"charset\s*=\s*\"?([^\";]+)", rest, re.I)
    if m:
        charset = m.group(1).strip().lower()
    if not media:
        raise QueryFailed(400, "a POST needs a Content-Type: application/x-www-form-urlencoded "
                               "or application/sparql-query")
    if media in ("application/sparql-update",):
        raise QueryFailed(403, "this endpoint is read-only: updates are refused")
    if charset not in ("utf-8", "utf8"):
        raise QueryFailed(400, f"the body must be UTF-8, not {charset}")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise QueryFailed(400, "the body is not valid UTF-8") from None
    if media == "application/x-www-form-urlencoded":
        try:
            form = parse_qs(text, keep_blank_values=True, errors="strict")
        except UnicodeDecodeError:
            raise QueryFailed(400, "the form is not valid UTF-8") from None
        for key, values in form.items():
            params.setdefault(key, []).extend(values)
        return params, None
    if media == "application/sparql-query":
        return params, text
    raise QueryFailed(415, f"a query is sent as application/x-www-form-urlencoded or "
                           f"application/sparql-query, not {media}")


def _job(site: Site, query: str, params: dict[str, list[str]], accept: str | None) -> QueryJob:
    for name in ("default-graph-uri", "named-graph-uri"):
        for value in params.get(name, ()):
            try:
                ox.NamedNode(value)
            except ValueError:
                raise QueryFailed(400, f"{name} must be an IRI, not {value[:200]!r}") from None
    return QueryJob(
        query=query,
        result_types=ranked(accept, RESULT_TYPES),
        graph_types=ranked(accept, GRAPH_MEDIA),
        default_graphs=tuple(params.get("default-graph-uri", ())),
        named_graphs=tuple(params.get("named-graph-uri", ())),
        max_rows=site.limits.max_rows,
        base_iri=site.base,
        max_bytes=site.limits.max_result_bytes,
    )


def service_description(site: Site, endpoint: str, media: str) -> bytes:
    body = site.cache.get(("sd", endpoint, media))
    if body is not None:
        return body
    sd = "http://www.w3.org/ns/sparql-service-description#"
    g = Graph()
    g.bind("sd", sd)
    s = URIRef(endpoint)
    SD = lambda n: URIRef(sd + n)  # noqa: E731
    g.add((s, URIRef(RDF_TYPE), SD("Service")))
    g.add((s, SD("endpoint"), s))
    g.add((s, SD("supportedLanguage"), SD("SPARQL11Query")))
    g.add((s, SD("feature"), SD("UnionDefaultGraph")))
    for fmt in ("SPARQL_Results_JSON", "SPARQL_Results_XML", "SPARQL_Results_CSV",
                "SPARQL_Results_TSV", "Turtle", "N-Triples", "RDF_XML", "JSON-LD"):
        g.add((s, SD("resultFormat"), URIRef("http://www.w3.org/ns/formats/" + fmt)))
    dataset = URIRef(endpoint + "#dataset")
    g.add((s, SD("defaultDataset"), dataset))
    g.add((dataset, URIRef(RDF_TYPE), SD("Dataset")))
    default = URIRef(endpoint + "#default-graph")
    g.add((dataset, SD("defaultGraph"), default))
    g.add((default, URIRef(RDF_TYPE), SD("Graph")))
    assert site.lookup is not None
    for n, name in enumerate(sorted(site.lookup.named_graphs(), key=str)):
        ng = URIRef(f"{endpoint}#named-graph-{n + 1}")
        g.add((dataset, SD("namedGraph"), ng))
        g.add((ng, URIRef(RDF_TYPE), SD("NamedGraph")))
        g.add((ng, SD("name"), URIRef(name.value)))
    if site.dist is not None:
        g.add((s, URIRef("http://rdfs.org/ns/void#sparqlEndpoint"), s))
    fmt = {"text/turtle": "turtle", "application/ld+json": "json-ld",
           "application/n-triples": "nt"}[media]
    body = g.serialize(format=fmt, encoding="utf-8")
    if len(site.cache) < 256:  # one entry per Host a client names: bounded
        site.cache[("sd", endpoint, media)] = body
    return body


def sparql_request(site: Site, method: str, query_string: bytes, accept: str | None,
                   content_type: str | None, body: bytes, endpoint: str) -> Reply | Pending:
    """What to answer a request to /sparql (GET, HEAD or POST): a reply at once, or a
    query to run first. ``endpoint`` is the endpoint's URL, for the service description."""
    try:
        params, direct = _protocol_params(method, query_string, content_type, body)
        if "update" in params or "using-graph-uri" in params or "using-named-graph-uri" in params:
            raise QueryFailed(403, "this endpoint is read-only: updates are refused")
        queries = params.get("query", [])
        if direct is not None:
            if queries:
                raise QueryFailed(400, "give the query once: in the body or as ?query=, not both")
            queries = [direct]
        if len(queries) > 1:
            raise QueryFailed(400, "give exactly one query parameter")
        if not queries:
            media = choose(accept, SD_TYPES) or "text/turtle"
            if media == HTML:
                return Reply(200, "text/html; charset=utf-8", pages.results_page(
                    "", None, None, site.examples, "/sparql", base=site.base).encode("utf-8"))
            return Reply(200, media, service_description(site, endpoint, media), VARY_ACCEPT)
        query = queries[0]
        # HTML only when the client ranks it above every results format (browsers do)
        if method != "POST" and choose(accept, RESULTS_OR_HTML) == HTML:
            return Pending(_job(site, query, params, JSON_RESULTS),
                           functools.partial(_results_page, site, query))
        return Pending(_job(site, query, params, accept), _results)
    except QueryFailed as e:
        return _plain_reply(e.status, str(e))


def _results(outcome: QueryAnswer | QueryFailed) -> Reply:
    if isinstance(outcome, QueryFailed):
        return _plain_reply(outcome.status, str(outcome))
    return Reply(200, _with_charset(outcome.media_type), outcome.body, VARY_ACCEPT)


def _results_page(site: Site, query: str, outcome: QueryAnswer | QueryFailed) -> Reply:
    if isinstance(outcome, QueryFailed):
        html = pages.results_page(query, None, str(outcome), site.examples, "/sparql",
                                  base=site.base)
        return Reply(outcome.status, "text/html; charset=utf-8", html.encode("utf-8"))
    table = _table_from_json(outcome.body) if outcome.kind != "graph" else None
    error = None if table is not None else "a CONSTRUCT or DESCRIBE result: ask for Turtle"
    html = pages.results_page(query, table, error, site.examples, "/sparql", base=site.base)
    return Reply(200, "text/html; charset=utf-8", html.encode("utf-8"))


async def sparql(request: Request) -> Response:
    """/sparql through Starlette: only what SparqlProtocol leaves to it (it answers every
    GET, HEAD and POST of /sparql itself), so the same code answers, with the same limits."""
    site: Site = request.app.state.site
    body = await request.body() if request.method == "POST" else b""
    endpoint = str(request.url.replace(query="", fragment=""))
    plan = sparql_request(site, request.method, request.scope["query_string"],
                          request.headers.get("accept"), request.headers.get("content-type"),
                          body, endpoint)
    if isinstance(plan, Pending):
        try:
            outcome: QueryAnswer | QueryFailed = site.engine.ask(plan.job, _client(request))
        except QueryFailed as e:
            outcome = e
        plan = plan.render(outcome)
    return Response(plan.body, status_code=plan.status, media_type=plan.media,
                    headers={k.decode("latin-1"): v.decode("latin-1") for k, v in plan.headers})


def _client(request: Request) -> str:
    """Who is asking, for the per-client limits: the peer address (proxy headers are not
    trusted; run the server behind no proxy, or give each proxy its own limits)."""
    return request.client.host if request.client else ""


def _with_charset(media: str) -> str:
    return f"{media}; charset=utf-8" if media.startswith("text/") or "json" in media or \
        "xml" in media else media


def _table_from_json(body: bytes) -> Table:
    from .query import _from_json  # the same reading of SPARQL JSON as the client's

    doc = json.loads(body)
    if "boolean" in doc:
        return Table((), (), (), bool(doc["boolean"]))
    variables = tuple(doc["head"]["vars"])
    terms = tuple(tuple(_from_json(b.get(v)) for v in variables) for b in doc["results"]["bindings"])
    rows = tuple(tuple("" if t is None else str(t) for t in row) for row in terms)
    return Table(variables, rows, terms)


async def health(request: Request) -> Response:
    site: Site = request.app.state.site
    assert site.lookup is not None
    return Response(json.dumps({"status": "ok", "quads": len(site.lookup)}),
                    media_type="application/json")


async def download(request: Request) -> Response:
    site: Site = request.app.state.site
    name = request.path_params["name"]
    path = site.downloads().get(name)
    if path is None or not path.is_file():
        return _plain(404, f"no download named {name!r}; see /#downloads")
    media = {".ttl": "text/turtle", ".nt": "application/n-triples", ".nq": "application/n-quads",
             ".trig": "application/trig", ".jsonld": "application/ld+json",
             ".html": "text/html"}.get(path.suffix, "text/plain")
    return FileResponse(path, media_type=_with_charset(media))


async def void(request: Request) -> Response:
    site: Site = request.app.state.site
    files = site.downloads()
    if "void.ttl" not in files:
        return _plain(404, "this server has no dataset description (serve a build to get one)")
    media = _asked_format(request, tuple(RDF_FORMATS)) or "text/turtle"
    body = site.cache.get(("void", media))
    if body is None:  # the description does not change while the server runs
        g = Graph().parse(files["void.ttl"], format="turtle")
        fmt = {"text/turtle": "turtle", "application/ld+json": "json-ld",
               "application/n-triples": "nt"}[media]
        body = site.cache[("void", media)] = g.serialize(format=fmt, encoding="utf-8")
    return Response(body, media_type=_with_charset(media), headers={"Vary": "Accept"})


def _asked_format(request: Request, offered: tuple[str, ...]) -> str | None:
    fmt = request.query_params.get("format")
    if fmt:
        media = RESOURCE_TYPES.get(fmt) or (fmt if fmt in offered else None)
        return media if media in offered else None
    return choose(request.headers.get("accept"), offered)


async def landing(request: Request) -> Response:
    site: Site = request.app.state.site
    if request.query_params.get("format") or choose(request.headers.get("accept"),
                                                    (HTML, *RDF_FORMATS)) != HTML:
        return await void(request)
    files = site.downloads()
    downloads = [pages.Download(name, path.stat().st_size,
                                _media_of(name), f"/download/{name}")
                 for name, path in sorted(files.items()) if path.is_file()]
    info = pages.LandingInfo(
        title="gfd-kg: the GfD 2008 Tunis seminar on partnerships for e-government",
        description=("The agenda of the OECD Good Governance for Development (GfD) in Arab "
                     "Countries 6th High Level Seminar on Partnerships and Frameworks for "
                     "Collaboration on E-Government (Tunis, 27-28 May 2008) as linked data: "
                     "sessions, talks, people, organisations, countries, questions, documents "
                     "and venues, and what each talk says about public-private partnerships "
                     "and public-public collaboration."),
        licence_href="https://creativecommons.org/licenses/by/4.0/",
        licence_label="CC BY 4.0",
        seminar_href="/event/gfd-2008-tunis",
        sparql_href="/sparql",
        void_href="/.well-known/void",
        ontology_href="/ontology/",
        downloads=downloads,
        examples=site.examples,
        counts=_counts(site),
    )
    return Response(pages.landing_page(info), media_type="text/html; charset=utf-8")


def _media_of(name: str) -> str:
    return {"ttl": "text/turtle", "nt": "application/n-triples", "nq": "application/n-quads",
            "trig": "application/trig", "jsonld": "application/ld+json", "html": "text/html"
            }.get(name.rsplit(".", 1)[-1], "text/plain")


def _counts(site: Site) -> dict[str, int]:
    assert site.lookup is not None
    counts = {}
    for label, cls in (("events", "http://schema.org/Event"), ("people", "http://schema.org/Person"),
                       ("countries", "http://schema.org/Country")):
        counts[label] = len({q.subject for q in site.lookup.quads_for_pattern(
            None, ox.NamedNode(RDF_TYPE), ox.NamedNode(cls), None)})
    counts["triples"] = len(site.lookup)
    return counts


async def docs_page(request: Request) -> Response:
    site: Site = request.app.state.site
    kind = request.url.path.strip("/").split("/")[0]  # "ontology" or "shapes"
    files = site.downloads()
    media = _asked_format(request, (HTML, "text/turtle")) or HTML
    name = f"{kind}.html" if media == HTML else f"{kind}.ttl"
    if name not in files:
        return _plain(404, f"no {kind} documentation on this server")
    return FileResponse(files[name], media_type=_with_charset(media), headers={"Vary": "Accept"})


async def resource(request: Request) -> Response:
    """Any IRI of the dataset, by its path. The lookups and the rendering run in a
    thread, so that the event loop keeps answering other requests meanwhile."""
    return await run_in_threadpool(_resource, request)


def _resource(request: Request) -> Response:
    site: Site = request.app.state.site
    path = request.url.path
    forced = None
    for suffix, media in SUFFIXES.items():
        if path.endswith(suffix):
            path, forced = path[: -len(suffix)], media
            break
    offered = tuple(RESOURCE_TYPES.values())
    if forced is None and request.query_params.get("format"):
        forced = RESOURCE_TYPES.get(request.query_params["format"])
        if forced is None:
            return _plain(400, f"format must be one of {', '.join(RESOURCE_TYPES)}")
    media = forced or choose(request.headers.get("accept"), offered)
    if media is None:
        return _plain(406, "this resource is available as " + ", ".join(offered),
                      headers={"Vary": "Accept"})
    iri = site.iri_for_path(path)
    assert site.lookup is not None
    try:
        triples = describe(site.lookup, iri)
    except ValueError:  # not even an IRI (a space, "<", "{"...): not one of ours
        return _not_found(media, iri)
    known = bool(triples) or any(True for _ in site.lookup.quads_for_pattern(
        None, None, ox.NamedNode(iri), None))
    headers = {"Vary": "Accept", "Content-Location": f"{path}.{_suffix_of(media)}"}
    if not known:
        return _not_found(media, iri)
    if media == HTML:
        alternates = {FORMAT_LABELS[m]: f"{path}.{_suffix_of(m)}" for m in RDF_FORMATS}
        embedding = _embedding_for(site, iri)
        html = pages.resource_page(page_graph(site.lookup, iri, site.base), URIRef(iri),
                                   site.href, alternates, embedding, base=site.base)
        link = ", ".join(f'<{href}>; rel="alternate"; type="{m}"'
                         for m, href in ((m, f"{path}.{_suffix_of(m)}") for m in RDF_FORMATS))
        return Response(html, media_type="text/html; charset=utf-8",
                        headers={**headers, "Link": link})
    prefixes = {p: str(ns) for p, ns in IRIs(site.base).prefixes().items()}
    return Response(serialise_triples(triples, media, prefixes), media_type=_with_charset(media),
                    headers=headers)


def _suffix_of(media: str) -> str:
    return next(s for s, m in RESOURCE_TYPES.items() if m == media)


def _not_found(media: str, iri: str) -> Response:
    message = f"{iri} is not a resource of this dataset"
    if media == HTML:
        return Response(pages.error_page(404, "Not found", message), status_code=404,
                        media_type="text/html; charset=utf-8")
    if media == "application/ld+json":
        return Response(json.dumps({"@graph": [], "error": message}), status_code=404,
                        media_type="application/ld+json")
    return Response(f"# {message}\n".encode(), status_code=404, media_type=_with_charset(media))


def _embedding_for(site: Site, iri: str) -> str | None:
    from .embed import document_name, dumps

    if site.dist is not None and iri.startswith(site.base + "event/"):
        path = site.dist / "embed" / document_name(URIRef(iri), site.base)
        if path.is_file():
            return path.read_text(encoding="utf-8").strip()
    assert site.lookup is not None
    g = page_graph(site.lookup, iri, site.base)
    doc = pages.resource_embedding(g, URIRef(iri), site.base)
    return dumps(doc).strip() if doc else None


# -- the app ----------------------------------------------------------------------------

CORS_EXPOSED = ("Content-Location", "Link")


def create_app(site: Site, engine: Callable[[ox.Store], QueryEngine] | None = None) -> Starlette:
    """The Starlette app of one server process: it opens the store read-only at startup
    (``engine`` makes the query engine over it; by default an unguarded one)."""

    @asynccontextmanager
    async def lifespan(app: Starlette):
        site.lookup = site.memory if site.memory is not None else \
            ox.Store.read_only(str(site.store_dir))
        site.engine = (engine or (lambda store: QueryEngine(store, site.limits)))(site.lookup)
        yield

    routes = [
        Route("/", landing, methods=["GET", "HEAD"]),
        Route("/health", health, methods=["GET"]),
        Route("/sparql", sparql, methods=["GET", "POST"]),
        Route("/sparql/", sparql, methods=["GET", "POST"]),
        Route("/.well-known/void", void, methods=["GET", "HEAD"]),
        Route("/download/{name:path}", download, methods=["GET", "HEAD"]),
        Route("/ontology", lambda r: RedirectResponse("/ontology/", 301)),
        Route("/ontology/", docs_page, methods=["GET", "HEAD"]),
        Route("/shapes/", docs_page, methods=["GET", "HEAD"]),
        Route("/{path:path}", resource, methods=["GET", "HEAD"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan, middleware=[
        Middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["GET", "POST", "HEAD"],
                   allow_headers=["*"], expose_headers=CORS_EXPOSED, max_age=600)])
    app.state.site = site
    return app


def prepare_site(paths: list[Path], base: str, limits: Limits, dist: Path | None,
                 queries_dir: Path | None, graphs: dict[Path, str] | None = None,
                 in_memory: bool = True) -> Site:
    """Load the files into a fresh store: in memory (the server processes, forked after
    the load, inherit it), or on disk in a temporary folder, removed again if the load fails
    or is interrupted (Ctrl-C, or a TERM the caller turns into SystemExit). The caller
    removes the folder once served: ``with prepare_site(...) as site:``."""
    examples = [load_query(p) for p in sorted(queries_dir.glob("*.rq"))] if queries_dir else []
    if in_memory:
        return Site(base=base, store_dir=None, limits=limits, dist=dist, examples=examples,
                    memory=load_store(paths, None, graphs))
    store_dir = Path(tempfile.mkdtemp(prefix="gfd-kg-store-"))
    try:
        load_store(paths, store_dir, graphs)  # closed again: each process opens it read-only
    except BaseException:
        shutil.rmtree(store_dir, ignore_errors=True)
        raise
    return Site(base=base, store_dir=store_dir, limits=limits, dist=dist, examples=examples)
