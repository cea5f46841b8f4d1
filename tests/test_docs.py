"""The HTML documentation of the ontology and of the shapes, checked against the graphs it
is made from: every term and shape has its anchor and its texts, links resolve, output is
byte-identical, and text from a graph cannot inject markup."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

import pytest
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.namespace import OWL, RDF, RDFS, SH, SKOS

from gfd_kg import artefacts
from gfd_kg.docs import ontology_html, shapes_html
from gfd_kg.iris import DEFAULT_BASE, SCHEMA, IRIs
from gfd_kg.render import NAV
from gfd_kg.resources import ontology_dir, shapes_dir

ONTOLOGY_FILE = ontology_dir() / "gfd.ttl"
SHAPES_FILE = shapes_dir() / "gfd.ttl"
GFDO = Namespace(DEFAULT_BASE + "ontology/")
VOID_ELEMENTS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
                 "source", "track", "wbr"}
TERM_TYPES = (OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty, SKOS.ConceptScheme,
              SKOS.Concept)

SELECT = ("SELECT $this WHERE { $this schema:startDate ?s ; schema:endDate ?e . "
          "FILTER (?e < ?s) }")

TINY_SHAPES = """
@prefix sh:     <http://www.w3.org/ns/shacl#> .
@prefix xsd:    <http://www.w3.org/2001/XMLSchema#> .
@prefix rdf:    <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .
@prefix schema: <http://schema.org/> .
@prefix gfdo:   <https://w3id.org/gfd-kg/ontology/> .
@prefix ex:     <https://example.org/shapes/> .

ex: sh:declare [ sh:prefix "schema" ; sh:namespace "http://schema.org/"^^xsd:anyURI ] .

ex:SeminarShape a sh:NodeShape ;
    sh:name "Seminar" ;
    sh:targetClass gfdo:Seminar ;
    sh:property [
        sh:path schema:name ;
        sh:minCount 1 ;
        sh:datatype rdf:langString ;
        sh:message "A seminar needs a name."@en
    ] ;
    sh:property [
        sh:path gfdo:seriesNumber ;
        sh:maxCount 1 ;
        sh:pattern "^[1-9][0-9]*$"
    ] ;
    sh:sparql [
        sh:message "A seminar must not end before it starts." ;
        sh:prefixes ex: ;
        sh:select \"""" + SELECT + """\"
    ] .

ex:TalkShape a sh:NodeShape ;
    sh:name "Talk" ;
    sh:targetClass gfdo:Talk ;
    sh:severity sh:Warning ;
    sh:property [
        sh:path schema:performer ;
        sh:class schema:Role ;
        sh:minCount 1 ;
        sh:message "A talk should have a speaker."@en
    ] ;
    sh:property [
        sh:path gfdo:confirmationStatus ;
        sh:in ( gfdo:ToBeConfirmed )
    ] .
"""


class Page(HTMLParser):
    """Parses a page strictly enough for the tests: every non-void element closed in
    order, ids unique, and the text inside each element that has an id."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.errors: list[str] = []
        self.stack: list[tuple[str, str | None]] = []
        self.ids: list[str] = []
        self.hrefs: list[str] = []
        self.tags: list[str] = []
        self.attrs_seen: list[tuple[str, str]] = []
        self.text_of: dict[str, list[str]] = {}
        self.pres: list[str] = []
        self._in_pre = 0
        self.feed(text)
        self.close()
        if self.stack:
            self.errors.append(f"unclosed: {self.stack}")

    def _boundary(self) -> None:
        # a tag separates words, as a browser's layout mostly does
        for _tag, ident in self.stack:
            if ident is not None:
                self.text_of[ident].append(" ")

    def handle_starttag(self, tag, attrs):
        self._boundary()
        self.tags.append(tag)
        attrs = dict(attrs)
        self.attrs_seen += [(k, v or "") for k, v in attrs.items()]
        if "href" in attrs:
            self.hrefs.append(attrs["href"])
        ident = attrs.get("id")
        if ident is not None:
            if ident in self.text_of:
                self.errors.append(f"duplicate id {ident!r}")
            self.ids.append(ident)
            self.text_of[ident] = []
        if tag == "pre":
            self._in_pre += 1
            self.pres.append("")
        if tag not in VOID_ELEMENTS:
            self.stack.append((tag, ident))

    def handle_startendtag(self, tag, attrs):
        self.errors.append(f"self-closing <{tag}/>")

    def handle_endtag(self, tag):
        self._boundary()
        if tag in VOID_ELEMENTS:
            self.errors.append(f"end tag for void element </{tag}>")
            return
        if not self.stack or self.stack[-1][0] != tag:
            self.errors.append(f"</{tag}> does not close {self.stack[-1:] or 'anything'}")
            return
        self.stack.pop()
        if tag == "pre":
            self._in_pre -= 1

    def handle_data(self, data):
        for _tag, ident in self.stack:
            if ident is not None:
                self.text_of[ident].append(data)
        if self._in_pre:
            self.pres[-1] += data

    def text(self, ident: str) -> str:
        """The text of an element, whitespace collapsed."""
        return re.sub(r"\s+", " ", "".join(self.text_of[ident])).strip()


