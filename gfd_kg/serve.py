"""HTTP: the SPARQL 1.1 Protocol endpoint, dereferenceable IRIs, web pages and downloads,
over the embedded store (gfd_kg/store.py). A Starlette app, served by uvicorn in several
processes that share one listening socket.

IRIs are slash IRIs answered directly (200, no 303): ``{base}person/x`` is served at
``/person/x``, as HTML for browsers and as Turtle, JSON-LD or N-Triples by Accept header
(q-values honoured), by suffix (``/person/x.ttl``) or by ``?format=ttl``. The endpoint is
read-only: updates get 403.

How a query is answered, and why so (issue 7: the join at 0.8 of the Oxigraph server's
throughput, every competency query within 1.5 times its p50):

- ``serve`` is a supervisor: it loads the store, opens the listening socket and runs
  ``workers`` server processes on it (each opens the store read-only), replacing any that
  ends. A process takes a new connection only when it holds no more than the others
  (``Loads``), so a burst of connections spreads evenly.
- In a server process, GET, HEAD and POST of /sparql are answered by the HTTP protocol
  itself (``SparqlProtocol``, uvicorn's h11 protocol extended): the plainest request (one
  whole request in one read) is read without h11 (``_simple_request`` takes only what h11
  would read the same way), any other by h11; the query runs inline on the event loop's
  thread; the response goes out in one write. No ASGI task, middleware or routing. Every
  other request goes to the Starlette app as before.
- The time limit (``RunawayGuard``): a watcher thread takes the event loop over from a
  query past the limit, answers 503, frees the query's share of the client's limits, and
  serves every other connection on; the process then drains (stops accepting, answers
  what it was asked, closes) and exits, which ends the stuck query; the supervisor starts
  its replacement as soon as the draining begins. Loop threads get a 256 MiB stack: a
  query nested as deep as --max-query-bytes allows needs tens of MB in pyoxigraph.
- Per-client limits are counted across the processes (gfd_kg/store.py, ClientCounts): a
  client runs at most ``workers - 1`` queries at once, so another client always finds a
  process free; its further queries wait (polled every 2 ms) up to ``max_per_client`` in
  flight, then get 429."""

from __future__ import annotations

import asyncio
import functools
import json
import multiprocessing as mp
import os
import re
import shutil
import signal
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.connection import wait as mp_wait
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote_plus, unquote_to_bytes

import h11
import pyoxigraph as ox
from rdflib import Graph, URIRef
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route
from uvicorn.protocols.http.h11_impl import STATUS_PHRASES, H11Protocol

