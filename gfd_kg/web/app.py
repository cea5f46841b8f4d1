"""The web application: one Starlette app per server process, answering the SPARQL endpoint
(gfd_kg/web/sparql.py), every IRI of the dataset, the pages, the dataset description and the
downloads.

IRIs are slash IRIs answered directly (200, no 303): ``{base}person/x`` is served at
``/person/x``, as HTML for browsers and as Turtle, JSON-LD or N-Triples by Accept header
(q-values honoured), by suffix (``/person/x.ttl``) or by ``?format=ttl``."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

import pyoxigraph as ox
from rdflib import Graph, URIRef
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from ..iris import IRIs
from ..publish import jsonld_text
from . import browse, markup, pages
from .conneg import (
    HTML,
    JSONLD,
    NTRIPLES,
    RDFXML,
    RESOURCE_TYPES,
    TURTLE,
    UnknownFormat,
    named,
    ranked,
)
from .editor import HOW_TO_GET_IT, SCRIPT, script_path
from .site import RDF_TYPE, Site, describe, page_graph
from .sparql import ALLOW, SD_FORMATS, page_editor, plain, sparql, with_charset

SUFFIXES = {f".{suffix}": media for suffix, media in RESOURCE_TYPES.items()}
RDF_FORMATS: dict[str, ox.RdfFormat] = {
    TURTLE: ox.RdfFormat.TURTLE,
    JSONLD: ox.RdfFormat.JSON_LD,
    NTRIPLES: ox.RdfFormat.N_TRIPLES,
    RDFXML: ox.RdfFormat.RDF_XML,
}
FORMAT_LABELS = {HTML: "HTML", TURTLE: "Turtle", JSONLD: "JSON-LD", NTRIPLES: "N-Triples",
                 RDFXML: "RDF/XML"}
CORS_EXPOSED = ("Content-Location", "Link")
# what each download is for, in the order the landing page lists them (the rest after)
ABOUT_DOWNLOADS = {
    "gfd-all.ttl": "Everything in one Turtle file (the data, the ontology, the inferred "
                   "triples, the provenance): the triples of the SPARQL endpoint's default "
                   "graph. Take this one to query the graph with your own tool.",
    "gfd-all.nt": "The same as gfd-all.ttl, as sorted N-Triples, for line-based tools and "
                  "bulk loaders.",
    "gfd.trig": "The four graphs, each in its own named graph, for a store that keeps graphs "
                "apart: query with GRAPH, or with the union of the graphs as default graph.",
    "gfd.nq": "The same four named graphs as gfd.trig, as N-Quads.",
    "gfd.ttl": "The asserted data only (no ontology, inferences or provenance): several "
               "example queries give fewer rows or none on it alone.",
    "gfd.nt": "The asserted data only, as sorted N-Triples.",
    "gfd.jsonld": "The asserted data only, as JSON-LD compacted with context.jsonld.",
    "context.jsonld": "The JSON-LD context of gfd.jsonld: the dataset's prefixes.",
    "inferred.ttl": "Only what OWL RL reasoning adds to the data.",
    "provenance.ttl": "Only the provenance (PROV-O): the agenda lines each node comes from, "
                      "every correction, the build.",
    "ontology.ttl": "The ontology (gfdo:).",
    "ontology.html": "The ontology's documentation.",
    "shapes.ttl": "The SHACL shapes the data is checked against.",
    "shapes.html": "The shapes' documentation.",
    "void.ttl": "The dataset's description in VoID and DCAT: licence, sources, sizes and "
                "every download.",
    "SHA256SUMS": "The SHA-256 of every file (sha256sum --check SHA256SUMS).",
    "changes.ttl": "What changed since the previous release, triple by triple, in the "
                   "Changeset vocabulary (the page /changes).",
    "changes.html": "What changed since the previous release, as a page (/changes).",
}


def serialise_triples(triples: Iterable[ox.Triple], media: str, site: Site) -> bytes:
    """A resource's triples as ``media``: Turtle with the dataset's prefixes, JSON-LD
    compacted with the dataset's context (given inline), the others as pyoxigraph writes
    them."""
    ordered = sorted(triples, key=str)
    fmt = RDF_FORMATS[media]
    if fmt == ox.RdfFormat.TURTLE:
        return ox.serialize(ordered, format=fmt, prefixes=dict(site.prefixes)) or b""
    if fmt == ox.RdfFormat.JSON_LD:
        nt = ox.serialize(ordered, format=ox.RdfFormat.N_TRIPLES) or b""
        return jsonld_text(nt, IRIs(site.base)).encode("utf-8")
    return ox.serialize(ordered, format=fmt) or b""


def links_to(path: str, media: str) -> str:
    """The Link header of a resource's answer: its other formats, by address."""
    return ", ".join(f'<{path}.{suffix}>; rel="alternate"; type="{m}"'
                     for suffix, m in RESOURCE_TYPES.items() if m != media)