def load_ontology() -> Graph:
    return Graph().parse(ONTOLOGY_FILE, format="turtle")


def tiny_shapes() -> Graph:
    return Graph().parse(data=TINY_SHAPES, format="turtle")


def local_name(iri: URIRef) -> str:
    return re.split(r"[/#]", str(iri).rstrip("/#"))[-1]


def compact(iri: URIRef) -> str:
    for prefix, ns in (("schema", str(SCHEMA)), ("gfdo", str(GFDO)),
                       ("skos", str(SKOS)), ("owl", str(OWL))):
        if str(iri).startswith(ns):
            return f"{prefix}:{str(iri)[len(ns):]}"
    return str(iri)


def assert_sound(page: Page, text: str) -> None:
    assert text.startswith('<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">')
    assert re.search(r"<title>[^<]+</title>", text)
    assert page.errors == []
    assert page.tags.count("html") == 1 and page.tags.count("body") == 1
    # self-contained: no script, no external stylesheet, font or image (the one link is
    # the empty icon, which keeps a browser from asking for /favicon.ico)
    assert "script" not in page.tags and page.tags.count("link") == 1
    assert '<link rel="icon" href="data:,">' in text
    assert not [k for k, _v in page.attrs_seen if k == "src" or k.startswith("on")]
    ids = set(page.ids)
    dangling = [h for h in page.hrefs if h.startswith("#") and h[1:] not in ids]
    assert dangling == []
    # the site's navigation bar (paths of the site), then anchors and http(s) links
    site = [h for _t, h in NAV.links()] + ["data:,"]
    assert all(h.startswith(("#", "http://", "https://")) or h in site for h in page.hrefs)


@pytest.fixture(scope="module")
def ontology() -> Graph:
    return load_ontology()


@pytest.fixture(scope="module")
def onto_html(ontology: Graph) -> str:
    return ontology_html(ontology, DEFAULT_BASE)


@pytest.fixture(scope="module")
def onto_page(onto_html: str) -> Page:
    return Page(onto_html)


# --- ontology page --------------------------------------------------------------------

def test_ontology_page_is_sound_html(onto_page, onto_html):
    assert_sound(onto_page, onto_html)
    assert "<title>gfd-kg ontology: the GfD 2008 Tunis seminar programme" in onto_html


@pytest.mark.parametrize("rdf_type", TERM_TYPES, ids=lambda t: local_name(t))
def test_every_term_has_its_anchor_and_labels(ontology, onto_page, rdf_type):
    terms = sorted(t for t in ontology.subjects(RDF.type, rdf_type) if isinstance(t, URIRef))
    assert terms, f"no {rdf_type} in the ontology"
    for term in terms:
        anchor = local_name(term)
        assert anchor in onto_page.text_of, f"no element with id={anchor!r} for {term}"
        text = onto_page.text(anchor)
        assert str(term) in text
        labels = [lbl for p in (RDFS.label, SKOS.prefLabel) for lbl in ontology.objects(term, p)]
        if str(term).startswith(str(GFDO)):
            assert {lbl.language for lbl in labels} >= {"en", "fr"}, term
        for label in labels:
            assert re.sub(r"\s+", " ", str(label)) in text, (term, label)
        for definition in ontology.objects(term, SKOS.definition):
            assert re.sub(r"\s+", " ", str(definition)) in text, (term, definition.language)


def test_labels_carry_their_language(onto_html):
    assert '<span lang="en">Seminar</span>' in onto_html
    assert '<span lang="fr">Séminaire</span>' in onto_html
    # the apostrophe as Jinja's autoescaping (markupsafe) writes it
    assert '<span lang="fr">Séance d&#39;ouverture</span>' in onto_html


def test_header_states_the_ontology_metadata(onto_page):
    header = onto_page.text("top").split("Contents")[0]
    for expected in ("https://w3id.org/gfd-kg/ontology/0.1.0", "Version 0.1.0",
                     "https://creativecommons.org/licenses/by/4.0/", "gfd-kg contributors",
                     "Preferred prefix gfdo", "Preferred namespace https://w3id.org/gfd-kg/ontology/",
                     "Ontologie gfd-kg : le programme du séminaire"):
        assert expected in header, expected


