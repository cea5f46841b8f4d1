"""OWL 2 RL reasoning over the asserted data and the ontology. The inferred triples are
returned as their own graph, so users can take the asserted data alone or with what
follows from it.

Two engines give the same answer:
- ``infer`` compiles the ontology's axioms into rules once (``Rules.of``) and runs them to
  a fixed point over one seminar's data: milliseconds, so a corpus of a thousand seminars
  is reasoned in seconds. It knows the OWL 2 RL rules for the axioms this ontology uses
  (subclasses, subproperties, equivalences, domains, ranges, inverses, symmetric and
  transitive properties, unions, disjointness, ``owl:sameAs`` and ``owl:differentFrom``
  between individuals, ``owl:Nothing``, and the datatype rules for the datatypes
  ``gfd_kg/datatypes.py`` knows) and refuses an ontology or data that uses any other
  construct, or a value of an OWL 2 RL datatype it does not know (``UnsupportedConstruct``),
  rather than silently reason less than OWL RL would. Data that OWL RL finds contradictory
  (an individual in two disjoint classes or in ``owl:Nothing``, an ill-typed literal, the
  same and different, two different data values made the same) is an error
  (``Inconsistent``), not a graph. The rules are compiled from the ontology alone, so data
  that states axioms (``rdfs:subClassOf`` ...) is refused too.
- ``infer_owlrl`` runs owlrl's full OWL RL closure: the reference, with owlrl's
  inconsistencies raised as the same ``Inconsistent``. The tests and the benchmark check
  that both give the same inferred graph, on the real seminar and on synthetic ones, and
  tests/test_w3c_owl2rl.py runs both on the W3C OWL 2 RL conformance cases.

What the rule engine does not derive, by design: statements about the vocabulary (OWL RL's
schema rules, scm-*, which restate class and property axioms), and reflexive
``owl:sameAs`` (eq-ref: every resource is the same as itself, which says nothing). The
W3C cases that ask for them are listed, with the reason, in tests/owl2rl-excluded.csv.

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

from . import datatypes
from .errors import GfdError
from .iris import SCHEMA, WD, IRIs

Triple = tuple[Node, Node, Node]


class ReasoningError(GfdError):
    """The ontology uses a construct the rule engine does not know, or the data
    contradicts the ontology (an individual in two disjoint classes)."""


class UnsupportedConstruct(ReasoningError):
    """The ontology or the data uses an OWL construct or a datatype the rule engine does
    not implement: it says so rather than reason less than OWL RL would."""


class Inconsistent(ReasoningError):
    """OWL RL derives a contradiction from the data and the ontology."""


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
    OWL.differentFrom, OWL.distinctMembers, OWL.disjointUnionOf, OWL.sourceIndividual,
    OWL.onDatatype, OWL.withRestrictions, OWL.datatypeComplementOf}
_UNSUPPORTED_TYPES = {
    OWL.FunctionalProperty, OWL.InverseFunctionalProperty, OWL.AsymmetricProperty,
    OWL.IrreflexiveProperty, OWL.Restriction, OWL.AllDifferent,
    OWL.NegativePropertyAssertion, OWL.AllDisjointProperties}
# What data may not state: axioms (the rules are compiled from the ontology alone) and the
# constructs above; owl:sameAs and owl:differentFrom between individuals are data, and are
# implemented.
AXIOM_PREDICATES = frozenset(_READ - {RDF.type, RDF.first, RDF.rest}
                             | _UNSUPPORTED_PREDICATES - {OWL.sameAs, OWL.differentFrom})
_NOT_IN_DATA = AXIOM_PREDICATES
_NOT_TYPES_IN_DATA = _UNSUPPORTED_TYPES | {OWL.SymmetricProperty, OWL.TransitiveProperty,
                                           OWL.AllDisjointClasses}


# The terms the rules test on every triple, looked up once (rdflib's namespaces resolve
# each attribute access anew, which was a quarter of the closure's time).
_TYPE, _SAME, _DIFFERENT, _NOTHING = RDF.type, OWL.sameAs, OWL.differentFrom, OWL.Nothing


def _refuse(unknown: Iterable[Node], where: str) -> None:
    names = sorted({t.n3() for t in unknown})
    if names:
        raise UnsupportedConstruct(
            f"the {where} uses OWL constructs the rule engine does not implement: "
            f"{', '.join(names)}; add their OWL 2 RL rules to gfd_kg/reason.py (and "
            "check them against owlrl in tests/test_reason.py) before using them")


def check_data(triples: Iterable[Triple]) -> None:
    """Refuse data (or a question put to the engine) that states axioms or uses a
    construct the rules do not implement, such as ``owl:AllDifferent``."""
    found: set[Node] = set()
    for _, p, o in triples:
        if p in _NOT_IN_DATA:
            found.add(p)
        elif p == _TYPE and o in _NOT_TYPES_IN_DATA:
            found.add(o)
    _refuse(found, "data")


def _closure(edges: dict[Node, set[Node]]) -> dict[Node, frozenset[Node]]:
    """Each node's reachable nodes (itself excluded unless on a cycle)."""
    out: dict[Node, frozenset[Node]] = {}
    for start, nexts in edges.items():
        seen: set[Node] = set()
        todo = list(nexts)
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
        _refuse({p for p in ontology.predicates() if p in _UNSUPPORTED_PREDICATES}
                | {t for t in ontology.objects(None, RDF.type) if t in _UNSUPPORTED_TYPES},
                "ontology")
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
                listed = list(Collection(ontology, lst))
                disjoint |= {(a, b) for i, a in enumerate(listed) for b in listed[i + 1:]}
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
        self.by_value: dict[datatypes.Value, set[Literal]] = defaultdict(set)  # for dt-eq

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
        yield s, _TYPE, c
    for c in rules.ranges.get(p, ()):
        yield o, _TYPE, c  # a literal's type is checked against its value (dt-not-type)
    if not isinstance(o, Literal):  # a literal is a subject only through owl:sameAs
        for q in rules.inverses.get(p, ()):
            yield o, q, s
        if p in rules.symmetric:
            yield o, p, s
        if p in rules.transitive:
            for z in tuple(known.by_sp.get((o, p), ())):
                yield s, p, z
            for w in tuple(known.by_po.get((p, s), ())):
                yield w, p, o
    if p == _TYPE:
        for c in rules.superclasses.get(o, ()):
            yield s, _TYPE, c
    if p == _SAME and isinstance(s, Literal):  # dt-type2, dt-eq, dt-diff
        _, v = _value(s)
        if v is not None:
            for d in datatypes.datatypes_of(v):
                yield s, _TYPE, d
            for value, others in tuple(known.by_value.items()):
                for other in tuple(others):
                    if value == v and other != s:
                        yield s, _SAME, other
                    elif value != v:
                        yield s, _DIFFERENT, other
                        yield other, _DIFFERENT, s
            known.by_value[v].add(s)
    if p == _SAME:  # eq-sym, eq-trans, eq-rep-s/p/o
        yield o, _SAME, s
        for z in tuple(known.by_sp.get((o, _SAME), ())):
            yield s, _SAME, z
        for (_, q, z) in tuple(known.by_s.get(s, ())):
            yield o, q, z
        for (w, q, _) in tuple(known.by_o.get(s, ())):
            yield w, q, o
        for (w, z) in tuple(known.by_p.get(s, ())):
            yield w, o, z
    for same in tuple(known.by_sp.get((s, _SAME), ())):
        yield same, p, o
    for same in tuple(known.by_sp.get((o, _SAME), ())):
        yield s, p, same
    for same in tuple(known.by_sp.get((p, _SAME), ())):
        yield s, same, o