from . import pages
from .conneg import RESOURCE_TYPES, choose, ranked
from .iris import IRIs
from .query import QueryFile, Table, load_query
from .errors import ServeError
from .store import (GRAPH_TYPES, RESULT_TYPES, ClientCounts, Guard, Limits, QueryAnswer,
                    QueryEngine, QueryFailed, QueryJob, Ticket, load_store)
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
    process, the store opened read-only (``lookup``) and the query engine over it."""

    base: str
    store_dir: Path
    limits: Limits = field(default_factory=Limits)
    dist: Path | None = None
    examples: list[QueryFile] = field(default_factory=list)
    lookup: ox.Store | None = None
    engine: QueryEngine | None = None
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
# HTTP protocol (SparqlProtocol below) can answer it without the Starlette stack.

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

def create_app(site: Site, engine: Callable[[ox.Store], QueryEngine] | None = None) -> Starlette:
    """The Starlette app of one server process: it opens the store read-only at startup
    (``engine`` makes the query engine over it; by default an unguarded one)."""

    @asynccontextmanager
    async def lifespan(app: Starlette):
        site.lookup = ox.Store.read_only(str(site.store_dir))
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
                 queries_dir: Path | None, graphs: dict[Path, str] | None = None) -> Site:
    """Load the files into a fresh store in a temporary folder, removed again if the load
    fails or is interrupted (Ctrl-C, or a TERM the caller turns into SystemExit). The
    caller removes it once served: ``with prepare_site(...) as site:``."""
    store_dir = Path(tempfile.mkdtemp(prefix="gfd-kg-store-"))
    try:
        load_store(paths, store_dir, graphs)
        examples = [load_query(p) for p in sorted(queries_dir.glob("*.rq"))] if queries_dir else []
    except BaseException:
        shutil.rmtree(store_dir, ignore_errors=True)
        raise
    return Site(base=base, store_dir=store_dir, limits=limits, dist=dist, examples=examples)


# -- HTTP: the SPARQL endpoint answered in the protocol ------------------------------------

CORS_EXPOSED = ("Content-Location", "Link")
CORS_SIMPLE = ((b"access-control-allow-origin", b"*"),
               (b"access-control-expose-headers", ", ".join(CORS_EXPOSED).encode("ascii")))
_SPARQL_PATHS = (b"/sparql", b"/sparql/")
_SPARQL_METHODS = (b"GET", b"POST", b"HEAD")
_MAX_BODY_SLACK = 64 * 1024


def _is_sparql_request_line(data: bytes, limit: int) -> bool | None:
    """Whether the request that ``data`` starts with is a GET, HEAD or POST of /sparql;
    None while its request line is still incomplete (and within the head ``limit``)."""
    end = data.find(b"\n")
    if end < 0:
        return None if len(data) <= limit else False
    parts = data[:end].split(b" ")
    if len(parts) != 3 or parts[0] not in _SPARQL_METHODS:
        return False
    path = parts[1].partition(b"?")[0]
    if b"%" in path:
        path = unquote_to_bytes(path)
    return path in _SPARQL_PATHS


# A request the protocol reads itself, without h11: one whole GET, HEAD or POST of /sparql
# in one read, in the plainest HTTP/1.1 (see _simple_request); anything else goes to h11.
_SIMPLE_LINE = re.compile(rb"(GET|HEAD|POST) (/sparql/?(?:\?[\x21-\x7e]*)?) HTTP/1\.1")
_SIMPLE_HEADER = re.compile(
    rb"([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*((?:[\x21-\x7e](?:[\x20-\x7e\t]*[\x21-\x7e])?)?)[ \t]*")
_NOT_SIMPLE = frozenset({b"transfer-encoding", b"expect", b"upgrade"})


@dataclass
class _SimpleRequest:
    """A request read by _simple_request: what h11.Request would say of it, and its body."""

    method: bytes
    target: bytes
    headers: list[tuple[bytes, bytes]]
    body: bytes
    close: bool


def _simple_request(data: bytes, limit: int) -> _SimpleRequest | None:
    """``data`` as one request, when it is exactly one request that h11 would take the
    same way: a GET, HEAD or POST of /sparql, HTTP/1.1, CRLF lines, header names that are
    tokens and values of visible ASCII, one Host, no Transfer-Encoding, Expect or Upgrade,
    a body (POST only) of exactly its one Content-Length. None for anything else: h11
    reads it (and refuses what is malformed), so nothing is accepted here that h11 would
    refuse or read otherwise; this only spares the common request h11's cost."""
    if len(data) > limit:
        return None
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return None
    lines = data[:end].split(b"\r\n")
    line = _SIMPLE_LINE.fullmatch(lines[0])
    if line is None:
        return None
    headers: list[tuple[bytes, bytes]] = []
    hosts, length, close = 0, 0, False
    for raw in lines[1:]:
        header = _SIMPLE_HEADER.fullmatch(raw)
        if header is None:
            return None
        name, value = header.group(1).lower(), header.group(2)
        if name in _NOT_SIMPLE:
            return None
        if name == b"host":
            hosts += 1
        elif name == b"content-length":
            if length or not value.isdigit() or len(value) > 12:
                return None
            length = int(value)
        elif name == b"connection":
            tokens = {t.strip().lower() for t in value.split(b",")}
            if b"upgrade" in tokens:
                return None
            close = close or b"close" in tokens
        headers.append((name, value))
    body = data[end + 4:]
    if hosts != 1 or len(body) != length or (length and line.group(1) != b"POST"):
        return None
    return _SimpleRequest(line.group(1), line.group(2), headers, body, close)


