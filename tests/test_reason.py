"""OWL RL reasoning: the inferred graph holds what follows from the ontology, nothing
asserted, and the answers the ontology is meant to give."""

from __future__ import annotations

import pytest
from rdflib import OWL, RDF, RDFS, Graph

from gfd_kg.iris import SCHEMA
from gfd_kg.model import DATA_GRAPH, INFERRED_GRAPH


@pytest.fixture(scope="module")
def graphs(reasoned, iris):
    data = reasoned.graph(DATA_GRAPH, iris)
    inferred = reasoned.graph(INFERRED_GRAPH, iris)
    return data, inferred, reasoned.ontology


def test_inferred_graph_is_not_empty_and_copies_nothing(graphs):
    data, inferred, _ontology = graphs
    assert len(inferred) > 300
    assert [t for t in inferred if t in data] == []


def _superclasses(ontology: Graph, cls) -> set:
    return set(ontology.transitive_objects(cls, RDFS.subClassOf))


def _superproperties(ontology: Graph, prop) -> set:
    return set(ontology.transitive_objects(prop, RDFS.subPropertyOf))


def _inverses(ontology: Graph, prop) -> set:
    return set(ontology.objects(prop, OWL.inverseOf)) | set(ontology.subjects(OWL.inverseOf, prop))


def test_every_inferred_triple_follows_from_an_ontology_axiom(graphs):
    """Each inferred triple is justified by one OWL RL rule over an axiom of the
    ontology: subclass, domain, range, subproperty, inverse or transitivity."""
    data, inferred, ontology = graphs
    both = Graph()
    for t in list(data) + list(inferred):
        both.add(t)
    unjustified = []
    for s, p, o in inferred:
        if p == RDF.type:
            types = set(both.objects(s, RDF.type)) - {o}
            ok = any(o in _superclasses(ontology, t) for t in types)
            ok = ok or any((q, RDFS.domain, o) in ontology for q in both.predicates(s, None))
            ok = ok or any((q, RDFS.range, o) in ontology for q in both.predicates(None, s))
        else:
            ok = any(p in _superproperties(ontology, q) and q != p
                     for q in both.predicates(s, o))
            ok = ok or any((o, q, s) in both for q in _inverses(ontology, p))
            ok = ok or ((p, RDF.type, OWL.TransitiveProperty) in ontology and any(
                (m, p, o) in both for m in both.objects(s, p)))
        if not ok:
            unjustified.append((s, p, o))
    assert unjustified == []


def test_the_named_inferences(graphs, iris):
    """The inferences the ontology's comments name, one example each."""
    _data, inferred, _ontology = graphs
    o = iris.ontology
    ev = lambda i: iris.mint("event", i)  # noqa: E731
    org = lambda i: iris.mint("organization", i)  # noqa: E731
    expected = [
        # subclass typing: a keynote and a case study are talks
        (ev("gfd-2008-tunis/session-1/keynote"), RDF.type, o.Talk),
        (ev("gfd-2008-tunis/session-3/case-study-2"), RDF.type, o.Talk),
        (ev("gfd-2008-tunis/session-2"), RDF.type, o.ProgrammeItem),
        (org("tn-prime-ministers-office"), RDF.type, SCHEMA.Organization),
        # transitive partOfEvent from superEvent
        (ev("gfd-2008-tunis/session-3/case-study-1/discussion"), o.partOfEvent,
         ev("gfd-2008-tunis")),
        # transitive withinOrganization from parentOrganization
        (org("dubai-eservices"), o.withinOrganization, org("government-of-dubai")),
        (org("gfd-initiative"), o.withinOrganization, org("oecd")),
        # inverses
        (org("government-of-tunisia"), SCHEMA.subOrganization, org("tn-prime-ministers-office")),
        (iris.mint("question", "gfd-2008-tunis/session-2/discussion/q4"), o.discussionQuestionOf,
         ev("gfd-2008-tunis/session-2/discussion")),
        (iris.mint("document", "oecd-ppp-risk-sharing-value-for-money"), o.backgroundDocumentOf,
         ev("gfd-2008-tunis/session-2")),
    ]
    assert [t for t in expected if t not in inferred] == []


def test_the_reasoned_graph_conforms(reasoned):
    assert reasoned.reports["asserted"].conforms
    assert reasoned.reports["reasoned"].conforms
    assert reasoned.reports["reasoned"].violations == []
