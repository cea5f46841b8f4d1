"""OWL 2 RL reasoning over the asserted data and the ontology. The inferred triples are
returned as their own graph, so users can take the asserted data alone or with what
follows from it.

Two engines give the same answer:
- ``infer`` compiles the ontology's axioms into rules once (``Rules.of``) and runs them to
  a fixed point over one seminar's data: milliseconds, so a corpus of a thousand seminars
  is reasoned in seconds. It knows the OWL 2 RL rules for the axioms this ontology uses
  (subclasses, subproperties, equivalences, domains, ranges, inverses, symmetric and
  transitive properties, unions, disjointness, ``owl:sameAs``) and refuses an ontology
  that uses any other construct, rather than silently reason less than OWL RL would.
- ``infer_owlrl`` runs owlrl's full OWL RL closure: the reference. The tests and the
  benchmark check that both give the same inferred graph, on the real seminar and on
  synthetic ones.

What is kept: new triples about the dataset's own resources (their IRIs under the base,
outside the ontology's namespace). What is dropped as noise of the rule set, not
knowledge: reflexive ``owl:sameAs``, ``rdf:type owl:Thing``, types that are anonymous
class expressions (``owl:unionOf`` domains), everything about the vocabularies themselves
(class and property axioms the closure restates), and the copies of our facts that
``owl:sameAs`` makes about Wikidata's items (they are Wikidata's to state).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from rdflib import OWL, RDF, RDFS, BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.term import Node

from .errors import GfdError
from .iris import SCHEMA, WD, IRIs

Triple = tuple[Node, Node, Node]


class ReasoningError(GfdError):
    """The ontology uses a construct the rule engine does not know, or the data
    contradicts the ontology (an individual in two disjoint classes)."""


# Ontology predicates that state nothing about individuals (annotations, declarations,
# list cells), or that are read as rules below.
_READ = {RDFS.subClassOf, RDFS.subPropertyOf, RDFS.domain, RDFS.range, OWL.inverseOf,
         OWL.equivalentClass, OWL.equivalentProperty, OWL.unionOf, OWL.disjointWith,
         OWL.members, RDF.first, RDF.rest, RDF.type}
_UNSUPPORTED_PREDICATES = {
    OWL.intersectionOf, OWL.oneOf, OWL.complementOf, OWL.someValuesFrom,
    OWL.allValuesFrom, OWL.hasValue, OWL.onProperty, OWL.maxCardinality,
    OWL.maxQualifiedCardinality, OWL.cardinality, OWL.minCardinality,
    OWL.propertyChainAxiom, OWL.hasKey, OWL.propertyDisjointWith, OWL.sameAs,
    OWL.differentFrom, OWL.distinctMembers, OWL.disjointUnionOf, OWL.sourceIndividual}
_UNSUPPORTED_TYPES = {
    OWL.FunctionalProperty, OWL.InverseFunctionalProperty, OWL.AsymmetricProperty,
    OWL.IrreflexiveProperty, OWL.Restriction, OWL.AllDifferent,
    OWL.NegativePropertyAssertion, OWL.AllDisjointProperties}


def _closure(edges: dict[Node, set[Node]]) -> dict[Node, frozenset[Node]]:
    """Each node's reachable nodes (itself excluded unless on a cycle)."""
    out: dict[Node, frozenset[Node]] = {}
    for start in edges:
        seen: set[Node] = set()
        todo = list(edges[start])
        while todo:
            n = todo.pop()
            if n not in seen:
                seen.add(n)
                todo.extend(edges.get(n, ()))
        out[start] = frozenset(seen)
    return out