class SparqlProtocol(H11Protocol):
    """uvicorn's h11 protocol, with every GET, HEAD and POST of /sparql answered here:
    parsed by h11 as before, then answered on the spot (the query run inline, the response
    written in one piece), without an ASGI task, Starlette's middleware and routing, or two
    writes per response. Everything else goes to the app as before.

    A query waits (parked, polled every 2 ms) while its client already runs its share of
    queries in the other processes; the time limit is the process's RunawayGuard's."""

    site: Site  # the process's, set before serving
    loads: Loads | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._request: h11.Request | _SimpleRequest | None = None
        self._held = b""  # what came while a simple request waits its turn
        self._body = bytearray()
        self._ticket: Ticket | None = None
        self._pending: Pending | None = None
        self._retry: asyncio.TimerHandle | None = None
        self._close_after = False

    def data_received(self, data: bytes) -> None:
        self._unset_keepalive_if_required()
        if self._request is not None and not isinstance(self._request, h11.Request):
            self._held += data  # a simple request waits: this comes after it
            self.flow.pause_reading()
            return
        if self._request is None and self.conn.our_state is h11.IDLE and \
                self.conn.their_state is h11.IDLE and not self.conn.trailing_data[0]:
            simple = _simple_request(data, self.conn._max_incomplete_event_size)
            if simple is not None:
                self._request, self._body = simple, bytearray(simple.body)
                self._close_after = self._close_after or simple.close
                self._answer()
                return
        self.conn.receive_data(data)
        self.handle_events()

    # dispatch: a request of ours is answered here, any other goes to uvicorn's code
    def handle_events(self) -> None:
        while True:
            if self._request is not None:
                if not self._fast_events():
                    return
                continue
            if self.conn.their_state is not h11.IDLE or self.conn.our_state is not h11.IDLE:
                super().handle_events()
                return
            data, closed = self.conn.trailing_data
            ours = _is_sparql_request_line(data, self.conn._max_incomplete_event_size) \
                if data else False
            if ours is None and not closed:
                return  # the request line is not all there yet
            if not ours:
                super().handle_events()
                return
            if not self._fast_events():
                return

    def _fast_events(self) -> bool:
        """Read our request's events; True when it was answered and the next may follow."""
        while True:
            try:
                event = self.conn.next_event()
            except h11.RemoteProtocolError:
                self._forget()
                self.send_400_response("Invalid HTTP request received.")
                return False
            if event is h11.NEED_DATA:
                return False
            if event is h11.PAUSED:  # a pipelined request: read no more until we answer
                self.flow.pause_reading()
                return False
            if isinstance(event, h11.Request):
                self._unset_keepalive_if_required()
                self._request = event
                self._body = bytearray()
                if self.conn.client_is_waiting_for_100_continue:
                    self.transport.write(self.conn.send(h11.InformationalResponse(
                        status_code=100, headers=[], reason=b"Continue")))
            elif isinstance(event, h11.Data):
                self._body += event.data
                if len(self._body) > 4 * self.site.limits.max_query_bytes + _MAX_BODY_SLACK:
                    self._close_after = True
                    self._reply(_plain_reply(413, "the request body is too large for a query"))
                    return False
            elif isinstance(event, h11.EndOfMessage):
                return self._answer()
            elif isinstance(event, h11.ConnectionClosed):
                self._forget()
                return False

    def _header(self, name: bytes) -> str | None:
        assert self._request is not None
        for key, value in self._request.headers:
            if key == name:
                return value.decode("latin-1")
        return None

    def _answer(self) -> bool:
        request = self._request
        assert request is not None
        target, _, query_string = request.target.partition(b"?")
        host = self._header(b"host") or "%s:%d" % (self.server or ("localhost", 80))
        path = unquote_to_bytes(target).decode("latin-1")
        plan = sparql_request(self.site, request.method.decode("ascii"), query_string,
                              self._header(b"accept"), self._header(b"content-type"),
                              bytes(self._body), f"{self.scheme}://{host}{path}")
        if isinstance(plan, Reply):
            return self._reply(plan)
        engine = self.site.engine
        try:
            cached = engine.lookup(plan.job)
            if cached is not None:
                return self._reply(plan.render(cached))
            self._ticket = engine.admit(plan.job, self.client[0] if self.client else "")
        except QueryFailed as e:
            return self._reply(plan.render(e))
        self._ticket.owner = self
        self._pending = plan
        return self._go(waited=False)

    def _go(self, waited: bool) -> bool:
        """Run the pending query if its client may run one now, else wait for its turn."""
        ticket, plan, engine = self._ticket, self._pending, self.site.engine
        assert ticket is not None and plan is not None
        if not engine.may_start(ticket):
            if not waited and SparqlProtocol.parked >= self.site.limits.max_waiting:
                return self._refuse(503, "too many queries at once; try again in a moment")
            SparqlProtocol.parked += 1
            self._retry = self.loop.call_later(0.002, self._resume)
            return False
        outcome = engine.run(ticket)
        if outcome is None:  # stopped by the guard: this thread is no longer the server's
            RunawayGuard.park_forever()
        self._ticket = self._pending = None
        engine.release(ticket)
        return self._reply(plan.render(outcome))

    parked = 0  # requests of this process waiting for their client's turn

    def _resume(self) -> None:
        self._retry = None
        SparqlProtocol.parked -= 1
        if self._go(waited=True):
            self.handle_events()

    def _refuse(self, status: int, message: str) -> bool:
        ticket, plan = self._ticket, self._pending
        assert ticket is not None and plan is not None
        self._ticket = self._pending = None
        self.site.engine.release(ticket)
        return self._reply(plan.render(QueryFailed(status, message)))

    def runaway(self, ticket: Ticket) -> None:
        """The guard stopped this connection's query: 503, and the connection closes."""
        self._ticket = self._pending = None
        self._close_after = True
        message = (f"the query was stopped after {self.site.limits.timeout:g} s, the time "
                   "limit of this endpoint; make it more selective or add LIMIT")
        if not self.transport.is_closing():
            self._reply(_plain_reply(503, message))

    def _close_if_idle(self) -> None:
        if self._request is None and not self.transport.is_closing():
            super().shutdown()

    def _forget(self) -> None:
        """The request will not be answered (the client left, or sent garbage)."""
        if self._retry is not None:
            self._retry.cancel()
            self._retry = None
            SparqlProtocol.parked -= 1
        if self._ticket is not None:
            self.site.engine.release(self._ticket)
        self._ticket = self._pending = self._request = None

    def _closing_headers(self, headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        """The last headers of a response: CORS (as CORSMiddleware answers) and close."""
        if self._header(b"origin") is not None:
            headers = [*headers, *CORS_SIMPLE]
            vary = [v for k, v in headers if k == b"vary"]
            headers = [(k, v) for k, v in headers if k != b"vary"]
            headers.append((b"vary", b", ".join([*vary, b"Origin"])))
        if self._close_after:
            headers = headers + [(b"connection", b"close")]
        return headers

    def _reply(self, reply: Reply) -> bool:
        """Write the response in one piece; True when h11 has the next request to read."""
        request = self._request
        assert request is not None
        headers = [*self.server_state.default_headers, (b"content-type", reply.media.encode()),
                   (b"content-length", str(len(reply.body)).encode()), *reply.headers]
        headers = self._closing_headers(headers)
        if isinstance(request, _SimpleRequest):
            return self._reply_simple(request, reply, headers)
        body = b"" if request.method == b"HEAD" else reply.body
        try:
            out = self.conn.send(h11.Response(status_code=reply.status, headers=headers,
                                              reason=STATUS_PHRASES[reply.status]))
            out += self.conn.send(h11.Data(data=body)) + self.conn.send(h11.EndOfMessage())
        except h11.LocalProtocolError:  # the client broke off meanwhile
            self._request = None
            self.transport.close()
            return False
        self.transport.write(out)
        self._request = None
        self._body = bytearray()
        self.server_state.total_requests += 1
        if self.conn.our_state is h11.MUST_CLOSE or self._close_after:
            self.conn.send(h11.ConnectionClosed())
            self.transport.close()
            return False
        self._unset_keepalive_if_required()
        self.timeout_keep_alive_task = self.loop.call_later(self.timeout_keep_alive,
                                                            self.timeout_keep_alive_handler)
        self.flow.resume_reading()
        if self.conn.our_state is h11.DONE and self.conn.their_state is h11.DONE:
            self.conn.start_next_cycle()
            return True
        return False

    def _reply_simple(self, request: _SimpleRequest, reply: Reply,
                      headers: list[tuple[bytes, bytes]]) -> bool:
        """The response to a request h11 never saw, written as h11 would (h11 stays idle)."""
        head = b"HTTP/1.1 %d %s\r\n" % (reply.status, STATUS_PHRASES[reply.status]) + \
            b"".join(b"%s: %s\r\n" % h for h in headers) + b"\r\n"
        self.transport.write(head if request.method == b"HEAD" else head + reply.body)
        self._request = None
        self._body = bytearray()
        self.server_state.total_requests += 1
        if self._close_after:
            self.transport.close()
            return False
        self.timeout_keep_alive_task = self.loop.call_later(self.timeout_keep_alive,
                                                            self.timeout_keep_alive_handler)
        if self._held:
            held, self._held = self._held, b""
            self.flow.resume_reading()
            self.loop.call_soon(self.data_received, held)
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        if self.loads is not None:
            self.loads.connections[self.loads.row] -= 1
        if self._request is not None:
            self._forget()
        super().connection_lost(exc)

    def shutdown(self) -> None:
        """The process drains: a request waiting for its client's turn is refused (the
        client runs its share of queries already), any other is answered; then the
        connection closes."""
        self._close_after = True
        if self._request is None:
            # idle: a request may be on its way; answer it (and close) if it comes soon
            self.loop.call_later(1.0, self._close_if_idle)
            return
        if self._retry is not None:
            self._retry.cancel()
            self._retry = None
            SparqlProtocol.parked -= 1
            limit = self.site.limits.max_per_client
            self._refuse(429, f"too many queries at once from one client (at most {limit}); "
                              "wait for the earlier ones")


# -- the time limit -------------------------------------------------------------------------

class RunawayGuard(Guard):
    """Stops a query past the time limit, though pyoxigraph cannot interrupt one.

    Queries run inline, on the thread that runs the process's event loop. A watcher
    thread looks every few milliseconds; when the running query has passed the limit it
    takes the event loop over: it marks the query stopped (so that its thread, should the
    query ever end, parks for good instead of touching the loop), frees the query's share
    of its client's limits, answers 503 on its connection, and runs the event loop itself
    from then on, with a fresh watcher. Every other connection of the process is served
    on as if nothing happened. Then the process drains, to get rid of the thread still
    stuck in the query: it stops accepting connections, tells the supervisor (which starts
    a replacement at once), answers what its connections have asked, closes them, and
    exits. The same happens to the next runaway query of a draining process.

    Two details of asyncio are relied on (see ``_take_over``): a loop whose running thread
    is stuck can be run by another thread once its ``_thread_id`` is cleared, and the
    stuck query runs in a plain callback (SparqlProtocol), not in an asyncio task."""

    STACK = 256 * 2**20  # a query 100 kB deep needs tens of MB of stack in pyoxigraph

    def __init__(self, timeout: float, on_runaway: Callable[[], None],
                 loads: Loads | None = None) -> None:
        self.timeout = timeout
        self.loads = loads
        self.on_runaway = on_runaway
        self.lock = threading.Lock()
        self.current: Ticket | None = None
        self.started = 0.0
        self.stopped: set[int] = set()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.engine: QueryEngine | None = None
        self.done = threading.Event()  # set when the loop, whichever thread ran it, ended

    def begin(self, ticket: Ticket) -> None:
        with self.lock:
            self.current, self.started = ticket, time.monotonic()
        if self.loads is not None:
            self.loads.busy_since[self.loads.row] = self.started

    def end(self, ticket: Ticket) -> bool:
        with self.lock:
            if id(ticket) in self.stopped:
                return False
            self.current = None
        if self.loads is not None:
            self.loads.busy_since[self.loads.row] = 0.0
        return True

    @staticmethod
    def park_forever() -> None:
        threading.Event().wait()

    def watch(self) -> None:
        """Start a watcher thread (with a stack a loop thread needs)."""
        size = threading.stack_size(self.STACK)
        try:
            threading.Thread(target=self._watch, name="gfd-kg-guard", daemon=True).start()
        finally:
            threading.stack_size(size)

    def _watch(self) -> None:
        step = min(0.02, self.timeout / 20)
        while True:
            time.sleep(step)
            with self.lock:
                ticket = self.current
                if ticket is None or time.monotonic() - self.started <= self.timeout:
                    continue
                self.stopped.add(id(ticket))
                self.current = None
            self._take_over(ticket)
            return

    def _take_over(self, ticket: Ticket) -> None:
        loop, engine = self.loop, self.engine
        assert loop is not None and engine is not None
        engine.release(ticket)
        owner = ticket.owner
        if owner is not None:
            loop.call_soon(owner.runaway, ticket)
        loop.call_soon(self.on_runaway)
        self.watch()
        task = asyncio.current_task(loop)
        if task is not None:  # stuck in a task (Starlette's /sparql): let others run
            asyncio.tasks._leave_task(loop, task)  # type: ignore[attr-defined]
        loop._thread_id = None  # type: ignore[attr-defined]
        try:
            loop.run_forever()
        finally:
            self.done.set()


# -- the processes ----------------------------------------------------------------------------

@dataclass
class _Child:
    process: mp.process.BaseProcess
    conn: Connection
    row: int
    started: float
    draining: bool = False


class Loads:
    """What the server processes tell each other, in shared memory, so that connections
    spread evenly over them: each one's open connections, whether it is up (not draining),
    and since when it has been running a query (0: it is not). Each process writes only
    its own row."""

    BUSY = 0.005  # a process this long in a query leaves new connections to the others

    def __init__(self, rows: int, ctx: Any) -> None:
        self.rows = rows
        self.connections = ctx.RawArray("i", rows)
        self.up = ctx.RawArray("b", rows)
        self.busy_since = ctx.RawArray("d", rows)
        self.row = 0

    def my_turn(self) -> bool:
        """Whether this process should take the next connection: no process that is up
        and not deep in a query holds fewer."""
        mine, now = self.connections[self.row], time.monotonic()
        for r in range(self.rows):
            if r == self.row or not self.up[r]:
                continue
            since = self.busy_since[r]
            if since and now - since > self.BUSY:
                continue
            if self.connections[r] < mine:
                return False
        return True


class _BalancedListener(socket.socket):
    """The shared listening socket as one process sees it: it takes one connection per
    event-loop turn, and only when it holds no more connections than the others (asyncio
    would accept every pending connection at once, and the process that wakes first
    would take a whole burst while the others idle)."""

    loads: Loads
    _took = False

    def accept(self) -> tuple[socket.socket, Any]:
        if self._took or not self.loads.my_turn():
            self._took = False
            raise BlockingIOError
        self._took = True
        accepted = super().accept()
        # counted now, not when asyncio gets round to connection_made: the next turn's
        # choice must see it
        self.loads.connections[self.loads.row] += 1
        return accepted


def _drain_time(limits: Limits) -> float:
    """How long a draining process may take to answer what its connections asked: every
    query a client may have in flight, each up to the time limit."""
    return 5 + limits.timeout * (limits.max_per_client + 1)


def _head_limit(limits: Limits) -> int:
    # a GET query as long as --max-query-bytes, %-encoded, must fit in a request head
    return max(64 * 1024, 3 * limits.max_query_bytes + 16 * 1024)


def _serve_process(site: Site, sock: socket.socket, counts: ClientCounts, loads: Loads,
                   row: int, conn: Connection) -> None:
    """One server process: uvicorn with SparqlProtocol on the shared listening socket, the
    event loop on a thread with a large stack, this (main) thread waiting for signals."""
    import uvicorn

    counts.row = loads.row = row
    listener = _BalancedListener(sock.family, sock.type, sock.proto, fileno=sock.detach())
    listener.loads = loads
    SparqlProtocol.loads = loads
    servers: list[Any] = []

    def drain() -> None:
        loads.up[row] = 0
        if not servers[0].should_exit:
            servers[0].should_exit = True
            try:
                conn.send("draining")
            except OSError:
                pass

    guard = RunawayGuard(site.limits.timeout, drain, loads)

    def engine(store: ox.Store) -> QueryEngine:
        guard.engine = QueryEngine(store, site.limits, counts, guard)
        guard.watch()
        loads.up[row] = 1  # serving: the others may leave connections to this process
        return guard.engine

    config = uvicorn.Config(create_app(site, engine), http=SparqlProtocol, ws="none",
                            lifespan="on", loop="asyncio", log_level="warning",
                            access_log=False, timeout_graceful_shutdown=_drain_time(site.limits),
                            h11_max_incomplete_event_size=_head_limit(site.limits))
    server = uvicorn.Server(config)
    servers.append(server)
    SparqlProtocol.site = site
    status = [1]

    def run() -> None:
        loop = asyncio.new_event_loop()
        guard.loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(server.serve(sockets=[listener]))
            status[0] = 0
        finally:
            guard.done.set()

    def on_signal(signum: int, frame: Any) -> None:
        if server.should_exit:
            server.force_exit = True
        server.should_exit = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    size = threading.stack_size(RunawayGuard.STACK)  # applies to the threads started now
    try:
        threading.Thread(target=run, name="gfd-kg-loop", daemon=True).start()
    finally:
        threading.stack_size(size)
    while not guard.done.wait(0.5):
        pass
    # a thread may be stuck in a stopped query: exit without waiting for it
    os._exit(0 if guard.stopped or status[0] == 0 else 1)


def bind(host: str, port: int) -> socket.socket:
    """The server's socket, bound but not listening yet: taken before the store loads, so
    that a port in use is said at once; until ``serve`` listens, connections are refused
    rather than left waiting. Raises ServeError."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise ServeError(f"cannot serve on {host}:{port}: {e.strerror or e}; stop what "
                         "uses that address or give another --host or --port") from None
    return sock


def serve(site: Site, sock: socket.socket) -> None:
    """Run ``workers`` server processes on one listening socket (``bind``'s), each
    answering HTTP and running its queries itself, and replace any that stops. A process
    that had to stop a runaway query drains and is replaced at once. The store folder is
    the caller's to remove (``with site:``), so that it goes even when the server cannot
    start; the socket is closed at the end."""
    limits = site.limits
    sock.listen(2048)
    ctx = mp.get_context("spawn")
    rows = 2 * limits.workers + 4
    counts = ClientCounts(rows=rows, ctx=ctx)
    loads = Loads(rows, ctx)
    children: dict[int, _Child] = {}
    stopping = False

    def spawn() -> None:
        free = [r for r in range(rows) if r not in {c.row for c in children.values()}]
        if not free:
            return
        counts.clear_row(free[0])
        loads.connections[free[0]], loads.busy_since[free[0]], loads.up[free[0]] = 0, 0.0, 0
        parent, child = ctx.Pipe(duplex=False)
        process = ctx.Process(target=_serve_process, name=f"gfd-kg-serve-{free[0]}",
                              args=(site, sock, counts, loads, free[0], child))
        process.start()
        child.close()
        children[process.sentinel] = _Child(process, parent, free[0], time.monotonic())

    def on_signal(signum: int, frame: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    crashes = 0
    try:
        for _ in range(limits.workers):
            spawn()
        while not stopping:
            live = sum(not c.draining for c in children.values())
            for _ in range(limits.workers - live):
                spawn()
            waiting = [*children, *(c.conn for c in children.values() if not c.draining)]
            for ready in mp_wait(waiting, timeout=0.5):
                if isinstance(ready, Connection):  # "draining", or the end of the pipe
                    child_of = next((c for c in children.values() if c.conn is ready), None)
                    if child_of is not None:
                        try:
                            child_of.conn.recv()
                        except (EOFError, OSError):
                            pass
                        child_of.draining = True
                        loads.up[child_of.row] = 0
                    continue
                if ready not in children:
                    continue
                gone = children.pop(ready)  # type: ignore[arg-type]
                gone.process.join()
                gone.conn.close()
                counts.clear_row(gone.row)
                loads.up[gone.row] = 0
                if gone.process.exitcode != 0 and time.monotonic() - gone.started < 5:
                    crashes += 1
                    if crashes > 5:
                        raise RuntimeError("the server processes keep failing at start; "
                                           "see the messages above")
                else:
                    crashes = 0
    finally:
        for c in children.values():
            if c.process.is_alive():
                c.process.terminate()
        end = time.monotonic() + _drain_time(limits) + 1
        for c in children.values():
            c.process.join(timeout=max(0.1, end - time.monotonic()))
            if c.process.is_alive():
                c.process.kill()
                c.process.join(timeout=5)
        sock.close()