async def health(request: Request) -> Response:
    site: Site = request.app.state.site
    return Response(json.dumps({"status": "ok", "quads": len(site.store)}),
                    media_type="application/json")


async def download(request: Request) -> Response:
    site: Site = request.app.state.site
    name = request.path_params["name"]
    path = site.downloads().get(name)
    if path is None or not path.is_file():
        return plain(404, f"no download named {name!r}; see /#downloads")
    return FileResponse(path, media_type=with_charset(_media_of(name)))


async def void(request: Request) -> Response:
    site: Site = request.app.state.site
    files = site.downloads()
    if "void.ttl" not in files:
        return plain(404, "this server has no dataset description (serve a build to get one)")
    media = asked(request, "description", tuple(RDF_FORMATS)) or TURTLE
    body = site.remember(("void", media), lambda: Graph().parse(
        files["void.ttl"], format="turtle").serialize(format=SD_FORMATS[media], encoding="utf-8"))
    return Response(body, media_type=with_charset(media), headers={"Vary": "Accept"})


def asked(request: Request, kind: str, offered: tuple[str, ...]) -> str | None:
    """Of ``offered``, the media type format= names, else the one the Accept header ranks
    best (the table's order for ``kind``); None: the client accepts none of them. Raises
    UnknownFormat for a format= that names nothing."""
    named_type = named(request.query_params.getlist("format"), kind)
    if named_type:
        return named_type if named_type in offered else None
    return next((m for m in ranked(request.headers.get("accept"), kind) if m in offered), None)


async def landing(request: Request) -> Response:
    site: Site = request.app.state.site
    if asked(request, "resource", (HTML, *RDF_FORMATS)) != HTML:
        return await void(request)
    # made once per process and site address: it reads the whole dataset's description,
    # which does not change while the server runs
    key = ("landing", _site_url(request))
    body = site.memo.get(key)
    if body is None:
        made = (await _landing_html(request, site)).encode("utf-8")
        body = site.remember(key, lambda: made)
    return Response(body, media_type="text/html; charset=utf-8")


async def _landing_html(request: Request, site: Site) -> str:
    files = site.downloads()
    order = {name: n for n, name in enumerate(ABOUT_DOWNLOADS)}
    downloads = [pages.Download(name, path.stat().st_size, _media_of(name),
                                f"/download/{name}", ABOUT_DOWNLOADS.get(name, _about(name)))
                 for name, path in sorted(files.items(),
                                          key=lambda f: (order.get(f[0], len(order)), f[0]))
                 if path.is_file()]
    info = pages.LandingInfo(
        title="gfd-kg: the GfD e-government seminar and meeting of Tunis, May 2008, as linked data",
        description=("The agenda of the OECD Good Governance for Development (GfD) in Arab "
                     "Countries 6th High Level Seminar on Partnerships and Frameworks for "
                     "Collaboration on E-Government (Tunis, 27-28 May 2008) as linked data: "
                     "sessions, talks, people, organisations, countries, questions, documents "
                     "and venues, and what each talk says about public-private partnerships "
                     "and public-public collaboration; with what the OECD's own pages report "
                     "of the events, and the series they belong to."),
        licence_href="https://creativecommons.org/licenses/by/4.0/",
        licence_label="CC BY 4.0",
        sparql_href="/sparql",
        void_href="/.well-known/void",
        ontology_href="/ontology/",
        events=await run_in_threadpool(_events, site),
        downloads=downloads,
        examples=site.examples,
        counts=_counts(site),
        embedding=_dataset_embedding(request, site, downloads),
        editor=page_editor(site),
    )
    return pages.landing_page(info)


