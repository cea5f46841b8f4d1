"""OWL 2 RL reasoning with owlrl over the asserted data and the ontology. The inferred
triples are returned as their own graph, so users can take the asserted data alone or
with what follows from it.

What is kept: new triples about the dataset's own resources (their IRIs under the base,
outside the ontology's namespace). What is dropped as noise of the rule set, not
knowledge: reflexive ``owl:sameAs``, ``rdf:type owl:Thing``, types that are anonymous
class expressions (``owl:unionOf`` domains), everything about the vocabularies themselves
(class and property axioms the closure restates), and the copies of our facts that
``owl:sameAs`` makes about Wikidata's items (they are Wikidata's to state).
"""

from __future__ import annotations

import owlrl
from rdflib import OWL, RDF, BNode, Graph, URIRef

from .iris import SCHEMA, WD, IRIs


def _is_noise(s: URIRef, p: URIRef, o) -> bool:
    if p in (OWL.sameAs, SCHEMA.sameAs) and s == o:
        return True  # x sameAs x, also what owl:sameAs makes of "x schema:sameAs wd:Q"
    if any(isinstance(t, URIRef) and str(t).startswith(str(WD)) for t in (s, o)):
        return True  # restating our facts about Wikidata's items, through owl:sameAs
    if p == RDF.type and (o == OWL.Thing or isinstance(o, BNode)):
        return True
    return False


def infer(data: Graph, ontology: Graph, iris: IRIs) -> Graph:
    """The triples OWL RL adds to ``data`` under ``ontology``, about the data's own
    resources; none of them is in ``data``."""
    closure = Graph()
    for triple in data:
        closure.add(triple)
    for triple in ontology:
        closure.add(triple)
    owlrl.DeductiveClosure(owlrl.OWLRL_Semantics, axiomatic_triples=False,
                           datatype_axioms=False).expand(closure)
    base, vocab = iris.base, str(iris.ontology)
    inferred = Graph()
    for s, p, o in closure:
        if not isinstance(s, URIRef) or not str(s).startswith(base) or str(s).startswith(vocab):
            continue
        if (s, p, o) in data or (s, p, o) in ontology or _is_noise(s, p, o):
            continue
        inferred.add((s, p, o))
    return inferred