def _value(lit: Literal) -> tuple[bool, datatypes.Value | None]:
    """(whether OWL RL knows the literal's datatype, its data value or None if it is
    ill-typed); refused when the datatype is OWL 2 RL's but not implemented here."""
    dt = datatypes.datatype(lit)
    if not datatypes.is_datatype(dt):
        return False, None  # outside OWL 2 RL's datatype map: no dt-* rule applies
    if dt not in datatypes.READABLE:
        raise UnsupportedConstruct(
            f"the literal {lit.n3()} is typed with a datatype the rule engine does not "
            f"implement ({dt.n3()}), and OWL RL needs its value here; add the datatype to "
            "gfd_kg/datatypes.py before relying on it")
    return True, datatypes.value(lit)


def closure(data: Iterable[Triple], rules: Rules) -> set[Triple]:
    """``data`` and everything the rules derive from it: the least fixed point. Refuses
    data the rules cannot reason over (``check_data``)."""
    known = _Index()
    todo = [t for t in data if known.add(t)]
    check_data(todo)
    while todo:
        derived = []
        for t in todo:
            for new in _consequences(t, known, rules):
                if known.add(new):
                    derived.append(new)
        todo = derived
    return known.triples


def _literal_clash(lit: Literal, d: Node) -> str | None:
    """What is wrong with typing ``lit`` with ``d`` (dt-not-type), if ``d`` is a datatype."""
    if not datatypes.is_datatype(d):
        return None  # a class, or a datatype OWL 2 RL does not know: no rule applies
    known_value, v = _value(lit)
    if not known_value:
        return None  # a value of a datatype OWL 2 RL does not know: no rule applies
    if v is None:
        return f"{lit.n3()} is ill-typed, so not a value of {d.n3()}"
    if not isinstance(d, URIRef) or d not in datatypes.KNOWN:
        raise UnsupportedConstruct(
            f"{lit.n3()} is typed {d.n3()}, a datatype the rule engine does not implement; "
            "add it to gfd_kg/datatypes.py before relying on it")
    return None if datatypes.member(v, d) else f"{lit.n3()} is not a value of {d.n3()}"