EVENTS = """PREFIX schema: <http://schema.org/>
SELECT ?event ?name ?start ?end ?place WHERE {
  ?event a schema:Event ; schema:name ?name .
  FILTER (lang(?name) = "" || langMatches(lang(?name), "en"))
  FILTER NOT EXISTS { ?event schema:superEvent ?parent }
  OPTIONAL { ?event schema:startDate ?start }
  OPTIONAL { ?event schema:endDate ?end }
  OPTIONAL { ?event schema:location/schema:name ?place }
}"""


def _events(site: Site) -> list[pages.EventLine]:
    """Every event of the data that is part of no other (its programme items are), by date:
    the landing page lists them."""
    found: dict[str, pages.EventLine] = {}
    solutions = site.store.query(EVENTS, use_default_graph_as_union=True)
    assert isinstance(solutions, ox.QuerySolutions)
    for row in solutions:
        iri = row["event"].value
        href = site.href(iri)
        if href is None or iri in found:
            continue
        text = ["" if row[v] is None else row[v].value for v in ("name", "start", "end", "place")]
        found[iri] = pages.EventLine(href, *text)
    return sorted(found.values(), key=lambda e: (e.start, e.name, e.href))


async def static(request: Request) -> Response:
    """The editor's files: YASGUI's built script and stylesheet under /static/yasgui/ and
    our script at /static/editor.js; nothing else. Their addresses carry YASGUI's version
    (?v=), so they may be cached for good."""
    site: Site = request.app.state.site
    name = request.path_params["name"]
    path = None
    if name == SCRIPT:
        path = script_path()
    elif name.startswith("yasgui/") and site.assets is not None:
        path = site.assets.path(name.removeprefix("yasgui/"))
    if path is None or not path.is_file():
        return plain(404, f"no file /static/{name} here" + (
            "" if site.assets is not None else f" (the query editor is off: {HOW_TO_GET_IT})"))
    media = "text/javascript; charset=utf-8" if path.suffix == ".js" else \
        "text/css; charset=utf-8"
    return FileResponse(path, media_type=media,
                        headers={"Cache-Control": "public, max-age=31536000, immutable"})


def _site_url(request: Request) -> str:
    return str(request.url.replace(path="/", query="", fragment=""))


def _dataset_embedding(request: Request, site: Site, downloads: list[pages.Download]) -> str | None:
    from ..embed import dumps

    files = site.downloads()
    if "void.ttl" not in files:
        return None
    void_graph = Graph().parse(files["void.ttl"], format="turtle")
    doc = markup.dataset_embedding(void_graph, site.store, _site_url(request),
                                   [(d.name, d.media_type) for d in downloads])
    return dumps(doc).strip() if doc else None


async def robots(request: Request) -> Response:
    return PlainTextResponse(markup.robots(_site_url(request)))


async def sitemap(request: Request) -> Response:
    """Every page: the landing page, the documentation, the lists and the search page,
    every resource of the dataset."""
    site: Site = request.app.state.site
    paths = ["/", "/sparql", "/ontology/", "/shapes/", *browse.page_paths(site)]
    for q in site.store.quads_for_pattern(None, ox.NamedNode(RDF_TYPE), None, None):
        if isinstance(q.subject, ox.NamedNode):
            href = site.href(q.subject.value)
            if href and not href.startswith(("/ontology/", "/graph/", "/dataset/")):
                paths.append(href)
    body = await run_in_threadpool(markup.sitemap, _site_url(request), paths)
    return Response(body, media_type="application/xml; charset=utf-8")


def _about(name: str) -> str:
    if name.startswith("embed/"):
        return "schema.org JSON-LD of one programme item, for a web page."
    if name.startswith("search/"):
        return "The site's search index (SQLite FTS5), to search the dataset offline."
    return ""


def _media_of(name: str) -> str:
    return {"ttl": "text/turtle", "nt": "application/n-triples", "nq": "application/n-quads",
            "trig": "application/trig", "jsonld": "application/ld+json", "html": "text/html",
            "sqlite": "application/vnd.sqlite3",  # the search index (IANA-registered type)
            }.get(name.rsplit(".", 1)[-1], "text/plain")


def _counts(site: Site) -> dict[str, int]:
    counts = {}
    for label, cls in (("events", "http://schema.org/Event"), ("people", "http://schema.org/Person"),
                       ("countries", "http://schema.org/Country")):
        counts[label] = len({q.subject for q in site.store.quads_for_pattern(
            None, ox.NamedNode(RDF_TYPE), ox.NamedNode(cls), None)})
    counts["triples"] = len(site.store)
    return counts


