"""SHACL, compiled: the shapes read once into plain checks that run over an index of the
data graph, for the build, where pySHACL's per-node work is most of the cost.

``CompiledShapes.of(shapes)`` reads every shape with a target and what it reaches
(``sh:property``, ``sh:or``, ``sh:not``, ``sh:qualifiedValueShape``) into small objects;
``check(index)`` runs every check on value-node sets, as SHACL defines them, over an
``Index`` of the graph's triples (subject -> predicate -> objects, and the reverse; each
node's classes through ``rdfs:subClassOf*``). SHACL-SPARQL constraints are asked of the
index's pyoxigraph copy of the graph, once per focus node, ``$this`` given as a
substitution (the pre-binding SHACL defines), as pySHACL asks them of ``validate``'s
``ValidationGraph``.

The results are pySHACL's, one for one: the same focus node, value, path, severity and
message for each failing constraint component (``tests/test_shacl_engine.py`` runs every
shape fixture and the published graphs through both). pySHACL stays the reference, as
owlrl does for reasoning (``validate.validate``); this module implements only the part
of SHACL that ``shapes/`` uses and refuses, with ``ShapesError``, a shape that uses any
other constraint, so a new kind of constraint cannot go unchecked.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal

import pyoxigraph as ox
from rdflib import RDF, BNode, Graph, Literal, Node, URIRef
from rdflib.collection import Collection
from rdflib.namespace import RDFS, SH, XSD

from .errors import GfdError
from .terms import to_ox, to_rdflib

TARGETS = (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf)
# predicates of a shape that do not constrain anything (non-SHACL predicates are
# annotations too)
ANNOTATIONS = {RDF.type, SH.name, SH.description, SH.message, SH.severity, SH.deactivated,
               SH.order, SH.group, SH.defaultValue, SH.path, SH.property, SH.sparql,
               SH.qualifiedMinCount, SH.qualifiedMaxCount, SH.qualifiedValueShapesDisjoint,
               SH.flags, *TARGETS}
SEVERITY_NAMES: dict[Node | None, str] = {SH.Violation: "Violation", SH.Warning: "Warning", SH.Info: "Info"}
TYPE, SUBCLASS_OF = RDF.type, RDFS.subClassOf  # looked up once: namespace lookups are slow


class ShapesError(GfdError):
    """The shapes use a part of SHACL this engine does not implement, or misuse one."""


@dataclass(frozen=True)
class RawResult:
    """One validation result, in the terms of the data graph and of the shapes graph."""

    severity: str
    source: Node  # the shape whose constraint failed
    focus: Node
    path: Node | None  # the shape's sh:path, or the predicate a SPARQL result names
    value: Node | None
    messages: tuple[str, ...]


# -- the data ---------------------------------------------------------------------------

class Index:
    """The graph the engine checks, indexed: objects by subject and predicate, subjects by
    object and predicate, instances by class through ``rdfs:subClassOf*``; and a
    pyoxigraph copy for the SHACL-SPARQL constraints. Grows by ``extend`` (the reasoned
    graph is the asserted one, grown); ``namespaces`` are the prefixes reports use."""

    def __init__(self, triples: Iterable[tuple[Node, Node, Node]] = (),
                 namespaces: Iterable[tuple[str, Node]] = ()) -> None:
        self.out: dict[Node, dict[Node, set[Node]]] = defaultdict(lambda: defaultdict(set))
        self.into: dict[Node, dict[Node, set[Node]]] = defaultdict(lambda: defaultdict(set))
        self.by_predicate: dict[Node, list[tuple[Node, Node]]] = defaultdict(list)
        self.native = ox.Store()
        self.namespaces = list(namespaces)
        self._supers: dict[Node, frozenset[Node]] = {}
        self._instances: dict[Node, set[Node]] | None = None
        self.extend(triples)

    def extend(self, triples: Iterable[tuple[Node, Node, Node]]) -> None:
        new = []
        for s, p, o in triples:
            objects = self.out[s][p]
            if o not in objects:
                objects.add(o)
                self.into[o][p].add(s)
                self.by_predicate[p].append((s, o))
                new.append(ox.Quad(to_ox(s), to_ox(p), to_ox(o)))  # type: ignore[arg-type]
        self.native.bulk_extend(new)
        self._supers, self._instances = {}, None

    def __len__(self) -> int:
        return sum(len(pairs) for pairs in self.by_predicate.values())

    def objects(self, s: Node, p: Node) -> set[Node]:
        found = self.out.get(s)
        return found.get(p, set()) if found is not None else set()

    def subjects(self, p: Node, o: Node) -> set[Node]:
        found = self.into.get(o)
        return found.get(p, set()) if found is not None else set()

    def superclasses(self, cls: Node) -> frozenset[Node]:
        """``cls`` and every class it is a ``rdfs:subClassOf*`` of."""
        known = self._supers.get(cls)
        if known is None:
            seen, todo = {cls}, [cls]
            while todo:
                for sup in self.objects(todo.pop(), SUBCLASS_OF):
                    if sup not in seen:
                        seen.add(sup)
                        todo.append(sup)
            known = self._supers[cls] = frozenset(seen)
        return known

    def classes(self, node: Node) -> set[Node]:
        """Every class ``node`` is an instance of, by ``rdf:type/rdfs:subClassOf*``."""
        found: set[Node] = set()
        for t in self.objects(node, TYPE):
            found |= self.superclasses(t)
        return found

    def instances(self, cls: Node) -> set[Node]:
        if self._instances is None:
            self._instances = defaultdict(set)
            for s, t in self.by_predicate.get(TYPE, ()):
                for c in self.superclasses(t):
                    self._instances[c].add(s)
        return self._instances.get(cls, set())


# -- paths ------------------------------------------------------------------------------

Path = Callable[[Index, Node], set[Node]]


def _items(shapes: Graph, head: Node, what: str) -> list[Node]:
    items = list(Collection(shapes, head))
    if not items:
        raise ShapesError(f"{what} must be a non-empty RDF list")
    return items


def compile_path(shapes: Graph, node: Node, depth: int = 0) -> Path:
    """A SHACL property path as a function from a node to its set of value nodes."""
    if depth > 10:
        raise ShapesError(f"the property path at {node} nests too deeply")
    if isinstance(node, URIRef):
        return lambda index, focus: set(index.objects(focus, node))
    if isinstance(node, Literal):
        raise ShapesError(f"a property path cannot be a literal: {node!r}")
    if shapes.value(node, RDF.first) is not None:
        steps = [compile_path(shapes, n, depth + 1) for n in _items(shapes, node, "a path")]

        def sequence(index: Index, focus: Node) -> set[Node]:
            current = {focus}
            for step in steps:
                current = {v for c in current for v in step(index, c)}
            return current
        return sequence
    inverse = shapes.value(node, SH.inversePath)
    if isinstance(inverse, URIRef):
        return lambda index, focus: set(index.subjects(inverse, focus))
    alternatives = shapes.value(node, SH.alternativePath)
    if alternatives is not None:
        options = [compile_path(shapes, n, depth + 1)
                   for n in _items(shapes, alternatives, "sh:alternativePath")]
        return lambda index, focus: set().union(*(o(index, focus) for o in options))
    for key, include_focus in ((SH.zeroOrMorePath, True), (SH.oneOrMorePath, False)):
        inner_node = shapes.value(node, key)
        if inner_node is not None:
            return _closure(compile_path(shapes, inner_node, depth + 1), include_focus)
    raise ShapesError(f"unsupported property path at {node}: use an IRI, a sequence, "
                      "sh:inversePath of an IRI, sh:alternativePath, sh:zeroOrMorePath or "
                      "sh:oneOrMorePath")


def _closure(step: Path, include_focus: bool) -> Path:
    def walk(index: Index, focus: Node) -> set[Node]:
        found: set[Node] = {focus} if include_focus else set()
        todo = list(step(index, focus))
        while todo:
            node = todo.pop()
            if node not in found:
                found.add(node)
                todo.extend(step(index, node))
        return found
    return walk


# -- constraint components ------------------------------------------------------------------

# A check: the focus node and its value nodes -> the failing values (None: a result
# without sh:value). ``conforms`` validates a node against a nested shape.
Check = Callable[[Index, Node, set[Node]], Iterator[Node | None]]
Conforms = Callable[[Index, Node], bool]


def _class_check(cls: Node) -> Check:
    def check(index: Index, focus: Node, values: set[Node]) -> Iterator[Node | None]:
        for v in values:
            if isinstance(v, Literal) or cls not in index.classes(v):
                yield v
    return check


PYTHON_TYPES: dict[Node, type] = {XSD.integer: int, XSD.float: float, XSD.decimal: Decimal,
                                  XSD.boolean: bool, XSD.date: date, XSD.time: time,
                                  XSD.dateTime: datetime}


def _actual_type(value: object, datatype: Node) -> bool:
    """pySHACL's test that a literal's value is what its datatype promises."""
    if datatype in (XSD.string, RDF.langString):
        return isinstance(value, (str, bytes))
    expected = PYTHON_TYPES.get(datatype)
    return expected is None or isinstance(value, expected)


def _datatype_check(datatype: Node) -> Check:
    def matches(v: Node) -> bool:
        if not isinstance(v, Literal):
            return False
        if v.datatype == datatype:
            return getattr(v, "ill_typed", None) is not True and _actual_type(v.value, datatype)
        if datatype == RDFS.Literal:
            return True
        if datatype == RDFS.Datatype:
            return v.datatype is not None
        if v.datatype is None and v.language is None and datatype == XSD.string:
            return _actual_type(v.value, datatype)
        if datatype == RDF.langString and v.language:
            return _actual_type(v.value, datatype)
        return False

    return lambda index, focus, values: (v for v in values if not matches(v))


NODE_KINDS: dict[Node, tuple[type, ...]] = {
    SH.IRI: (URIRef,), SH.Literal: (Literal,), SH.BlankNode: (BNode,),
    SH.BlankNodeOrIRI: (BNode, URIRef), SH.BlankNodeOrLiteral: (BNode, Literal),
    SH.IRIOrLiteral: (URIRef, Literal),
}


def _node_kind_check(kind: Node) -> Check:
    kinds = NODE_KINDS.get(kind)
    if kinds is None:
        raise ShapesError(f"sh:nodeKind {kind} is not a SHACL node kind")
    return lambda index, focus, values: (v for v in values if not isinstance(v, kinds))


def _count_check(least: int | None, most: int | None) -> Check:
    def check(index: Index, focus: Node, values: set[Node]) -> Iterator[Node | None]:
        if (least is not None and len(values) < least) or (most is not None and len(values) > most):
            yield None
    return check


def _text_of(v: Node) -> str:
    if isinstance(v, Literal) and v.value is not None and v.datatype in (None, RDF.langString,
                                                                       XSD.string):
        return str(v.value)
    return str(v)


def _pattern_check(pattern: Node, flags: Node | None) -> Check:
    bits = 0
    for letter, bit in (("i", re.I), ("m", re.M), ("s", re.S), ("x", re.X)):
        if flags is not None and letter in str(flags).lower():
            bits |= bit
    regex = re.compile(str(pattern), bits)
    return lambda index, focus, values: (
        v for v in values if isinstance(v, BNode) or not regex.search(_text_of(v)))


def _length_check(least: int | None, most: int | None) -> Check:
    def ok(v: Node) -> bool:
        if isinstance(v, BNode):
            return False
        n = len(_text_of(v))
        return (least is None or n >= least) and (most is None or n <= most)
    return lambda index, focus, values: (v for v in values if not ok(v))


def _range_check(bound: Literal, test: Callable[[object, object], bool]) -> Check:
    bound_is_text = isinstance(bound.value, str)

    def ok(v: Node) -> bool:
        if not isinstance(v, Literal) or isinstance(v.value, str) != bound_is_text:
            return False
        try:
            return test(v.value, bound.value)
        except TypeError:
            return False
    return lambda index, focus, values: (v for v in values if not ok(v))


def _in_check(allowed: set[Node]) -> Check:
    return lambda index, focus, values: (v for v in values if v not in allowed)


def _has_value_check(wanted: Node) -> Check:
    def check(index: Index, focus: Node, values: set[Node]) -> Iterator[Node | None]:
        if wanted not in values:
            yield None
    return check


def _unique_lang_check() -> Check:
    def check(index: Index, focus: Node, values: set[Node]) -> Iterator[Node | None]:
        seen: set[str] = set()
        twice: set[str] = set()
        for v in values:
            if isinstance(v, Literal) and v.language:
                lang = v.language.lower()
                (twice if lang in seen else seen).add(lang)
        for _ in twice:
            yield None
    return check


def _equals_check(other: Node) -> Check:
    def check(index: Index, focus: Node, values: set[Node]) -> Iterator[Node | None]:
        theirs = index.objects(focus, other)
        yield from values - theirs
        yield from theirs - values
    return check


def _comparable(v: Node) -> tuple[bool, object]:
    if isinstance(v, URIRef):
        return True, str(v)
    if isinstance(v, Literal) and isinstance(v.value, str):
        return True, v.value
    return False, v


def _less_than_check(other: Node) -> Check:
    def check(index: Index, focus: Node, values: set[Node]) -> Iterator[Node | None]:
        for v in values:
            v_text, left = _comparable(v)
            for o in index.objects(focus, other):
                if isinstance(v, BNode) or isinstance(o, BNode):
                    raise ShapesError(f"sh:lessThan cannot compare a blank node ({focus})")
                o_text, right = _comparable(o)
                try:
                    smaller = v_text == o_text and left < right  # type: ignore[operator]
                except TypeError:
                    smaller = False
                if not smaller:
                    yield v
    return check


def _or_check(options: list[Conforms]) -> Check:
    return lambda index, focus, values: (
        v for v in values if not any(conforms(index, v) for conforms in options))


def _not_check(negated: Conforms) -> Check:
    return lambda index, focus, values: (v for v in values if negated(index, v))


def _qualified_check(inner: Conforms, least: int | None, most: int | None) -> Check:
    def check(index: Index, focus: Node, values: set[Node]) -> Iterator[Node | None]:
        n = sum(1 for v in values if inner(index, v))
        if (least is not None and n < least) or (most is not None and n > most):
            yield None
    return check


# -- SHACL-SPARQL ---------------------------------------------------------------------------

# a solution of a SHACL-SPARQL query: $this, ?path, ?value and the other variables
Solution = tuple[Node | None, Node | None, Node | None, dict[str, Node]]


@dataclass(frozen=True)
class SparqlConstraint:
    node: Node
    query: str
    messages: tuple[str, ...]

    def results(self, index: Index, focus: Node) -> list[Solution]:
        """The query's distinct solutions for ``focus``: (this, path, value, other
        variables), as pySHACL reads them (a row binding none of the three is no result;
        a ``?failure`` row is a failure of the query itself)."""
        answer = index.native.query(self.query, substitutions={ox.Variable("this"): to_ox(focus)})
        if not isinstance(answer, ox.QuerySolutions):
            raise ShapesError(f"the SPARQL constraint {self.node} must be a SELECT query")
        names = [v.value for v in answer.variables]
        found: list[Solution] = []
        for row in answer:
            bound: dict[str, Node] = {name: to_rdflib(value) for name, value in zip(names, row)
                     if value is not None}
            if bound.pop("failure", None) is not None:
                raise ShapesError(f"the SPARQL constraint {self.node} reported a failure "
                                  f"for {focus}")
            path: Node | None = bound.pop("path", None)
            value: Node | None = bound.pop("value", None)
            this: Node | None = bound.pop("this", None)
            if (path, value, this) == (None, None, None):
                continue
            solution: Solution = (this, path, value, bound)
            if solution not in found:
                found.append(solution)
        return found


def _fill(message: str, bound: dict[str, Node]) -> str:
    """A SHACL-SPARQL message with its ``{?var}`` / ``{$var}`` placeholders filled."""
    for name, value in bound.items():
        text = str(value)
        message = re.sub(r"\{[?$]" + re.escape(name) + r"\}", lambda _match: text, message)
    return message


# -- shapes -----------------------------------------------------------------------------

@dataclass
class Shape:
    node: Node
    severity: str
    messages: tuple[str, ...]
    path: Path | None = None
    path_node: Node | None = None
    checks: list[Check] = field(default_factory=list)
    properties: list[Shape] = field(default_factory=list)
    sparql: list[SparqlConstraint] = field(default_factory=list)

    def values(self, index: Index, focus: Node) -> set[Node]:
        return self.path(index, focus) if self.path is not None else {focus}

    def results(self, index: Index, focus: Node) -> Iterator[RawResult]:
        values = self.values(index, focus)
        for check in self.checks:
            for value in check(index, focus, values):
                yield RawResult(self.severity, self.node, focus, self.path_node, value,
                                self.messages)
        for prop in self.properties:
            yield from prop.results(index, focus)
        for constraint in self.sparql:
            yield from self._sparql_results(constraint, index, focus)

    def _sparql_results(self, constraint: SparqlConstraint, index: Index,
                        focus: Node) -> Iterator[RawResult]:
        default_value = focus if self.path is None else None
        for this, path, value, bound in constraint.results(index, focus):
            value = default_value if value is None else value
            names = dict(bound)
            names.update({k: v for k, v in (("this", this), ("path", path), ("value", value))
                          if v is not None})
            messages = tuple(_fill(m, names) for m in self.messages + tuple(
                m for m in constraint.messages if m not in self.messages))
            yield RawResult(self.severity, self.node, this or focus,
                            path if path is not None else self.path_node, value, messages)

    def conforms(self, index: Index, node: Node) -> bool:
        """Whether ``node`` as a focus node meets this (nested) shape: no results."""
        return next(self.results(index, node), None) is None


class _Compiler:
    def __init__(self, shapes: Graph) -> None:
        self.shapes = shapes
        self.done: dict[Node, Shape] = {}

    def shape(self, node: Node, nested: bool = False) -> Shape:
        if node in self.done:
            return self.done[node]
        g = self.shapes
        unknown = sorted(str(p) for p in set(g.predicates(node))
                         if str(p).startswith(str(SH)) and p not in ANNOTATIONS
                         and p not in COMPONENTS)
        if unknown:
            raise ShapesError(f"the shape {node} uses {', '.join(unknown)}, which this SHACL "
                              "engine does not implement (gfd_kg/shacl.py); implement it "
                              "there, tested against pySHACL")
        severity = g.value(node, SH.severity, default=SH.Violation)
        if severity not in SEVERITY_NAMES:
            raise ShapesError(f"the shape {node} has sh:severity {severity}: use sh:Violation, "
                              "sh:Warning or sh:Info")
        path_node = g.value(node, SH.path)
        shape = Shape(node, SEVERITY_NAMES[severity],
                      tuple(sorted({str(m) for m in g.objects(node, SH.message)})),
                      compile_path(g, path_node) if path_node is not None else None,
                      path_node)
        self.done[node] = shape
        if g.value(node, SH.deactivated) == Literal(True):
            return shape
        for key, build in COMPONENTS.items():
            if (node, key, None) in g:
                shape.checks.append(build(self, node))
        shape.properties = [self.shape(p, nested) for p in g.objects(node, SH.property)]
        for constraint in g.objects(node, SH.sparql):
            if nested:
                raise ShapesError(f"the shape {node}, used inside another constraint, has a "
                                  "SPARQL constraint: this engine does not support that")
            shape.sparql.append(self.sparql(constraint))
        return shape

    def sparql(self, node: Node) -> SparqlConstraint:
        g = self.shapes
        select = g.value(node, SH.select)
        if select is None:
            raise ShapesError(f"the SPARQL constraint {node} needs sh:select (sh:ask "
                              "validators are not implemented)")
        prefixes = []
        for declarer in g.objects(node, SH.prefixes):
            for declaration in g.objects(declarer, SH.declare):
                prefixes.append(f"PREFIX {g.value(declaration, SH.prefix)}: "
                                f"<{g.value(declaration, SH.namespace)}>")
        messages = tuple(sorted({str(m) for m in g.objects(node, SH.message)}))
        return SparqlConstraint(node, "\n".join(sorted(set(prefixes)) + [str(select)]),
                                messages)

    def one(self, node: Node, key: Node) -> Node:
        values = list(self.shapes.objects(node, key))
        if len(values) != 1:
            raise ShapesError(f"the shape {node} must have exactly one {key}")
        return values[0]

    def number(self, node: Node, key: Node) -> int | None:
        value = self.shapes.value(node, key)
        if value is None:
            return None
        if not isinstance(value, Literal) or not isinstance(value.value, int):
            raise ShapesError(f"the shape {node}: {key} must be an integer")
        return value.value

    def nested(self, node: Node, key: Node) -> list[Conforms]:
        return [self.shape(n, nested=True).conforms
                for n in _items(self.shapes, self.one(node, key), str(key))]


def _qualified(c: _Compiler, node: Node) -> Check:
    if c.shapes.value(node, SH.qualifiedValueShapesDisjoint) == Literal(True):
        raise ShapesError(f"the shape {node}: sh:qualifiedValueShapesDisjoint is not "
                          "implemented")
    inner = c.shape(c.one(node, SH.qualifiedValueShape), nested=True)
    return _qualified_check(inner.conforms, c.number(node, SH.qualifiedMinCount),
                            c.number(node, SH.qualifiedMaxCount))


def _counts(key: Node) -> Callable[[_Compiler, Node], Check]:
    def build(c: _Compiler, node: Node) -> Check:
        n = c.number(node, key)
        return _count_check(n, None) if key == SH.minCount else _count_check(None, n)
    return build


def _lengths(key: Node) -> Callable[[_Compiler, Node], Check]:
    def build(c: _Compiler, node: Node) -> Check:
        n = c.number(node, key)
        return _length_check(n, None) if key == SH.minLength else _length_check(None, n)
    return build


def _range(key: Node, test: Callable[[object, object], bool]) -> Callable[[_Compiler, Node], Check]:
    def build(c: _Compiler, node: Node) -> Check:
        bound = c.one(node, key)
        if not isinstance(bound, Literal):
            raise ShapesError(f"the shape {node}: {key} must be a literal")
        return _range_check(bound, test)
    return build


COMPONENTS: dict[Node, Callable[[_Compiler, Node], Check]] = {
    SH["class"]: lambda c, n: _class_check(c.one(n, SH["class"])),
    SH.datatype: lambda c, n: _datatype_check(c.one(n, SH.datatype)),
    SH.nodeKind: lambda c, n: _node_kind_check(c.one(n, SH.nodeKind)),
    SH.minCount: _counts(SH.minCount),
    SH.maxCount: _counts(SH.maxCount),
    SH.minLength: _lengths(SH.minLength),
    SH.maxLength: _lengths(SH.maxLength),
    SH.minInclusive: _range(SH.minInclusive, lambda v, b: v >= b),  # type: ignore[operator]
    SH.maxInclusive: _range(SH.maxInclusive, lambda v, b: v <= b),  # type: ignore[operator]
    SH.minExclusive: _range(SH.minExclusive, lambda v, b: v > b),  # type: ignore[operator]
    SH.maxExclusive: _range(SH.maxExclusive, lambda v, b: v < b),  # type: ignore[operator]
    SH.pattern: lambda c, n: _pattern_check(c.one(n, SH.pattern), c.shapes.value(n, SH.flags)),
    SH["in"]: lambda c, n: _in_check(set(_items(c.shapes, c.one(n, SH["in"]), "sh:in"))),
    SH.hasValue: lambda c, n: _has_value_check(c.one(n, SH.hasValue)),
    SH.uniqueLang: lambda c, n: (_unique_lang_check()
                                 if c.one(n, SH.uniqueLang) == Literal(True)
                                 else (lambda index, focus, values: iter(()))),
    SH.equals: lambda c, n: _equals_check(c.one(n, SH.equals)),
    SH.lessThan: lambda c, n: _less_than_check(c.one(n, SH.lessThan)),
    SH["or"]: lambda c, n: _or_check(c.nested(n, SH["or"])),
    SH["not"]: lambda c, n: _not_check(c.shape(c.one(n, SH["not"]), nested=True).conforms),
    SH.qualifiedValueShape: _qualified,
}


@dataclass(frozen=True)
class Target:
    classes: tuple[Node, ...]
    nodes: tuple[Node, ...]
    subjects_of: tuple[Node, ...]
    objects_of: tuple[Node, ...]

    def focus_nodes(self, index: Index) -> set[Node]:
        found = set(self.nodes)
        for cls in self.classes:
            found |= index.instances(cls)
        for p in self.subjects_of:
            found.update(s for s, _ in index.by_predicate.get(p, ()))
        for p in self.objects_of:
            found.update(o for _, o in index.by_predicate.get(p, ()))
        return found


class CompiledShapes:
    """The shapes of a shapes graph that have targets, compiled (see the module)."""

    def __init__(self, targeted: list[tuple[Target, Shape]]) -> None:
        self.targeted = targeted

    @classmethod
    def of(cls, shapes: Graph) -> CompiledShapes:
        compiler = _Compiler(shapes)
        roots = sorted({s for key in TARGETS for s in shapes.subjects(key, None)}, key=str)
        targeted = []
        for node in roots:
            target = Target(*(tuple(shapes.objects(node, key)) for key in TARGETS))
            targeted.append((target, compiler.shape(node)))
        return cls(targeted)

    def check(self, index: Index) -> list[RawResult]:
        """Every result of validating the indexed graph."""
        results: list[RawResult] = []
        for target, shape in self.targeted:
            for focus in target.focus_nodes(index):
                results.extend(shape.results(index, focus))
        return results
