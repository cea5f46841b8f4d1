"""The ontology as a file: every term labelled and defined in English and French, its
metadata complete, its classes aligned to schema.org."""

from __future__ import annotations

import pytest
from rdflib import OWL, RDF, RDFS, Graph, URIRef
from rdflib.namespace import DCTERMS, SKOS

from gfd_kg import artefacts
from gfd_kg.iris import SCHEMA

VANN = "http://purl.org/vocab/vann/"
KINDS = (OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty, SKOS.ConceptScheme, SKOS.Concept)


@pytest.fixture(scope="module")
def ontology(iris) -> Graph:
    return artefacts.ontology(iris)


def _terms(ontology: Graph, iris):
    ns = str(iris.ontology)
    return sorted({s for k in KINDS for s in ontology.subjects(RDF.type, k)
                   if isinstance(s, URIRef) and str(s).startswith(ns) and str(s) != ns})


def test_there_are_terms(ontology, iris):
    assert len(_terms(ontology, iris)) > 100


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_every_term_has_a_label_and_a_definition(ontology, iris, lang):
    missing = []
    for term in _terms(ontology, iris):
        labels = [*ontology.objects(term, RDFS.label), *ontology.objects(term, SKOS.prefLabel)]
        if not any(getattr(label, "language", None) == lang for label in labels):
            missing.append((str(term), "label"))
        if not any(d.language == lang for d in ontology.objects(term, SKOS.definition)):
            missing.append((str(term), "definition"))
    assert missing == []


def test_ontology_metadata(ontology, iris):
    onto = URIRef(str(iris.ontology))
    assert (onto, RDF.type, OWL.Ontology) in ontology
    for p in (OWL.versionIRI, OWL.versionInfo, DCTERMS.license, DCTERMS.creator,
              URIRef(VANN + "preferredNamespacePrefix"), URIRef(VANN + "preferredNamespaceUri")):
        assert ontology.value(onto, p) is not None, p
    assert str(ontology.value(onto, URIRef(VANN + "preferredNamespaceUri"))) == str(iris.ontology)


def test_event_and_organisation_classes_are_aligned_to_schema_org(ontology, iris):
    o = iris.ontology
    for cls, sup in ((o.Seminar, SCHEMA.Event), (o.Talk, SCHEMA.Event),
                     (o.Government, SCHEMA.GovernmentOrganization),
                     (o.Directorate, SCHEMA.Organization)):
        assert sup in set(ontology.transitive_objects(cls, RDFS.subClassOf)), cls


def test_partnership_kinds_are_disjoint(ontology, iris):
    o = iris.ontology
    ppp, pubpub = o.PublicPrivatePartnership, o.PublicPublicCollaboration
    assert ((ppp, OWL.disjointWith, pubpub) in ontology
            or (pubpub, OWL.disjointWith, ppp) in ontology)


def test_ontology_follows_the_base_iri(tmp_path):
    from gfd_kg.iris import IRIs

    other = IRIs("http://example.org/kg/")
    g = artefacts.ontology(other)
    assert (URIRef("http://example.org/kg/ontology/Seminar"), RDF.type, OWL.Class) in g
    assert not any("w3id.org/gfd-kg" in str(t) for triple in g for t in triple)