async def docs_page(request: Request) -> Response:
    site: Site = request.app.state.site
    kind = request.url.path.strip("/").split("/")[0]  # "ontology" or "shapes"
    files = site.downloads()
    media = asked(request, "resource", (HTML, TURTLE)) or HTML
    name = f"{kind}.html" if media == HTML else f"{kind}.ttl"
    if name not in files:
        return plain(404, f"no {kind} documentation on this server")
    return FileResponse(files[name], media_type=with_charset(media), headers={"Vary": "Accept"})


async def changes(request: Request) -> Response:
    """What changed since the previous release (the build's changes.html / changes.ttl,
    gfd_kg/diff.py); a first release's page says it is the first. 404 when the server
    serves no build."""
    site: Site = request.app.state.site
    files = site.downloads()
    if request.url.path.endswith(".ttl"):
        media: str | None = TURTLE
    else:
        media = asked(request, "resource", (HTML, TURTLE))
    name = "changes.ttl" if media == TURTLE else "changes.html"
    if name not in files:
        return plain(404, "this server has no list of changes (serve a build to get one)")
    return FileResponse(files[name], media_type=with_charset(media or HTML),
                        headers={"Vary": "Accept"})


async def resource(request: Request) -> Response:
    """Any IRI of the dataset, by its path. The lookups and the rendering run in a
    thread, so that the event loop keeps answering other requests meanwhile."""
    return await run_in_threadpool(_resource, request)


def _resource(request: Request) -> Response:
    site: Site = request.app.state.site
    path = request.url.path
    offered = tuple(RESOURCE_TYPES.values())
    media: str | None = None
    for suffix, suffix_media in SUFFIXES.items():
        if path.endswith(suffix):
            path, media = path[: -len(suffix)], suffix_media
            break
    else:
        media = asked(request, "resource", offered)
    if media is None:
        return plain(406, "this resource is available as " + ", ".join(offered),
                     headers={"Vary": "Accept"})
    iri = site.iri_for_path(path)
    try:
        triples = describe(site.store, iri)
    except ValueError:  # not even an IRI (a space, "<", "{"...): not one of ours
        return _not_found(media, iri)
    known = bool(triples) or any(True for _ in site.store.quads_for_pattern(
        None, None, ox.NamedNode(iri), None))
    if not known:
        return _not_found(media, iri)
    headers = {"Vary": "Accept", "Content-Location": f"{path}.{_suffix_of(media)}",
               "Link": links_to(path, media)}
    if media == HTML:
        alternates = {FORMAT_LABELS[m]: f"{path}.{_suffix_of(m)}" for m in RDF_FORMATS}
        graph = page_graph(site.store, iri, site.base)
        embedding = _embedding_for(site, iri, graph)
        html = pages.resource_page(graph, URIRef(iri), site.href, alternates, embedding,
                                   base=site.base)
        return Response(html, media_type="text/html; charset=utf-8", headers=headers)
    return Response(serialise_triples(triples, media, site), media_type=with_charset(media),
                    headers=headers)


def _suffix_of(media: str) -> str:
    return next(s for s, m in RESOURCE_TYPES.items() if m == media)


def _not_found(media: str, iri: str) -> Response:
    message = f"{iri} is not a resource of this dataset"
    if media == HTML:
        return Response(pages.error_page(404, "Not found", message), status_code=404,
                        media_type="text/html; charset=utf-8")
    if media == JSONLD:
        return Response(json.dumps({"@graph": [], "error": message}), status_code=404,
                        media_type=JSONLD)
    if media == RDFXML:  # an empty RDF/XML document, the message as a comment
        body = ('<?xml version="1.0" encoding="UTF-8"?>\n<!-- ' + message.replace("--", "- -")
                + ' -->\n<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>\n')
        return Response(body, status_code=404, media_type=with_charset(media))
    return Response(f"# {message}\n".encode(), status_code=404, media_type=with_charset(media))


async def unknown_format(request: Request, exc: Exception) -> Response:
    """A format= that names no format: 400, with the names there are."""
    return plain(400, str(exc))