@dataclass(frozen=True)
class Rules:
    """The ontology's axioms as lookup tables for the OWL 2 RL rules that use them."""

    superclasses: dict[Node, frozenset[Node]]  # cax-sco, cax-eqc, cls-uni (transitive)
    superproperties: dict[Node, frozenset[Node]]  # prp-spo1, prp-eqp (transitive)
    domains: dict[Node, frozenset[Node]]  # prp-dom
    ranges: dict[Node, frozenset[Node]]  # prp-rng
    inverses: dict[Node, frozenset[Node]]  # prp-inv1, prp-inv2
    symmetric: frozenset[Node]  # prp-symp
    transitive: frozenset[Node]  # prp-trp
    disjoint: frozenset[tuple[Node, Node]] = field(default_factory=frozenset)  # cax-dw, cax-adc

    @classmethod
    def of(cls, ontology: Graph) -> Rules:
        unknown = sorted({p.n3() for p in ontology.predicates() if p in _UNSUPPORTED_PREDICATES}
                         | {t.n3() for t in ontology.objects(None, RDF.type)
                            if t in _UNSUPPORTED_TYPES})
        if unknown:
            raise ReasoningError(
                "the ontology uses OWL constructs the rule engine does not implement: "
                f"{', '.join(unknown)}; add their OWL 2 RL rules to gfd_kg/reason.py (and "
                "check them against owlrl in tests/test_reason.py) before using them")
        sub: dict[Node, set[Node]] = defaultdict(set)
        subp: dict[Node, set[Node]] = defaultdict(set)
        for c, d in ontology.subject_objects(RDFS.subClassOf):
            sub[c].add(d)
        for c, d in ontology.subject_objects(OWL.equivalentClass):
            sub[c].add(d)
            sub[d].add(c)
        for union, members in ontology.subject_objects(OWL.unionOf):
            for member in Collection(ontology, members):
                sub[member].add(union)
        for p, q in ontology.subject_objects(RDFS.subPropertyOf):
            subp[p].add(q)
        for p, q in ontology.subject_objects(OWL.equivalentProperty):
            subp[p].add(q)
            subp[q].add(p)

        def table(predicate: URIRef) -> dict[Node, frozenset[Node]]:
            t: dict[Node, set[Node]] = defaultdict(set)
            for s, o in ontology.subject_objects(predicate):
                t[s].add(o)
            return {k: frozenset(v) for k, v in t.items()}

        inverses: dict[Node, set[Node]] = defaultdict(set)
        for p, q in ontology.subject_objects(OWL.inverseOf):
            inverses[p].add(q)
            inverses[q].add(p)
        disjoint = {(a, b) for a, b in ontology.subject_objects(OWL.disjointWith)}
        for group in ontology.subjects(RDF.type, OWL.AllDisjointClasses):
            for lst in ontology.objects(group, OWL.members):
                members = list(Collection(ontology, lst))
                disjoint |= {(a, b) for i, a in enumerate(members) for b in members[i + 1:]}
        return cls(
            superclasses=_closure(sub), superproperties=_closure(subp),
            domains=table(RDFS.domain), ranges=table(RDFS.range),
            inverses={k: frozenset(v) for k, v in inverses.items()},
            symmetric=frozenset(ontology.subjects(RDF.type, OWL.SymmetricProperty)),
            transitive=frozenset(ontology.subjects(RDF.type, OWL.TransitiveProperty)),
            disjoint=frozenset(disjoint))


class _Index:
    """The triples known so far, indexed for the rules that join two of them."""

    def __init__(self) -> None:
        self.triples: set[Triple] = set()
        self.by_sp: dict[tuple[Node, Node], set[Node]] = defaultdict(set)
        self.by_po: dict[tuple[Node, Node], set[Node]] = defaultdict(set)
        self.by_s: dict[Node, set[Triple]] = defaultdict(set)
        self.by_o: dict[Node, set[Triple]] = defaultdict(set)
        self.by_p: dict[Node, set[tuple[Node, Node]]] = defaultdict(set)

    def add(self, t: Triple) -> bool:
        if t in self.triples:
            return False
        s, p, o = t
        self.triples.add(t)
        self.by_sp[(s, p)].add(o)
        self.by_po[(p, o)].add(s)
        self.by_s[s].add(t)
        self.by_o[o].add(t)
        self.by_p[p].add((s, o))
        return True


