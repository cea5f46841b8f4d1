"""The rule engine the build reasons with (``gfd_kg.reason.infer``) gives exactly what
owlrl's complete OWL 2 RL closure gives (``infer_owlrl``): on the real seminar, on a
synthetic one, and on small cases for each construct it implements (tests/reasoning/).
It refuses an ontology or data with a construct it does not implement, and both engines
raise the same ``Inconsistent`` on data that contradicts the ontology (an individual in
two disjoint classes or in owl:Nothing, an ill-typed literal). The W3C conformance cases
are in tests/test_w3c_owl2rl.py."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from rdflib import OWL, RDF, RDFS, Graph, Literal, Namespace, URIRef

from gfd_kg.build import assemble
from gfd_kg.iris import IRIs
from gfd_kg.model import DATA_GRAPH
from gfd_kg.reason import (
    Inconsistent,
    ReasoningError,
    Rules,
    UnsupportedConstruct,
    infer,
    infer_owlrl,
)
from gfd_kg.synth import synthesise
from tests.conftest import DATA

CASES = sorted((Path(__file__).parent / "reasoning").glob("*.ttl"))
GFDO = Namespace("https://w3id.org/gfd-kg/ontology/")
EX = Namespace("https://w3id.org/gfd-kg/thing/")
XSD = Namespace("http://www.w3.org/2001/XMLSchema#")  # not rdflib's: pytest probes its attributes


def _split(path: Path) -> tuple[Graph, Graph]:
    """A case file as (data, ontology): statements about ontology terms are axioms."""
    g = Graph().parse(path)
    ontology, data = Graph(), Graph()
    for s, p, o in g:
        schema = str(s).startswith(str(GFDO)) or not isinstance(s, URIRef)
        (ontology if schema else data).add((s, p, o))
    return data, ontology


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_the_engine_gives_owlrl_closure_on_each_case(case: Path, iris: IRIs) -> None:
    data, ontology = _split(case)
    expected = set(infer_owlrl(data, ontology, iris))
    assert expected, f"{case.name}: the case must infer something"
    assert set(infer(data, ontology, iris)) == expected


def test_the_cases_reach_the_constructs(iris: IRIs) -> None:
    """A few inferences the cases exist for, so that an empty or wrong expectation
    cannot pass unseen."""
    def inferred(name: str) -> set:
        data, ontology = _split(Path(__file__).parent / "reasoning" / name)
        return set(infer(data, ontology, iris))

    assert (EX.b, GFDO.partners, EX.a) in inferred("symmetric-transitive.ttl")
    assert (EX.u1, GFDO.within, EX.u4) in inferred("symmetric-transitive.ttl")
    assert (EX.y, GFDO.name, Literal("X")) in inferred("same-as.ttl")
    assert (EX.q, RDF.type, GFDO.Agent) in inferred("unions.ttl")
    assert (EX.m, RDF.type, GFDO.Event) in inferred("equivalences.ttl")


def test_the_engine_gives_owlrl_closure_on_the_seminar(built, iris: IRIs) -> None:
    data = built.graph(DATA_GRAPH, iris)
    assert set(infer(data, built.ontology, iris)) == set(infer_owlrl(data, built.ontology, iris))


def test_the_engine_gives_owlrl_closure_on_a_synthetic_seminar(tmp_path: Path, iris: IRIs) -> None:
    folder = synthesise(DATA, 1, tmp_path / "synth", seed=7)
    b = assemble(folder, iris)
    data = b.graph(DATA_GRAPH, iris)
    mine = set(infer(data, b.ontology, iris))
    assert len(mine) > 300
    assert mine == set(infer_owlrl(data, b.ontology, iris))


@pytest.mark.parametrize("axiom", [
    (GFDO.p, RDF.type, OWL.FunctionalProperty),
    (GFDO.C, OWL.someValuesFrom, GFDO.D),
    (GFDO.p, OWL.propertyChainAxiom, RDF.nil),
])
def test_an_unknown_construct_is_refused(axiom, built) -> None:
    ontology = Graph()
    for t in built.ontology:
        ontology.add(t)
    ontology.add(axiom)
    with pytest.raises(ReasoningError, match="does not implement"):
        Rules.of(ontology)


ENGINES = [pytest.param(infer, id="rules"), pytest.param(infer_owlrl, id="owlrl")]
Engine = Callable[[Graph, Graph, IRIs], Graph]


def _graph(*triples: tuple) -> Graph:
    g = Graph()
    for t in triples:
        g.add(t)
    return g


@pytest.mark.parametrize("engine", ENGINES)
def test_disjoint_classes_are_a_contradiction(engine: Engine, built, iris: IRIs) -> None:
    """owlrl writes its contradictions into the graph; ``infer_owlrl`` raises them."""
    data = _graph((EX.x, RDF.type, GFDO.PublicPrivatePartnership),
                  (EX.x, RDF.type, GFDO.PublicPublicCollaboration))
    with pytest.raises(Inconsistent, match="PublicPrivatePartnership"):
        engine(data, built.ontology, iris)


@pytest.mark.parametrize("engine", ENGINES)
def test_an_individual_in_owl_nothing_is_a_contradiction(engine: Engine, built, iris: IRIs) -> None:
    with pytest.raises(Inconsistent, match="Nothing"):
        engine(_graph((EX.x, RDF.type, OWL.Nothing)), built.ontology, iris)


@pytest.mark.parametrize("engine", ENGINES)
def test_an_ill_typed_literal_is_a_contradiction(engine: Engine, iris: IRIs) -> None:
    ontology = _graph((GFDO.reading, RDFS.range, XSD.float))
    data = _graph((EX.x, GFDO.reading, Literal("1.0E+40", datatype=XSD.float)))
    with pytest.raises(Inconsistent):
        engine(data, ontology, iris)
    assert set(engine(_graph((EX.x, GFDO.reading, Literal("1.5", datatype=XSD.float))),
                      ontology, iris)) == set()


@pytest.mark.parametrize("data", [
    _graph((EX.a, RDFS.subClassOf, EX.b)),  # an axiom stated in the data
    _graph((EX.z, RDF.type, OWL.AllDifferent)),
    _graph((EX.x, OWL.sameAs, Literal("2008-05-27T09:00:00", datatype=XSD.dateTime))),
], ids=["axiom-in-data", "all-different", "datetime-value"])
def test_data_the_rules_cannot_reason_over_is_refused(data: Graph, built, iris: IRIs) -> None:
    with pytest.raises(UnsupportedConstruct, match="does not implement"):
        infer(data, built.ontology, iris)


def test_the_same_individual_as_two_values_is_a_contradiction(built, iris: IRIs) -> None:
    data = _graph((EX.x, OWL.sameAs, Literal(1)), (EX.x, OWL.sameAs, Literal(2)))
    with pytest.raises(Inconsistent, match="different"):
        infer(data, built.ontology, iris)
