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

import pyoxigraph as ox
from rdflib import Graph, URIRef
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import Route

from ..iris import IRIs
from . import pages
from .conneg import RESOURCE_TYPES, choose
from .site import RDF_TYPE, Site, describe, page_graph
from .sparql import ALLOW, SD_FORMATS, plain, sparql, with_charset

HTML = "text/html"
SUFFIXES = {f".{suffix}": media for suffix, media in RESOURCE_TYPES.items()}
RDF_FORMATS: dict[str, ox.RdfFormat] = {
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/ld+json": ox.RdfFormat.JSON_LD,
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
}
FORMAT_LABELS = {"text/turtle": "Turtle", "application/ld+json": "JSON-LD",
                 "application/n-triples": "N-Triples"}
CORS_EXPOSED = ("Content-Location", "Link")


def serialise_triples(triples: Iterable[ox.Triple], media: str,
                      prefixes: dict[str, str] | None = None) -> bytes:
    fmt = RDF_FORMATS[media]
    if fmt == ox.RdfFormat.TURTLE and prefixes:
        return ox.serialize(sorted(triples, key=str), format=fmt, prefixes=prefixes) or b""
    return ox.serialize(sorted(triples, key=str), format=fmt) or b""


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
    media = {".ttl": "text/turtle", ".nt": "application/n-triples", ".nq": "application/n-quads",
             ".trig": "application/trig", ".jsonld": "application/ld+json",
             ".html": "text/html"}.get(path.suffix, "text/plain")
    return FileResponse(path, media_type=with_charset(media))


async def void(request: Request) -> Response:
    site: Site = request.app.state.site
    files = site.downloads()
    if "void.ttl" not in files:
        return plain(404, "this server has no dataset description (serve a build to get one)")
    media = _asked_format(request, tuple(RDF_FORMATS)) or "text/turtle"
    body = site.remember(("void", media), lambda: Graph().parse(
        files["void.ttl"], format="turtle").serialize(format=SD_FORMATS[media], encoding="utf-8"))
    return Response(body, media_type=with_charset(media), headers={"Vary": "Accept"})


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
    media = _asked_format(request, (HTML, "text/turtle")) or HTML
    name = f"{kind}.html" if media == HTML else f"{kind}.ttl"
    if name not in files:
        return plain(404, f"no {kind} documentation on this server")
    return FileResponse(files[name], media_type=with_charset(media), headers={"Vary": "Accept"})


async def resource(request: Request) -> Response:
    """Any IRI of the dataset, by its path. The lookups and the rendering run in a
    thread, so that the event loop keeps answering other requests meanwhile."""
    return await run_in_threadpool(_resource, request)


def _resource(request: Request) -> Response:
    site: Site = request.app.state.site
    path = request.url.path
    forced: str | None = None
    for suffix, suffix_media in SUFFIXES.items():
        if path.endswith(suffix):
            path, forced = path[: -len(suffix)], suffix_media
            break
    offered = tuple(RESOURCE_TYPES.values())
    if forced is None and request.query_params.get("format"):
        forced = RESOURCE_TYPES.get(request.query_params["format"])
        if forced is None:
            return plain(400, f"format must be one of {', '.join(RESOURCE_TYPES)}")
    media = forced or choose(request.headers.get("accept"), offered)
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
    headers = {"Vary": "Accept", "Content-Location": f"{path}.{_suffix_of(media)}"}
    if not known:
        return _not_found(media, iri)
    if media == HTML:
        alternates = {FORMAT_LABELS[m]: f"{path}.{_suffix_of(m)}" for m in RDF_FORMATS}
        embedding = _embedding_for(site, iri)
        html = pages.resource_page(page_graph(site.store, iri, site.base), URIRef(iri),
                                   site.href, alternates, embedding, base=site.base)
        link = ", ".join(f'<{href}>; rel="alternate"; type="{m}"'
                         for m, href in ((m, f"{path}.{_suffix_of(m)}") for m in RDF_FORMATS))
        return Response(html, media_type="text/html; charset=utf-8",
                        headers={**headers, "Link": link})
    prefixes = {p: str(ns) for p, ns in IRIs(site.base).prefixes().items()}
    return Response(serialise_triples(triples, media, prefixes), media_type=with_charset(media),
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
    return Response(f"# {message}\n".encode(), status_code=404, media_type=with_charset(media))


def _embedding_for(site: Site, iri: str) -> str | None:
    from ..embed import document_name, dumps

    if site.dist is not None and iri.startswith(site.base + "event/"):
        path = site.dist / "embed" / document_name(URIRef(iri), site.base)
        if path.is_file():
            return path.read_text(encoding="utf-8").strip()
    g = page_graph(site.store, iri, site.base)
    doc = pages.resource_embedding(g, URIRef(iri), site.base)
    return dumps(doc).strip() if doc else None


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
        Route("/sparql", sparql, methods=sparql_methods),
        Route("/sparql/", sparql, methods=sparql_methods),
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
