"""The compiled SHACL engine (gfd_kg/shacl.py) against pySHACL, the reference: the same
report, result for result, on every shape fixture, on the published graphs, on damaged
copies of the data (many results of every kind at once) and on a synthetic seminar; and
a clear refusal of the SHACL it does not implement."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from rdflib import RDF, Graph, Literal, URIRef
from rdflib.namespace import SH, XSD

from gfd_kg.reason import infer
from gfd_kg.resources import data_dir
from gfd_kg.shacl import CompiledShapes, ShapesError
from gfd_kg.validate import Report, validate, validation_graph

FIXTURES = sorted((Path(__file__).parent / "shapes").glob("bad-*.ttl"))
SH_PREFIXES = "@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix ex: <http://example.org/> .\n"


def _both(data: Graph, shapes: Graph, ontology: Graph) -> tuple[Report, Report]:
    checked = validation_graph(data, ontology)
    return validate(checked, shapes, engine="compiled"), validate(checked, shapes,
                                                                  engine="pyshacl")


def _same(compiled: Report, reference: Report) -> None:
    ours, theirs = sorted(compiled.results, key=repr), sorted(reference.results, key=repr)
    missing = [r for r in theirs if r not in ours]
    extra = [r for r in ours if r not in theirs]
    assert (missing, extra) == ([], []), (
        f"pySHACL only: {missing}\ncompiled only: {extra}")
    assert ours == theirs  # the same results the same number of times


# where pySHACL is wrong and the compiled engine is not: the results pySHACL misses
PYSHACL_MISSES = {
    # a start without a UTC offset against an end with one: XSD leaves their order
    # indeterminate, so sh:lessThan fails (SHACL 4.5.3); pySHACL reads rdflib's
    # Literal.__lt__, which answers that the start is earlier
    "bad-timed-event-no-timezone": [
        ("Timed event", "schema:startDate", "2008-05-28T08:30:00", "must be later than")],
}


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_fixture_gets_pyshacls_report(path: Path, shapes_graph, ontology_graph):
    compiled, reference = _both(Graph().parse(path, format="turtle"), shapes_graph,
                                ontology_graph)
    assert reference.results, f"{path.name} fails no shape"
    misses = PYSHACL_MISSES.get(path.stem, [])
    extra = [r for r in compiled.results if r not in reference.results]
    assert [(r.shape, r.path, r.value) for r in extra] == [m[:3] for m in misses]
    assert all(m[3] in r.message for r, m in zip(extra, misses, strict=True))
    _same(Report(tuple(r for r in compiled.results if r not in extra)), reference)


def test_published_graphs_get_pyshacls_report(data_graph, contacts_graph, shapes_graph,
                                              ontology_graph, iris):
    reasoned = data_graph + infer(data_graph, ontology_graph, iris)
    with_contacts = data_graph + contacts_graph
    for graph in (data_graph, reasoned, with_contacts):
        compiled, reference = _both(graph, shapes_graph, ontology_graph)
        assert len(reference.warnings) == 1 and reference.conforms
        _same(compiled, reference)


def _damaged(data: Graph, seed: int) -> Graph:
    """``data`` with a tenth of its triples dropped and some objects swapped for a
    literal, an IRI of another kind or a value of another datatype."""
    rng = random.Random(seed)
    out = Graph()
    nodes = sorted({s for s in data.subjects() if isinstance(s, URIRef)})
    for s, p, o in sorted(data):
        roll = rng.random()
        if roll < 0.10:
            continue
        if roll < 0.13:
            o = rng.choice([Literal("x"), Literal("x", lang="en"),
                            Literal("0", datatype=XSD.integer),
                            Literal("2008-05-27T09:00:00+02:00", datatype=XSD.dateTime),
                            rng.choice(nodes)])
        out.add((s, p, o))
    return out


@pytest.mark.parametrize("seed", range(4))
def test_damaged_data_gets_pyshacls_report(seed: int, data_graph, shapes_graph,
                                           ontology_graph):
    compiled, reference = _both(_damaged(data_graph, seed), shapes_graph, ontology_graph)
    assert len(reference.violations) >= 50
    kinds = {r.shape for r in reference.violations}
    assert len(kinds) >= 10, kinds
    _same(compiled, reference)


def test_synthetic_seminar_gets_pyshacls_report(tmp_path, shapes_graph, ontology_graph,
                                                iris):
    from gfd_kg.build import assemble
    from gfd_kg.model import DATA_GRAPH
    from gfd_kg.synth import synthesise

    corpus = synthesise(data_dir(), 2, tmp_path / "synth", seed=7)
    data = assemble(corpus, iris).graph(DATA_GRAPH, iris)
    compiled, reference = _both(data, shapes_graph, ontology_graph)
    assert reference.conforms
    _same(compiled, reference)


def _sparql(query: str) -> str:
    return ('ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:sparql [ sh:select """'
            + query + '""" ] .')