def test_union_domains_read_as_or(ontology, onto_page):
    unions = []
    for prop, domain in ontology.subject_objects(RDFS.domain):
        members = ontology.value(domain, OWL.unionOf) if isinstance(domain, BNode) else None
        if members is not None:
            expected = " or ".join(compact(m) for m in Collection(ontology, members))
            unions.append(local_name(prop))
            assert f"Domain {expected}" in onto_page.text(local_name(prop))
    assert sorted(unions) == ["confirmationStatus", "country", "position"]
    assert "Domain schema:Event or schema:Role" in onto_page.text("confirmationStatus")


def test_axioms_are_shown(onto_page):
    within = onto_page.text("withinOrganization")
    assert "Characteristics transitive" in within
    assert "Subproperties schema:parentOrganization" in within
    assert "Domain schema:Organization Range schema:Organization" in within
    item = onto_page.text("ProgrammeItem")
    assert "Subclass of schema:Event" in item
    for sub in ("Break", "ClosingSession", "Meal", "OpeningSession", "Reception",
                "Registration", "Session"):
        assert f"gfdo:{sub}" in item.split("Subclasses")[1]
    government = onto_page.text("Government").split("Disjoint with")[1]
    for other in ("Agency", "Directorate", "Ministry", "Unit"):
        assert f"gfdo:{other}" in government
    assert "Disjoint with gfdo:PublicPublicCollaboration" in onto_page.text(
        "PublicPrivatePartnership")
    assert "Inverse of gfdo:discussionQuestionOf" in onto_page.text("discussionQuestion")
    assert "Inverse of schema:superEvent" in onto_page.text("subEvent")
    assert "Range xsd:integer" in onto_page.text("position")
    # a class lists the properties whose domain is it, or a union containing it
    seminar = onto_page.text("Seminar")
    assert "Domain of gfdo:seriesNumber gfdo:workingGroup" in seminar
    assert "Range of gfdo:contactFor" in seminar
    assert "Broader gfdo:NewLegalEntity" in onto_page.text("SharedServiceCentre")
    assert "Narrower gfdo:SharedServiceCentre" in onto_page.text("NewLegalEntity")
    assert "Related gfdo:InformalNetworkDegree" in onto_page.text("InformalNetwork")
    assert "In scheme gfdo:DriverScheme" in onto_page.text("RiskSharing")


@pytest.mark.parametrize("which", ["ontology", "shapes"])
def test_docs_pages_have_the_site_navigation(which, onto_html, tiny_html):
    """The issue's "the ontology page has no way back to the site": both pages extend
    base.html, whose navigation bar links every part of the site, and the search box."""
    text = onto_html if which == "ontology" else tiny_html
    page = Page(text)
    nav = text.split('<nav aria-label="Site">')[1].split("</nav>")[0]
    assert re.findall(r'<a href="([^"]+)">([^<]+)</a>', nav) == [
        (href, label) for label, href in NAV.links()]
    assert f'<form class="search" action="{NAV.search}"' in text
    assert page.tags.count("main") == 1 and page.tags.count("header") == 2


def test_an_ontology_without_an_ontology_node_still_has_its_page():
    g = Graph()
    g.add((GFDO.Thing, RDF.type, OWL.Class))
    g.add((GFDO.Thing, RDFS.label, Literal("A thing", lang="en")))
    text = ontology_html(g, DEFAULT_BASE)
    page = Page(text)
    assert_sound(page, text)
    assert "<title>Ontology</title>" in text
    assert f"Namespace {GFDO}" in page.text("top")
    assert "A thing" in page.text("Thing")


def test_concepts_follow_their_scheme_in_broader_order(onto_html):
    sections = re.findall(r'<section class="term" id="([^"]+)"', onto_html)
    scheme = sections.index("ArrangementFormScheme")
    assert sections.index("NewLegalEntity") > scheme
    assert sections[sections.index("NewLegalEntity") + 1] == "SharedServiceCentre"
    # the scheme's tree nests the narrower concept under the broader one
    tree = onto_html.split('id="ArrangementFormScheme"')[1].split("</section>")[0]
    assert re.search(r'href="#NewLegalEntity">.*?</a><ul><li><a href="#SharedServiceCentre"',
                     tree)


def test_external_terms_are_compact_links(onto_html, onto_page):
    assert '<a href="http://schema.org/Event"><code>schema:Event</code></a>' in onto_html
    assert "schema:City rdfs:subClassOf schema:AdministrativeArea" in onto_page.text(
        "sec-external-axioms")


def test_ontology_page_is_deterministic(ontology, onto_html):
    assert ontology_html(ontology, DEFAULT_BASE) == onto_html
    assert ontology_html(load_ontology(), DEFAULT_BASE) == onto_html