def _embedding_for(site: Site, iri: str, g: Graph) -> str | None:
    """The page's JSON-LD: an event's from the build's embed/ documents, else made from
    the page graph ``g``."""
    from ..embed import EmbedError, document_name, dumps, event_embedding

    if site.dist is not None and iri.startswith(site.base + "event/"):
        path = site.dist / "embed" / document_name(URIRef(iri), site.base)
        if path.is_file():
            return path.read_text(encoding="utf-8").strip()
        # a talk: its node in the document of the programme item it is part of
        for parent in _ancestors(site.store, iri):
            path = site.dist / "embed" / document_name(URIRef(parent), site.base)
            if path.is_file():
                doc = json.loads(path.read_text(encoding="utf-8"))
                node = _node(doc, iri)
                if node is not None:
                    return dumps({"@context": doc["@context"], **node}).strip()
    if iri.startswith(site.base + "event/"):  # an event of no programme (a meeting)
        try:
            return dumps(event_embedding(g, URIRef(iri), site.base)).strip()
        except EmbedError:
            pass
    doc = pages.resource_embedding(g, URIRef(iri), site.base)
    return dumps(doc).strip() if doc else None


def _ancestors(store: ox.Store, iri: str) -> list[str]:
    """The events ``iri`` is part of, nearest first."""
    found: list[str] = []
    todo = [iri]
    while todo:
        for q in store.quads_for_pattern(ox.NamedNode(todo.pop()),
                                         ox.NamedNode("http://schema.org/superEvent"), None, None):
            if isinstance(q.object, ox.NamedNode) and q.object.value not in found:
                found.append(q.object.value)
                todo.append(q.object.value)
    return found


def _node(doc: object, iri: str) -> dict | None:
    """The node of a JSON-LD tree whose @id is ``iri``."""
    if isinstance(doc, dict):
        if doc.get("@id") == iri:
            return doc
        values: list = list(doc.values())
    elif isinstance(doc, list):
        values = doc
    else:
        return None
    for value in values:
        found = _node(value, iri)
        if found is not None:
            return found
    return None


class DrainBody:
    """ASGI middleware: what is left of a request's body once the app has answered is read
    (up to ``limit`` bytes), so that the server can keep the connection. A body left unread
    makes gunicorn close the connection while the client may still be sending it, and the
    client's side of the closed connection can lose the answer (a HEAD of / with a form
    body did, under tests/test_fuzz.py). Past the limit the server closes, as before."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        more = True

        async def tracked() -> dict:
            nonlocal more
            message = await receive()
            more = message["type"] == "http.request" and message.get("more_body", False)
            return message

        await self.app(scope, tracked, send)
        read = 0
        while more and read <= self.limit:
            message = await tracked()
            read += len(message.get("body", b""))


def create_app(site: Site) -> Starlette:
    """The app of one server process; at its start it opens the site in that process."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        site.open()
        yield

    sparql_methods = ALLOW.replace(" ", "").split(",")
    routes = [
        Route("/", landing, methods=["GET", "HEAD"]),
        Route("/health", health, methods=["GET"]),
        Route("/robots.txt", robots, methods=["GET", "HEAD"]),
        Route("/sitemap.xml", sitemap, methods=["GET", "HEAD"]),
        Route("/sparql", sparql, methods=sparql_methods),
        Route("/sparql/", sparql, methods=sparql_methods),
        Route("/.well-known/void", void, methods=["GET", "HEAD"]),
        Route("/download/{name:path}", download, methods=["GET", "HEAD"]),
        Route("/static/{name:path}", static, methods=["GET", "HEAD"]),
        Route("/ontology", lambda r: RedirectResponse("/ontology/", 301)),
        Route("/ontology/", docs_page, methods=["GET", "HEAD"]),
        Route("/shapes/", docs_page, methods=["GET", "HEAD"]),
        Route("/changes", changes, methods=["GET", "HEAD"]),
        Route("/changes.ttl", changes, methods=["GET", "HEAD"]),
        *(Route(f"/{key}/", browse.browse, methods=["GET", "HEAD"]) for key in browse.LISTINGS),
        Route("/scheme/{name}", browse.scheme, methods=["GET", "HEAD"]),
        Route("/search", browse.search, methods=["GET", "HEAD"]),
        Route("/{path:path}", resource, methods=["GET", "HEAD"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan,
                    exception_handlers={UnknownFormat: unknown_format}, middleware=[
        Middleware(DrainBody, limit=site.limits.max_query_bytes + 64 * 1024),
        Middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["GET", "POST", "HEAD"],
                   allow_headers=["*"], expose_headers=CORS_EXPOSED, max_age=600)])
    app.state.site = site
    return app
