"""The SHACL shapes (shapes/gfd.ttl) against the bad fixtures and the published graph.

Every ``tests/shapes/bad-*.ttl`` names, in its first lines, the node shape it must fail
(``# shape:``), a piece of the message it must get (``# message:``) and optionally the
severity (``# severity: Warning``; Violation otherwise). The published graph, asserted and
reasoned, must conform: no violations, and only the warning for the venue's incomplete
telephone number, which the agenda prints that way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from rdflib import RDF, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import RDFS, SH, SKOS

from gfd_kg.iris import SCHEMA, IRIs
from gfd_kg.validate import Report, validate

FIXTURES = sorted((Path(__file__).parent / "shapes").glob("bad-*.ttl"))
TARGETS = (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf, SH.target)
VENUE_TELEPHONE = "+216 860 054"  # as the agenda prints it: +216 and only 6 digits


@dataclass(frozen=True)
class Expected:
    shape: str
    message: str
    severity: str


def _expected(path: Path) -> Expected:
    """The result a fixture announces in its first comment lines."""
    head = path.read_text(encoding="utf-8").splitlines()[:3]
    fields = {}
    for line in head:
        key, sep, value = line.removeprefix("#").partition(":")
        if line.startswith("#") and sep:
            fields[key.strip()] = value.strip()
    assert "shape" in fields and "message" in fields, (
        f"{path.name}: the first two lines must be '# shape: <sh:name>' and '# message: <text>'")
    return Expected(fields["shape"], fields["message"], fields.get("severity", "Violation"))


@pytest.fixture(scope="module")
def report_of(shapes_graph: Graph, ontology_graph: Graph) -> Callable[[Path], Report]:
    """Each fixture validated once, for the tests that read its report."""
    reports: dict[Path, Report] = {}

    def report(path: Path) -> Report:
        if path not in reports:
            data = Graph().parse(path, format="turtle")
            reports[path] = validate(data, shapes_graph, ontology_graph)
        return reports[path]

    return report


def _node_shapes(shapes: Graph) -> set[URIRef]:
    return {s for s in shapes.subjects(RDF.type, SH.NodeShape) if isinstance(s, URIRef)}


# -- the fixtures ---------------------------------------------------------------------


def test_there_are_fixtures():
    assert len(FIXTURES) >= 40


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_fixture_fails_its_shape(path: Path, report_of):
    expected = _expected(path)
    report = report_of(path)
    hits = [r for r in report.results
            if r.shape == expected.shape and r.severity == expected.severity
            and expected.message in r.message]
    assert hits, (f"{path.name} should get a {expected.severity} from shape "
                  f"{expected.shape!r} with a message containing {expected.message!r}; "
                  f"got:\n{report.text()}")


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_fixture_fails_only_its_shape(path: Path, report_of):
    """A fixture is otherwise valid, so it tests one thing."""
    expected = _expected(path)
    report = report_of(path)
    others = [r for r in report.results
              if (r.shape, r.severity) != (expected.shape, expected.severity)]
    assert others == [], f"{path.name} also fails other shapes:\n{report.text()}"


def test_every_node_shape_has_a_fixture(shapes_graph: Graph):
    names = {str(shapes_graph.value(s, SH.name)) for s in _node_shapes(shapes_graph)}
    named = {_expected(p).shape for p in FIXTURES}
    assert sorted(names - named) == [], "node shapes without a tests/shapes/bad-*.ttl"
    assert sorted(named - names) == [], "fixtures naming a shape that does not exist"


# -- the shapes file ------------------------------------------------------------------


def test_every_targeted_shape_is_a_named_node_shape(shapes_graph: Graph):
    targeted = {s for t in TARGETS for s in shapes_graph.subjects(t, None)}
    assert targeted == _node_shapes(shapes_graph)
    unnamed = [s for s in targeted if shapes_graph.value(s, SH.name) is None]
    assert unnamed == []
    names = [str(shapes_graph.value(s, SH.name)) for s in targeted]
    assert len(names) == len(set(names)), "two node shapes share a sh:name"


def test_every_constraint_has_a_message(shapes_graph: Graph):
    """Every property shape and every SPARQL constraint says what is wrong and what is
    expected; node shapes give the name a result is grouped under."""
    silent = [(str(shapes_graph.value(parent, SH.name)), str(shapes_graph.value(c, SH.path)))
              for kind in (SH.property, SH.sparql)
              for parent, c in shapes_graph.subject_objects(kind)
              if shapes_graph.value(c, SH.message) is None]
    assert silent == []


def test_no_shape_is_closed(shapes_graph: Graph):
    """The reasoned graph adds typing triples no closed shape would allow."""
    assert list(shapes_graph.subjects(SH.closed, Literal(True))) == []


def test_concept_lists_are_the_schemes_of_the_ontology(shapes_graph: Graph,
                                                        ontology_graph: Graph):
    """Concept values are checked with sh:in (pySHACL mixes in only the ontology's
    axioms, not its SKOS concepts); each list must be exactly its scheme."""
    checked = 0
    for shape, scheme in shapes_graph.subject_objects(RDFS.seeAlso):
        in_list = shapes_graph.value(shape, SH["in"])
        if in_list is None:
            continue
        assert (scheme, RDF.type, SKOS.ConceptScheme) in ontology_graph, scheme
        listed = set(Collection(shapes_graph, in_list))
        in_scheme = set(ontology_graph.subjects(SKOS.inScheme, scheme))
        assert listed == in_scheme, f"sh:in for {scheme} differs from the ontology"
        checked += 1
    assert checked >= 8  # roleKind, confirmationStatus (twice), five gfdo:concerns*


# -- the published graph --------------------------------------------------------------


def _only_the_venue_telephone_warning(report: Report, iris: IRIs) -> None:
    venue = iris.mint("place", "maison-de-l-entreprise")
    assert report.violations == [], report.text()
    assert len(report.warnings) == 1, report.text()
    warning = report.warnings[0]
    assert warning.shape == "Place"
    assert warning.focus in (venue.n3(), "place:maison-de-l-entreprise")
    assert warning.path is not None and warning.path.endswith("telephone")
    assert warning.value == VENUE_TELEPHONE
    assert "+216 and 8 digits" in warning.message


def test_published_graph_conforms(data_graph, shapes_graph, ontology_graph, iris):
    report = validate(data_graph, shapes_graph, ontology_graph)
    assert report.conforms
    _only_the_venue_telephone_warning(report, iris)


def test_venue_telephone_is_published_as_printed(data_graph, iris):
    """The warning is about the data as the agenda prints it: not to be "fixed"."""
    venue = iris.mint("place", "maison-de-l-entreprise")
    assert list(data_graph.objects(venue, SCHEMA.telephone)) == [Literal(VENUE_TELEPHONE)]


def test_reasoned_graph_conforms(data_graph, shapes_graph, ontology_graph, iris):
    """The published reasoned graph: the data and what OWL RL infers about the dataset's
    own resources (gfd_kg/reason.py; not its restatements about Wikidata's items)."""
    from gfd_kg.reason import infer

    g = data_graph + infer(data_graph, ontology_graph, iris)
    keynote = iris.mint("event", "gfd-2008-tunis/session-1/keynote")
    assert (keynote, RDF.type, iris.ontology.Talk) in g  # the closure was computed
    report = validate(g, shapes_graph, ontology_graph)
    _only_the_venue_telephone_warning(report, iris)


def test_contact_details_conform(data_graph, contacts_graph, shapes_graph, ontology_graph,
                                 iris):
    """The personal contact graph, checked with the public data it hangs from: every
    telephone and fax number of the named contacts is complete."""
    g = Graph()
    for source in (data_graph, contacts_graph):
        for triple in source:
            g.add(triple)
    assert any(True for _ in contacts_graph.triples((None, SCHEMA.telephone, None)))
    report = validate(g, shapes_graph, ontology_graph)
    _only_the_venue_telephone_warning(report, iris)