def test_anchors_do_not_depend_on_the_base(onto_page):
    iris = IRIs("https://example.org/kg/")
    text = ontology_html(artefacts.ontology(iris), iris.base)
    page = Page(text)
    assert_sound(page, text)
    assert sorted(page.ids) == sorted(onto_page.ids)
    assert "https://example.org/kg/ontology/Seminar" in page.text("Seminar")
    assert "Subclasses gfdo:CaseStudy gfdo:Keynote" in page.text("Talk")


def test_injected_markup_is_inert():
    g = load_ontology()
    evil = "<script>alert(1)</script>"
    g.add((GFDO.Seminar, RDFS.label, Literal(evil, lang="en")))
    g.add((GFDO.Seminar, SKOS.definition, Literal(evil + '" onmouseover="x', lang="fr")))
    g.add((GFDO.Seminar, RDFS.seeAlso, URIRef("javascript:alert(1)")))
    g.add((GFDO.Evil, RDF.type, OWL.Class))
    g.add((GFDO.Evil, RDFS.label, Literal(evil, lang=None)))
    text = ontology_html(g, DEFAULT_BASE)
    assert html.escape(evil) in text
    assert "<script" not in text.lower()
    assert 'href="javascript' not in text
    page = Page(text)
    assert_sound(page, text)
    assert evil in page.text("Seminar") and evil in page.text("Evil")


# --- shapes page ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_html() -> str:
    return shapes_html(tiny_shapes(), DEFAULT_BASE)


@pytest.fixture(scope="module")
def tiny_page(tiny_html: str) -> Page:
    return Page(tiny_html)


def test_shapes_page_is_sound_html(tiny_page, tiny_html):
    assert_sound(tiny_page, tiny_html)
    assert tiny_page.ids.index("SeminarShape") < tiny_page.ids.index("TalkShape")


def test_shapes_page_lists_targets_constraints_and_messages(tiny_page):
    seminar = tiny_page.text("SeminarShape")
    assert "Targets class gfdo:Seminar" in seminar
    assert "schema:name 1..* datatype rdf:langString Violation A seminar needs a name." \
        in seminar
    assert "gfdo:seriesNumber 0..1 pattern ^[1-9][0-9]*$ Violation" in seminar
    assert "Warning" not in seminar
    talk = tiny_page.text("TalkShape")
    assert "Targets class gfdo:Talk" in talk
    assert "schema:performer 1..* class schema:Role Warning A talk should have a speaker." \
        in talk
    assert "gfdo:confirmationStatus one of gfdo:ToBeConfirmed Warning" in talk
    assert "Violation" not in talk


def test_sparql_constraints_show_message_severity_and_query(tiny_page):
    seminar = tiny_page.text("SeminarShape")
    assert "Severity Violation Message A seminar must not end before it starts." in seminar
    assert tiny_page.pres == ["PREFIX schema: <http://schema.org/>\n\n" + SELECT]


def test_shapes_page_is_deterministic(tiny_html):
    assert shapes_html(tiny_shapes(), DEFAULT_BASE) == tiny_html
    g = tiny_shapes()
    assert shapes_html(g, DEFAULT_BASE) == shapes_html(g, DEFAULT_BASE)


def test_blank_node_shape_is_anchored_by_its_name():
    g = tiny_shapes()
    shape = BNode()
    g.add((shape, RDF.type, SH.NodeShape))
    g.add((shape, SH.name, Literal("Place <shape>")))
    g.add((shape, SH.targetClass, SCHEMA.Place))
    g.add((shape, SH.message, Literal("<script>alert(1)</script>")))
    g.add((shape, SH.targetNode, URIRef("javascript:alert(1)")))
    text = shapes_html(g, DEFAULT_BASE)
    page = Page(text)
    assert_sound(page, text)
    assert "Place <shape>" in page.text("place-shape")
    assert "node javascript:alert(1)" in page.text("place-shape")
    assert "<script" not in text and "&lt;script&gt;" in text
    assert 'href="javascript' not in text


def test_project_shapes_all_have_anchors():
    if not SHAPES_FILE.exists():
        pytest.skip(f"{SHAPES_FILE} is not written yet")
    g = Graph().parse(SHAPES_FILE, format="turtle")
    text = shapes_html(g, DEFAULT_BASE)
    page = Page(text)
    assert_sound(page, text)
    shapes = list(g.subjects(RDF.type, SH.NodeShape))
    assert shapes
    for shape in shapes:
        if isinstance(shape, URIRef):
            assert local_name(shape) in page.text_of, shape
        else:
            name = str(g.value(shape, SH.name))
            slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
            assert any(i == slug or i.startswith(slug + "-") for i in page.ids), name
        for message in g.objects(shape, SH.message):
            assert re.sub(r"\s+", " ", str(message)) in page.text("sec-shapes")
    assert shapes_html(Graph().parse(SHAPES_FILE, format="turtle"), DEFAULT_BASE) == text