def check_consistency(triples: set[Triple], rules: Rules) -> None:
    """Raise ``Inconsistent`` when the closure holds what OWL RL reads as false:
    cax-dw and cax-adc (disjoint classes), cls-nothing2, dt-not-type (a literal typed
    with a datatype that does not hold its value) and eq-diff1 (the same and different;
    also a resource different from itself, as eq-ref, not materialised, would make it
    the same)."""
    types: dict[Node, set[Node]] = defaultdict(set)
    clashes: list[str] = []
    for s, p, o in triples:
        if p == _TYPE:
            types[s].add(o)
            if o == _NOTHING:
                clashes.append(f"{s.n3()} is an owl:Nothing, the empty class")
            elif isinstance(s, Literal) and (clash := _literal_clash(s, o)):
                clashes.append(clash)
        elif p == _DIFFERENT and (s == o or (s, _SAME, o) in triples):
            clashes.append(f"{s.n3()} is both the same as and different from {o.n3()}")
    clashes += [f"{x.n3()} is both {a.n3()} and {b.n3()}"
                for x, ts in types.items() for a, b in rules.disjoint if a in ts and b in ts]
    if clashes:
        raise Inconsistent("the data contradicts the ontology (OWL RL derives false): "
                           + "; ".join(sorted(set(clashes)))
                           + "; correct the records' kinds and values")


def _is_noise(s: Node, p: Node, o: Node) -> bool:
    if p in (OWL.sameAs, SCHEMA.sameAs) and s == o:
        return True  # x sameAs x, also what owl:sameAs makes of "x schema:sameAs wd:Q"
    if any(isinstance(t, URIRef) and str(t).startswith(str(WD)) for t in (s, o)):
        return True  # restating our facts about Wikidata's items, through owl:sameAs
    return p == RDF.type and (o == OWL.Thing or isinstance(o, BNode))


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
    check_consistency(triples, rules)
    return _kept(triples, data, ontology, iris)


def owlrl_closure(triples: Iterable[Triple]) -> Graph:
    """owlrl's OWL 2 RL closure of ``triples``. owlrl does not raise on a contradiction:
    it adds each message it finds to the graph as an ``err:ErrorMessage`` node with an
    ``err:error`` text (owlrl's documented behaviour); those are raised here as
    ``Inconsistent``, the error the build raises."""
    import owlrl
    from owlrl.Namespaces import ERRNS

    g = Graph()
    for triple in triples:
        g.add(triple)
    owlrl.DeductiveClosure(owlrl.OWLRL_Semantics, axiomatic_triples=False,
                           datatype_axioms=False).expand(g)
    errors = sorted(str(m) for e in g.subjects(RDF.type, ERRNS.ErrorMessage)
                    for m in g.objects(e, ERRNS.error))
    if errors:
        raise Inconsistent("owlrl finds the data contradicts the ontology: "
                           + "; ".join(errors) + "; correct the records' kinds and values")
    return g


def infer_owlrl(data: Graph, ontology: Graph, iris: IRIs) -> Graph:
    """The same as ``infer``, by owlrl's complete OWL 2 RL closure (the reference)."""
    return _kept(owlrl_closure((*data, *ontology)), data, ontology, iris)
