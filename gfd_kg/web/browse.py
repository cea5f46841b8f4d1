"""The lists to browse (``/person/``, ``/organization/``, ``/country/``, ``/event/``, the
ontology's concept schemes at ``/scheme/``) and the search (``/search?q=``): each an HTML
page (templates/list.html, templates/search.html) with a JSON twin (``Accept:
application/json`` or ``?format=json``).

A list is one SPARQL query on the served store: a row per member and fact; the facts of a
member are gathered here, sorted, so a member with two affiliations shows both, always in
the same order. The search reads the index the build wrote (gfd_kg/search.py)."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date, datetime
from pathlib import Path

import pyoxigraph as ox
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ..render import render
from ..search import INDEX_NAME, MAX_QUERY_CHARS, Index, IndexMissing, fold
from .conneg import HTML, parse_accept, quality
from .site import Site
from .sparql import plain

JSON = "application/json"
FORMATS = {"html": HTML, "json": JSON}
HITS = 50  # the hits a search shows, best first
PREFIXES = """PREFIX schema: <http://schema.org/>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX gfdo: <{base}ontology/>
"""


@dataclass(frozen=True)
class Listing:
    """One list: its title, what it lists, and the query giving ``?x ?name`` and facts
    (the columns ``facts`` names: a column's values are joined by "; ", the columns by
    " · "). ``order``: an optional column sorted on before the name."""

    title: str
    intro: str
    query: str
    facts: tuple[str, ...] = ()
    order: str | None = None
    shown: Callable[[str, str], str] = lambda _column, value: value


def _when(_column: str, value: str) -> str:
    """A date or date-time as people read it: "Wednesday 28 May 2008, 09:30" (the wall
    clock of the place, as the data writes it)."""
    if _column != "start":
        return value
    try:
        if "T" in value:
            at = datetime.fromisoformat(value)
            return f"{at:%A} {at.day} {at:%B %Y, %H:%M}"
        day = date.fromisoformat(value)
        return f"{day:%A} {day.day} {day:%B %Y}"
    except ValueError:
        return value


LISTINGS: dict[str, Listing] = {
    "person": Listing(
        "People", "Everyone the dataset names, with their title and organisation.",
        """SELECT ?x ?name ?title ?org WHERE {
  ?x a schema:Person ; schema:name ?name .
  OPTIONAL { ?x schema:jobTitle ?title }
  OPTIONAL { ?x schema:affiliation ?o . ?o a schema:Organization ; schema:name ?org }
}""", ("title", "org")),
    "organization": Listing(
        "Organisations", "Every organisation, with the one it is part of and its country.",
        """SELECT ?x ?name ?parent ?country WHERE {
  ?x a schema:Organization ; schema:name ?name .
  OPTIONAL { ?x schema:parentOrganization/schema:name ?parent }
  OPTIONAL { ?x gfdo:country/schema:name ?country }
}""", ("parent", "country")),
    "country": Listing(
        "Countries", "Every country, with its ISO 3166 codes.",
        """SELECT ?x ?name ?codes WHERE {
  ?x a schema:Country ; schema:name ?name .
  OPTIONAL { ?x gfdo:iso3166Alpha2 ?alpha2 }
  OPTIONAL { ?x gfdo:iso3166Alpha3 ?alpha3 }
  BIND (COALESCE(CONCAT(?alpha2, " / ", ?alpha3), ?alpha2, ?alpha3) AS ?codes)
}""", ("codes",)),
    "event": Listing(
        "Events", "Every event and programme item, in time order, with its date and place.",
        """SELECT ?x ?name ?start ?place WHERE {
  ?x a schema:Event ; schema:name ?name .
  OPTIONAL { ?x schema:startDate ?start }
  OPTIONAL { ?x schema:location/schema:name ?place }
}""", ("start", "place"), order="start", shown=_when),
    "scheme": Listing(
        "Concept schemes", "The ontology's concept schemes: the partnership arrangements' "
        "types and forms, drivers, challenges and more, each with its concepts.",
        """SELECT ?x ?name ?french WHERE {
  ?x a skos:ConceptScheme ; skos:prefLabel ?name . FILTER (LANG(?name) = "en")
  OPTIONAL { ?x skos:prefLabel ?french FILTER (LANG(?french) = "fr") }
}""", ("french",)),
}
CONCEPTS = """SELECT ?x ?name ?french WHERE {
  ?x skos:inScheme <{scheme}> ; skos:prefLabel ?name . FILTER (LANG(?name) = "en")
  OPTIONAL { ?x skos:prefLabel ?french FILTER (LANG(?french) = "fr") }
}"""


@dataclass(frozen=True)
class Member:
    iri: str
    href: str | None
    name: str
    fact: str


def members(site: Site, listing: Listing) -> list[Member]:
    """The members of a list, sorted (by ``order``, then by name without case or accents)."""
    gathered: dict[str, dict[str, set[str]]] = {}
    text = PREFIXES.format(base=site.base) + listing.query
    for row in site.store.query(text, use_default_graph_as_union=True):  # type: ignore[union-attr]
        x = row["x"]
        if not isinstance(x, ox.NamedNode):
            continue
        got = gathered.setdefault(x.value, {})
        for column in ("name", *listing.facts):
            value = row[column]
            if value is not None:
                got.setdefault(column, set()).add(value.value)
    found = []
    for iri, got in gathered.items():
        name = min(got.get("name", {iri}), key=lambda n: (len(n), n))
        facts = ["; ".join(listing.shown(c, v) for v in sorted(got[c])) for c in listing.facts
                 if got.get(c)]
        key = (min(got.get(listing.order, {"\uffff"})) if listing.order else "", fold(name), iri)
        found.append((key, Member(iri, site.href(iri), name, " · ".join(facts))))
    return [m for _key, m in sorted(found, key=lambda f: f[0])]


def page_paths(site: Site) -> list[str]:
    """The paths of the pages made here, for the sitemap: every list, one a concept
    scheme, and the search page (its form; answers to queries are not pages to crawl)."""
    schemes = [f"/scheme/{m.iri.rsplit('/', 1)[-1]}" for m in members(site, LISTINGS["scheme"])]
    return [*(f"/{key}/" for key in LISTINGS), *schemes, "/search"]


def chosen(request: Request) -> str | None:
    """HTML or JSON: by format=, else by the Accept header (HTML on a tie); None when
    format= names neither."""
    names = request.query_params.getlist("format")
    if names:
        return FORMATS.get(names[-1].lower())
    ranges = parse_accept(request.headers.get("accept"))
    best = max((HTML, JSON), key=lambda m: (quality(ranges, m), m == HTML))
    return best if quality(ranges, best) > 0 else HTML


def _media_type(media: str) -> str:
    return "text/html; charset=utf-8" if media == HTML else JSON


def _body(media: str, page: Callable[[], str], doc: dict) -> bytes:
    """The answer as ``media``: the JSON of ``doc``, or the page ``page`` renders."""
    text = json.dumps(doc, ensure_ascii=False, indent=1) if media == JSON else page()
    return text.encode("utf-8")


def list_page(site: Site, request: Request, key: str, listing: Listing,
              scheme: str | None = None) -> Response:
    media = chosen(request)
    if media is None:
        return plain(400, "format= may be html or json")
    path = request.url.path

    def make() -> bytes:  # a list does not change while a build is served: made once
        found = members(site, listing)
        doc = {"title": listing.title, "description": listing.intro, "count": len(found),
               "members": [asdict(m) for m in found]}
        return _body(media, lambda: render(
            "list.html", title=listing.title, intro=listing.intro, members=found, kind=key,
            json_href=f"{path}?format=json", scheme=scheme), doc)
    body = site.remember(("list", path, media), make)
    return Response(body, media_type=_media_type(media), headers={"Vary": "Accept"})


async def browse(request: Request) -> Response:
    """``/person/``, ``/organization/``, ``/country/``, ``/event/``, ``/scheme/``."""
    site: Site = request.app.state.site
    key = request.url.path.strip("/")
    return await run_in_threadpool(list_page, site, request, key, LISTINGS[key])


async def scheme(request: Request) -> Response:
    """``/scheme/{name}``: the concepts of one concept scheme of the ontology."""
    site: Site = request.app.state.site
    name = request.path_params["name"]
    iri = f"{site.base}ontology/{name}"

    def answer() -> Response:
        label = members(site, LISTINGS["scheme"])
        found = next((m for m in label if m.iri == iri), None)
        if found is None or "/" in name or not name:
            return plain(404, f"no concept scheme named {name[:100]!r}; see /scheme/")
        listing = Listing(found.name, f"The concepts of the scheme “{found.name}”.",
                          CONCEPTS.replace("{scheme}", iri), ("french",))
        return list_page(site, request, "concept", listing, scheme=found.href)
    return await run_in_threadpool(answer)


@functools.cache
def index_at(path: Path) -> Index:
    """The search index file of a build (one per process; its connections one a thread)."""
    return Index(path)


async def search(request: Request) -> Response:
    site: Site = request.app.state.site
    return await run_in_threadpool(_search, site, request)


def _search(site: Site, request: Request) -> Response:
    media = chosen(request)
    if media is None:
        return plain(400, "format= may be html or json")
    q = request.query_params.get("q", "")
    shown = q[:MAX_QUERY_CHARS]
    error = None
    hits = []
    if q.strip():
        try:
            if site.dist is None:
                raise IndexMissing("this server serves no build, so there is no search index")
            hits = [{**asdict(h), "href": site.href(h.iri)}
                    for h in index_at(site.dist / INDEX_NAME).search(q, HITS)]
        except IndexMissing as e:
            error = str(e)
    doc = {"q": shown, "count": len(hits), "hits": hits, **({"error": error} if error else {})}
    body = _body(media, lambda: render(
        "search.html", q=shown, hits=hits, error=error, search_text=shown, limit=HITS,
        json_href=f"/search?{request.url.query}&format=json" if request.url.query
        else "/search?format=json"), doc)
    return Response(body, status_code=503 if error else 200, media_type=_media_type(media),
                    headers={"Vary": "Accept"})