@pytest.mark.parametrize("shape, refused", [
    ("ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:sparql [ sh:ask \"ASK {}\" ] .",
     "sh:select"),
    (("ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:property [ sh:path "
      "[ sh:inversePath ( ex:p ex:q ) ] ; sh:minCount 1 ] ."), "inversePath"),
    ("ex:S a sh:NodeShape ; sh:target [ a ex:T ] .", "target"),
    ("ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:severity \"high\" .", "severity"),
    (_sparql("SELECT $this WHERE { $this ?p ?o MINUS { $this ?p 1 } }"), "MINUS"),
    (_sparql("SELECT $this WHERE { VALUES ?o { 1 } $this ?p ?o }"), "VALUES"),
    (_sparql("SELECT $this WHERE { SERVICE <http://x/> { $this ?p ?o } }"), "SERVICE"),
    (_sparql("SELECT $this WHERE { { SELECT ?o WHERE { $this ?p ?o } } }"), "subquery"),
    (_sparql("SELECT $this WHERE { ?s ?p ?o BIND (?s AS $this) }"), "AS"),
    (_sparql("SELECT * WHERE { $this ?p ?o }"), "selects"),
    ("ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:property [ sh:path ex:p ; sh:node ex:S ] .",
     "itself"),
    (_sparql("SELECT $this WHERE { $this ex:p ?o . FILTER (?o = undeclared:x) }"), "parse"),
])
def test_unsupported_shacl_is_refused(shape: str, refused: str):
    """A shape this engine cannot check stops the build instead of passing unchecked."""
    with pytest.raises(ShapesError, match=refused):
        CompiledShapes.of(Graph().parse(data=SH_PREFIXES + shape, format="turtle"))


def test_the_project_shapes_compile(shapes_graph):
    compiled = CompiledShapes.of(shapes_graph)
    targeted = {s for s in shapes_graph.subjects(RDF.type, SH.NodeShape)}
    assert {shape.node for _, shape in compiled.targeted} == targeted
    assert sum(len(shape.sparql) for _, shape in compiled.targeted) == len(
        list(shapes_graph.subject_objects(SH.sparql)))


@pytest.mark.parametrize("engine", ["compiled", "pyshacl"])
@pytest.mark.parametrize("query, focus_nodes", [
    ("SELECT $this WHERE { { FILTER ($this = ex:a) } }", ["a"]),
    ("SELECT $this ?value WHERE { BIND ($this AS ?value) }", ["a", "b"]),
    ("SELECT $this WHERE { FILTER (bound($this)) }", ["a", "b"]),
    ("SELECT $this WHERE { { $this ex:p ?v } UNION { FILTER ($this = ex:b) } }", ["a", "b"]),
    ("SELECT $this WHERE { OPTIONAL { $this ex:p ?v } FILTER (!bound(?v)) }", ["b"]),
    ("SELECT $this WHERE { FILTER NOT EXISTS { $this ex:p ?v } }", ["b"]),
    (("SELECT $this (COUNT(?v) AS ?n) WHERE { OPTIONAL { $this ex:p ?v } } "
      "GROUP BY $this HAVING (COUNT(?v) = 0)"), ["b"]),
    ("SELECT $this WHERE { { SELECT $this WHERE { FILTER ($this = ex:b) } } }", ["b"]),
    ("SELECT $this ?v WHERE { { SELECT DISTINCT $this ?v WHERE { $this ex:p ?v } } }", ["a"]),
])
def test_this_is_prebound_by_shacls_rule(query: str, focus_nodes: list[str], engine: str):
    """``$this`` is bound in every part of the query (SHACL 5.2.1), not only where a
    substitution reaches: in a nested FILTER, in BIND, in bound(), in a UNION branch
    without a triple pattern, after GROUP BY."""
    from gfd_kg.validate import raw_results
    shapes = Graph().parse(data=SH_PREFIXES + 'ex:S a sh:NodeShape ; sh:targetNode ex:a, ex:b ; '
                           'sh:sparql [ sh:prefixes ex: ; sh:select """' + query + '""" ] . '
                           'ex: sh:declare [ sh:prefix "ex" ; sh:namespace '
                           '"http://example.org/"^^<http://www.w3.org/2001/XMLSchema#anyURI> ] .',
                           format="turtle")
    data = Graph().parse(data=SH_PREFIXES + "ex:a ex:p 1 .", format="turtle")
    found = sorted(str(r.focus).removeprefix("http://example.org/")
                   for r in raw_results(data, shapes, engine=engine))
    assert found == focus_nodes


def _lit(text: str, datatype: str | None = None, lang: str | None = None) -> Literal:
    return Literal(text, datatype=XSD[datatype] if datatype else None, lang=lang)


@pytest.mark.parametrize("a, b, order", [
    (_lit("1", "integer"), _lit("1.5", "decimal"), -1),
    (_lit("2.0", "double"), _lit("2", "integer"), 0),
    (_lit("b"), _lit("a", "string"), 1),
    (_lit("2008-05-27T10:00:00+02:00", "dateTime"), _lit("2008-05-27T08:00:00Z", "dateTime"), 0),
    # a time without its zone is somewhere within 14 hours of UTC (XSD 3.3.8.4)
    (_lit("2008-05-27T09:00:00", "dateTime"), _lit("2008-05-27T10:00:00+02:00", "dateTime"),
     None),
    (_lit("2008-05-27T09:00:00", "dateTime"), _lit("2008-05-28T09:00:00Z", "dateTime"), -1),
    (_lit("2008-05-29", "date"), _lit("2008-05-28Z", "date"), 1),
    (_lit("1", "integer"), _lit("1"), None),
    (_lit("a", lang="en"), _lit("b", lang="en"), None),
    (_lit("x", "integer"), _lit("1", "integer"), None),
    (URIRef("http://example.org/a"), URIRef("http://example.org/b"), None),
])
def test_values_are_ordered_as_xsd_says(a, b, order):
    """sh:lessThan and the range components compare by XSD's order, which leaves some
    pairs incomparable (a violation), where rdflib's Literal.__lt__ answers."""
    from gfd_kg.shacl import compare
    assert compare(a, b) == order
    assert compare(b, a) == (None if order is None else -order)