def _consequences(t: Triple, known: _Index, rules: Rules) -> Iterator[Triple]:
    """What the rules derive from ``t`` together with the triples already known."""
    s, p, o = t
    for q in rules.superproperties.get(p, ()):
        yield s, q, o
    for c in rules.domains.get(p, ()):
        yield s, RDF.type, c
    if isinstance(o, Literal):
        return  # a literal cannot be a subject: ranges, inverses and the rest stop here
    for c in rules.ranges.get(p, ()):
        yield o, RDF.type, c
    for q in rules.inverses.get(p, ()):
        yield o, q, s
    if p in rules.symmetric:
        yield o, p, s
    if p in rules.transitive:
        for z in tuple(known.by_sp.get((o, p), ())):
            yield s, p, z
        for w in tuple(known.by_po.get((p, s), ())):
            yield w, p, o
    if p == RDF.type:
        for c in rules.superclasses.get(o, ()):
            yield s, RDF.type, c
    if p == OWL.sameAs:  # eq-sym, eq-trans, eq-rep-s/p/o
        yield o, OWL.sameAs, s
        for z in tuple(known.by_sp.get((o, OWL.sameAs), ())):
            yield s, OWL.sameAs, z
        for (_, q, z) in tuple(known.by_s.get(s, ())):
            yield o, q, z
        for (w, q, _) in tuple(known.by_o.get(s, ())):
            yield w, q, o
        for (w, z) in tuple(known.by_p.get(s, ())):
            yield w, o, z
    for same in tuple(known.by_sp.get((s, OWL.sameAs), ())):
        yield same, p, o
    for same in tuple(known.by_sp.get((o, OWL.sameAs), ())):
        yield s, p, same
    for same in tuple(known.by_sp.get((p, OWL.sameAs), ())):
        yield s, same, o


def closure(data: Iterable[Triple], rules: Rules) -> set[Triple]:
    """``data`` and everything the rules derive from it: the least fixed point."""
    known = _Index()
    todo = [t for t in data if known.add(t)]
    while todo:
        derived = []
        for t in todo:
            for new in _consequences(t, known, rules):
                if known.add(new):
                    derived.append(new)
        todo = derived
    return known.triples


def _check_disjoint(triples: set[Triple], rules: Rules) -> None:
    if not rules.disjoint:
        return
    types: dict[Node, set[Node]] = defaultdict(set)
    for s, p, o in triples:
        if p == RDF.type:
            types[s].add(o)
    clashes = sorted(f"{x.n3()} is both {a.n3()} and {b.n3()}"
                     for x, ts in types.items() for a, b in rules.disjoint
                     if a in ts and b in ts)
    if clashes:
        raise ReasoningError("the data contradicts the ontology's disjoint classes: "
                             + "; ".join(clashes) + "; correct the records' kinds")


def _is_noise(s: Node, p: Node, o: Node) -> bool:
    if p in (OWL.sameAs, SCHEMA.sameAs) and s == o:
        return True  # x sameAs x, also what owl:sameAs makes of "x schema:sameAs wd:Q"
    if any(isinstance(t, URIRef) and str(t).startswith(str(WD)) for t in (s, o)):
        return True  # restating our facts about Wikidata's items, through owl:sameAs
    if p == RDF.type and (o == OWL.Thing or isinstance(o, BNode)):
        return True
    return False


def _kept(triples: Iterable[Triple], data: Graph, ontology: Graph, iris: IRIs) -> Graph:
    """The published part of a closure (see the module's docstring)."""
    base, vocab = iris.base, str(iris.ontology)
    inferred = Graph()
    for s, p, o in triples:
        if not isinstance(s, URIRef) or not str(s).startswith(base) or str(s).startswith(vocab):
            continue
        if (s, p, o) in data or (s, p, o) in ontology or _is_noise(s, p, o):
            continue
        inferred.add((s, p, o))
    return inferred


def infer(data: Graph, ontology: Graph, iris: IRIs, rules: Rules | None = None) -> Graph:
    """The triples OWL RL adds to ``data`` under ``ontology``, about the data's own
    resources; none of them is in ``data``. ``rules`` (``Rules.of(ontology)``) may be
    given when many graphs are reasoned under one ontology."""
    rules = rules or Rules.of(ontology)
    triples = closure(data, rules)
    _check_disjoint(triples, rules)
    return _kept(triples, data, ontology, iris)


def infer_owlrl(data: Graph, ontology: Graph, iris: IRIs) -> Graph:
    """The same as ``infer``, by owlrl's complete OWL 2 RL closure (the reference)."""
    import owlrl

    g = Graph()
    for triple in data:
        g.add(triple)
    for triple in ontology:
        g.add(triple)
    owlrl.DeductiveClosure(owlrl.OWLRL_Semantics, axiomatic_triples=False,
                           datatype_axioms=False).expand(g)
    return _kept(g, data, ontology, iris)
