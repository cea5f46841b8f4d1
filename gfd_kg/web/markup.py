"""What the site tells search engines and crawlers: the dataset as a schema.org ``Dataset``
(read from the build's VoID/DCAT description, every download a ``DataDownload``), a sitemap
of every page, and robots.txt pointing at it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from xml.sax.saxutils import escape

import pyoxigraph as ox
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF

SCHEMA = "http://schema.org/"
SEMINAR = "https://w3id.org/gfd-kg/ontology/Seminar"


def _text(g: Graph, node: URIRef, p: URIRef) -> str | None:
    values = sorted(str(v) for v in g.objects(node, p) if isinstance(v, Literal))
    return values[0] if values else None


def _event_dates(store: ox.Store, cls: str) -> tuple[str, str] | None:
    """The first start and the last end (dates) of the dataset's events of ``cls``."""
    rows = store.query(
        "SELECT (MIN(STR(?start)) AS ?s) (MAX(STR(?end)) AS ?e) WHERE { ?x a <" + cls + "> ; "
        "<http://schema.org/startDate> ?start . OPTIONAL { ?x <http://schema.org/endDate> "
        "?end } }", use_default_graph_as_union=True)
    for row in rows:  # type: ignore[union-attr]
        start, end = row["s"], row["e"]
        if start is not None:
            return start.value[:10], (end.value if end is not None else start.value)[:10]
    return None


def dataset_embedding(void: Graph, store: ox.Store, site: str,
                      downloads: Iterable[tuple[str, str]]) -> dict[str, Any] | None:
    """The dataset the VoID graph describes, as schema.org JSON-LD for the landing page;
    ``site`` is the server's own address (with a final /), ``downloads`` (name, media
    type) the files it serves. None when the graph describes no dataset."""
    datasets = sorted(s for s in void.subjects(RDF.type, DCAT.Dataset) if isinstance(s, URIRef))
    if not datasets:
        return None
    ds = datasets[0]
    doc: dict[str, Any] = {"@context": "https://schema.org", "@type": "Dataset",
                           "@id": str(ds), "url": site}
    for key, p in (("name", DCTERMS.title), ("description", DCTERMS.description),
                   ("version", URIRef(str(DCAT) + "version")),  # DCAT 3, not in rdflib's list
                   ("dateCreated", DCTERMS.created)):
        value = _text(void, ds, p)
        if value:
            doc[key] = value
    licence = void.value(ds, DCTERMS.license)
    if licence is not None:
        doc["license"] = str(licence)
    for key, p in (("creator", DCTERMS.creator), ("publisher", DCTERMS.publisher)):
        agent = void.value(ds, p)
        if isinstance(agent, URIRef):
            doc[key] = {"@type": "Organization", "@id": str(agent),
                        "name": _text(void, agent, FOAF.name) or str(agent)}
    keywords = sorted(str(k) for k in void.objects(ds, DCAT.keyword))
    if keywords:
        doc["keywords"] = keywords
    dates = _event_dates(store, SEMINAR)
    if dates:
        doc["temporalCoverage"] = f"{dates[0]}/{dates[1]}"
    place = void.value(ds, DCTERMS.spatial)
    if isinstance(place, URIRef):
        names = [q.object.value for q in store.quads_for_pattern(
            ox.NamedNode(str(place)), ox.NamedNode(SCHEMA + "name"), None, None)
            if isinstance(q.object, ox.Literal)]
        doc["spatialCoverage"] = {"@type": "Place", "@id": str(place),
                                  **({"name": sorted(names)[0]} if names else {})}
    doc["distribution"] = [{"@type": "DataDownload", "name": name,
                            "contentUrl": f"{site}download/{name}", "encodingFormat": media}
                           for name, media in downloads]
    return doc


def sitemap(site: str, paths: Iterable[str]) -> str:
    """A sitemap (sitemaps.org 0.9) of the pages at ``paths`` under ``site``."""
    urls = "".join(f"  <url><loc>{escape(site.rstrip('/') + p)}</loc></url>\n"
                   for p in sorted(set(paths)))
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
            f"{urls}</urlset>\n")


def robots(site: str) -> str:
    """Every page may be crawled; the query endpoint is left out (each query is a page)."""
    return f"User-agent: *\nDisallow: /sparql\nSitemap: {site}sitemap.xml\n"
