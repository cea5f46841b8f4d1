"""SHACL, compiled: the shapes read once into plain checks that run over an index of the
data graph, for the build, where pySHACL's per-node work is most of the cost.

``CompiledShapes.of(shapes)`` reads every shape with a target (explicit, or implicit: a
shape that is also an ``rdfs:Class``) and what it reaches (``sh:property``, ``sh:node``,
the logical components, ``sh:qualifiedValueShape``) into small objects; ``check(index)``
runs every check on value-node sets, as SHACL defines them, over an ``Index`` of the
graph's triples (subject -> predicate -> objects, and the reverse; each node's classes
through ``rdfs:subClassOf*``). Each result names its constraint component.

SHACL-SPARQL (``sh:sparql`` constraints, and constraint components declared with
``sh:parameter`` and SELECT or ASK validators) is asked of the index's pyoxigraph copy of
the graph, once per focus node (per value node for an ASK validator), with ``$this``,
``$currentShape``, ``$value`` and the parameters pre-bound by SHACL's rule (5.2.1): the
query is checked against the rule's restrictions (no MINUS, VALUES, SERVICE, no ``AS`` of
a pre-bound variable, a subquery returns every pre-bound variable), under which
pre-binding is the same as writing each value in its variable's place
(``prebinding_template``). ``$PATH`` is
written as the shape's path; ``$shapesGraph`` names the shapes graph, which the copy then
holds as a named graph. Refused, with ``ShapesError``: a blank node to pre-bind,
``SELECT *``, ``sh:target``, and any SHACL predicate this module does not know.

Run on the W3C SHACL suite (tests/test_w3c_shacl.py), every test passes or is refused; on
the project's shapes the results are pySHACL's, one for one (tests/test_shacl_engine.py),
except where pySHACL is wrong: ``sh:lessThan`` / ``sh:lessThanOrEquals`` compare by XSD's
order (``compare``), in which a time without a time zone and one with may be incomparable.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pyoxigraph as ox
from rdflib import RDF, BNode, Graph, Literal, Node, URIRef
from rdflib.collection import Collection
from rdflib.namespace import OWL, RDFS, SH, XSD

from .errors import GfdError
from .terms import to_ox, to_rdflib

TARGETS = (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf)
# predicates of a shape that do not constrain anything (non-SHACL predicates are
# annotations too)
ANNOTATIONS = {RDF.type, SH.name, SH.description, SH.message, SH.severity, SH.deactivated,
               SH.order, SH.group, SH.defaultValue, SH.path, SH.property, SH.sparql,
               SH.qualifiedMinCount, SH.qualifiedMaxCount, SH.qualifiedValueShapesDisjoint,
               SH.flags, SH.prefixes, *TARGETS}
SEVERITY_NAMES: dict[Node | None, str] = {SH.Violation: "Violation", SH.Warning: "Warning",
                                          SH.Info: "Info"}
TYPE, SUBCLASS_OF = RDF.type, RDFS.subClassOf  # looked up once: namespace lookups are slow


def severity_name(severity: Node) -> str:
    """A result's severity as reports write it: Violation, Warning, Info, or the IRI of a
    severity of the shapes' own."""
    return SEVERITY_NAMES.get(severity) or str(severity)


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
    component: Node | None  # the constraint component, e.g. sh:MinCountConstraintComponent


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
        self.graphs: set[URIRef] = set()  # the named graphs of ``native`` (add_graph)
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

    def add_graph(self, name: URIRef, triples: Iterable[tuple[Node, Node, Node]]) -> None:
        """``triples`` as the named graph ``name`` of the pyoxigraph copy (once), for the
        queries that read it; the checks and the default graph do not see it."""
        if name not in self.graphs:
            self.graphs.add(name)
            graph = ox.NamedNode(str(name))
            self.native.bulk_extend(ox.Quad(to_ox(s), to_ox(p), to_ox(o), graph)  # type: ignore[arg-type]
                                    for s, p, o in triples)

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
    if inverse is not None:
        raise ShapesError(f"the property path at {node}: sh:inversePath of a path that is "
                          "not an IRI is not implemented")
    alternatives = shapes.value(node, SH.alternativePath)
    if alternatives is not None:
        options = [compile_path(shapes, n, depth + 1)
                   for n in _items(shapes, alternatives, "sh:alternativePath")]
        return lambda index, focus: set().union(*(o(index, focus) for o in options))
    for key, include_focus in ((SH.zeroOrMorePath, True), (SH.oneOrMorePath, False)):
        inner_node = shapes.value(node, key)
        if inner_node is not None:
            return _closure(compile_path(shapes, inner_node, depth + 1), include_focus)
    optional = shapes.value(node, SH.zeroOrOnePath)
    if optional is not None:
        once = compile_path(shapes, optional, depth + 1)
        return lambda index, focus: {focus} | once(index, focus)
    raise ShapesError(f"unsupported property path at {node}: use an IRI, a sequence, "
                      "sh:inversePath of an IRI, sh:alternativePath, sh:zeroOrMorePath, "
                      "sh:oneOrMorePath or sh:zeroOrOnePath")


def path_text(shapes: Graph, node: Node, depth: int = 0) -> str:
    """A SHACL property path in SPARQL's syntax, for ``$PATH`` (SHACL 6.3)."""
    if depth > 10:
        raise ShapesError(f"the property path at {node} nests too deeply")
    if isinstance(node, URIRef):
        return f"<{node}>"
    if shapes.value(node, RDF.first) is not None:
        return "(" + "/".join(path_text(shapes, n, depth + 1)
                              for n in _items(shapes, node, "a path")) + ")"
    inverse = shapes.value(node, SH.inversePath)
    if inverse is not None:
        return f"^({path_text(shapes, inverse, depth + 1)})"
    alternatives = shapes.value(node, SH.alternativePath)
    if alternatives is not None:
        return "(" + "|".join(path_text(shapes, n, depth + 1)
                              for n in _items(shapes, alternatives, "sh:alternativePath")) + ")"
    for key, mark in ((SH.zeroOrMorePath, "*"), (SH.oneOrMorePath, "+"), (SH.zeroOrOnePath, "?")):
        inner = shapes.value(node, key)
        if inner is not None:
            return f"({path_text(shapes, inner, depth + 1)}){mark}"
    raise ShapesError(f"unsupported property path at {node}")


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
# without sh:value; a (path, value) pair: a result with its own path, as sh:closed gives).
# ``conforms`` validates a node against a nested shape.
Hit = Node | None | tuple[Node, Node]
Check = Callable[[Index, Node, set[Node]], Iterator[Hit]]
Conforms = Callable[[Index, Node], bool]


def _class_check(cls: Node) -> Check:
    def check(index: Index, focus: Node, values: set[Node]) -> Iterator[Hit]:
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
    def check(index: Index, focus: Node, values: set[Node]) -> Iterator[Hit]:
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
    for letter, bit in (("i", re.IGNORECASE), ("m", re.MULTILINE), ("s", re.DOTALL),
                        ("x", re.VERBOSE)):
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


def _range_check(bound: Literal, allowed: tuple[int, ...]) -> Check:
    """Values whose order against ``bound`` (``compare``, XSD's) is not in ``allowed``."""
    return lambda index, focus, values: (v for v in values if compare(v, bound) not in allowed)


def _in_check(allowed: set[Node]) -> Check:
    return lambda index, focus, values: (v for v in values if v not in allowed)


def _has_value_check(wanted: Node) -> Check:
    def check(index: Index, focus: Node, values: set[Node]) -> Iterator[Hit]:
        if wanted not in values:
            yield None
    return check


def _unique_lang_check() -> Check:
    def check(index: Index, focus: Node, values: set[Node]) -> Iterator[Hit]:
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
    def check(index: Index, focus: Node, values: set[Node]) -> Iterator[Hit]:
        theirs = index.objects(focus, other)
        yield from values - theirs
        yield from theirs - values
    return check


def _disjoint_check(other: Node) -> Check:
    return lambda index, focus, values: (v for v in values if v in index.objects(focus, other))


# -- the order of values (sh:lessThan, sh:lessThanOrEquals) ---------------------------------

NUMERIC = {XSD[t] for t in (
    "integer", "decimal", "float", "double", "nonNegativeInteger", "positiveInteger",
    "negativeInteger", "nonPositiveInteger", "long", "int", "short", "byte", "unsignedLong",
    "unsignedInt", "unsignedShort", "unsignedByte")}
TEMPORAL = {XSD.dateTime, XSD.dateTimeStamp, XSD.date, XSD.time}
DATE_TIMES = {XSD.dateTime, XSD.dateTimeStamp}
STRINGS: set[Node | None] = {None, XSD.string}
BOOLEAN = XSD.boolean
ZONE = re.compile(r"(Z|[+-]\d\d:\d\d)$")
FOURTEEN_HOURS = timedelta(hours=14)


def _ordered(v: Literal) -> tuple[str, object] | None:
    """What a literal is compared as, in XSD's order: its kind and its value (None: the
    literal has no order, or is ill-typed)."""
    if getattr(v, "ill_typed", None) is True or v.value is None:
        return None
    if v.language is not None:
        return None
    if v.datatype in NUMERIC:
        if isinstance(v.value, float) and v.value != v.value:  # NaN is unordered
            return None
        return "number", v.value
    if v.datatype in STRINGS:
        return "string", str(v.value)
    if v.datatype == BOOLEAN:
        return "boolean", bool(v.value)
    if v.datatype in TEMPORAL:
        value = v.value
        if isinstance(value, time):
            value = datetime.combine(date(2000, 1, 1), value)
        elif not isinstance(value, datetime) and isinstance(value, date):
            zone = ZONE.search(str(v))
            value = datetime.combine(value, time())
            if zone is not None:
                value = datetime.fromisoformat(value.isoformat()
                                               + ("+00:00" if zone[1] == "Z" else zone[1]))
        kind = "dateTime" if v.datatype in DATE_TIMES else str(v.datatype)
        return kind, value
    return None


def compare(a: Node, b: Node) -> int | None:
    """-1, 0 or 1 as ``a`` is before, equal to or after ``b`` in XSD's order; None when
    they cannot be compared (not literals, other kinds, or a time with a time zone against
    one without whose order XSD leaves indeterminate, not rdflib's answer)."""
    if not isinstance(a, Literal) or not isinstance(b, Literal):
        return None
    left, right = _ordered(a), _ordered(b)
    if left is None or right is None or left[0] != right[0]:
        return None
    x, y = left[1], right[1]
    if (isinstance(x, datetime) and isinstance(y, datetime)
            and (x.tzinfo is None) != (y.tzinfo is None)):
        naive, aware, sign = (x, y, 1) if x.tzinfo is None else (y, x, -1)
        earliest = naive.replace(tzinfo=UTC) - FOURTEEN_HOURS
        latest = naive.replace(tzinfo=UTC) + FOURTEEN_HOURS
        if latest < aware:
            return -sign
        if earliest > aware:
            return sign
        return None
    try:
        return -1 if x < y else 1 if x > y else 0  # type: ignore[operator]
    except TypeError:
        return None


def _less_than_check(other: Node, or_equal: bool) -> Check:
    allowed = (-1, 0) if or_equal else (-1,)

    def check(index: Index, focus: Node, values: set[Node]) -> Iterator[Hit]:
        for v in values:
            for o in index.objects(focus, other):
                if compare(v, o) not in allowed:
                    yield v
    return check


# -- nested shapes ----------------------------------------------------------------------------

def _node_check(inner: Conforms) -> Check:
    return lambda index, focus, values: (v for v in values if not inner(index, v))


def _and_check(parts: list[Conforms]) -> Check:
    return lambda index, focus, values: (
        v for v in values if not all(conforms(index, v) for conforms in parts))


def _or_check(options: list[Conforms]) -> Check:
    return lambda index, focus, values: (
        v for v in values if not any(conforms(index, v) for conforms in options))


def _xone_check(options: list[Conforms]) -> Check:
    return lambda index, focus, values: (
        v for v in values if sum(1 for conforms in options if conforms(index, v)) != 1)


def _not_check(negated: Conforms) -> Check:
    return lambda index, focus, values: (v for v in values if negated(index, v))


def _qualified_check(inner: Conforms, siblings: list[Conforms], least: int | None,
                     most: int | None) -> Check:
    def check(index: Index, focus: Node, values: set[Node]) -> Iterator[Hit]:
        n = sum(1 for v in values
                if inner(index, v) and not any(other(index, v) for other in siblings))
        if (least is not None and n < least) or (most is not None and n > most):
            yield None
    return check


def _closed_check(allowed: frozenset[Node]) -> Check:
    def check(index: Index, focus: Node, values: set[Node]) -> Iterator[Hit]:
        for v in values:
            for p, objects in index.out.get(v, {}).items():
                if p not in allowed:
                    for o in objects:
                        yield p, o
    return check


def _language_in_check(ranges: list[str]) -> Check:
    def matches(v: Node) -> bool:
        if not isinstance(v, Literal) or not v.language:
            return False
        tag = v.language.lower()
        return any(r == "*" or tag == r or tag.startswith(r + "-") for r in ranges)
    return lambda index, focus, values: (v for v in values if not matches(v))


# -- SHACL-SPARQL ---------------------------------------------------------------------------

# a solution of a SHACL-SPARQL query: $this, ?path, ?value and the other variables
Solution = tuple[Node | None, Node | None, Node | None, dict[str, Node]]

TOKEN = re.compile(r'''
    (?P<comment>\#[^\n]*)
  | (?P<string>"""(?:[^"\\]|\\.|"(?!""))*"""|\'\'\'(?:[^'\\]|\\.|'(?!''))*\'\'\'
              |"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
  | (?P<iri><[^<>"{}|^`\\\s]*>)
  | (?P<var>[?$][A-Za-z_0-9\u00B7-\uFFFF]+)
  | (?P<word>[A-Za-z_][A-Za-z_0-9\-.]*(?::[A-Za-z_0-9\-.:%\\\u00B7-\uFFFF]*)?)
  | (?P<space>\s+)
  | (?P<other>.)
''', re.VERBOSE | re.DOTALL)
FORBIDDEN = {"MINUS": "MINUS", "VALUES": "VALUES", "SERVICE": "SERVICE (a federated query)"}
# a piece of a query: text, or a pre-bound variable and how it is written there
Piece = str | tuple[str, str]


def _tokens(text: str) -> list[tuple[str, str]]:
    return [(m.lastgroup or "other", m.group()) for m in TOKEN.finditer(text)]


def prebinding_template(query: str, prebound: set[str], what: str) -> tuple[Piece, ...]:
    """``query`` cut into text and the places of its pre-bound variables, after checking
    the restrictions of SHACL 5.2.1 (no MINUS, VALUES, SERVICE, no ``AS`` of a pre-bound
    variable, a subquery returns every pre-bound variable). Under those, SHACL's pre-binding
    (a join of the bindings with every basic graph pattern) binds each pre-bound variable to
    its value in every solution of every part of the query, so writing the value in the variable's
    place is the same query: ``bound($this)`` is ``(true)``, ``$this`` in the projection is
    ``(value AS ?this)`` (in a subquery's, dropped), after the WHERE clause ``(value)``."""
    tokens = _tokens(query)
    words = [(i, t.upper()) for i, (kind, t) in enumerate(tokens) if kind == "word"]
    for _i, word in words:
        if word in FORBIDDEN:
            raise ShapesError(f"{what} uses {FORBIDDEN[word]}, which SHACL-SPARQL forbids "
                              "(SHACL 5.2.1)")
    selects = [i for i, w in words if w == "SELECT"]
    significant = [i for i, (kind, _t) in enumerate(tokens)
                   if kind not in ("space", "comment")]
    rank = {i: k for k, i in enumerate(significant)}

    def ahead(i: int, n: int) -> list[tuple[str, str]]:
        """The ``n`` tokens after token ``i``, spaces and comments left out."""
        return [tokens[j] for j in significant[rank[i] + 1:rank[i] + 1 + n]]

    for i, (kind, t) in enumerate(tokens):
        if kind == "word" and t.upper() == "AS":
            nxt = ahead(i, 1)
            if nxt and nxt[0][0] == "var" and nxt[0][1][1:] in prebound:
                raise ShapesError(f"{what} binds the pre-bound variable {nxt[0][1]} with AS, "
                                  "which SHACL-SPARQL forbids (SHACL 5.2.1)")
    start = selects[0] if selects else next((i for i, w in words if w == "ASK"), None)
    if start is None:
        raise ShapesError(f"{what} must be a SELECT or an ASK query")

    def where(select: int) -> int:
        """Where the WHERE clause of the query or subquery at ``select`` begins."""
        found = next((i for i in significant if i > select and (
            tokens[i][1] == "{" or tokens[i][1].upper() == "WHERE")), None)
        if found is None:
            raise ShapesError(f"{what} has no WHERE clause")
        return found

    def projection(select: int) -> list[int]:
        """The significant tokens between ``select`` and its WHERE clause."""
        items = [i for i in significant if select < i < where(select)]
        if [tokens[i][1] for i in items if tokens[i][1].upper() not in ("DISTINCT", "REDUCED")
            ][:1] == ["*"]:
            raise ShapesError(f"{what} selects *: name the variables, so that $this can be "
                              "given as it is pre-bound")
        return items

    body = where(start)
    if selects:
        projection(start)  # refuses SELECT *
    # a subquery must return every pre-bound variable (SHACL 5.2.1); its own projection
    # of them is dropped: they are values everywhere, so nothing joins on them
    dropped: set[int] = set()
    placeholders: dict[int, str] = {}
    for n, select in enumerate(selects[1:]):
        items = projection(select)
        named = {tokens[i][1][1:] for i in items if tokens[i][0] == "var"}
        missing = sorted(prebound - {"currentShape", "shapesGraph"} - named)
        if missing:
            raise ShapesError(f"{what} has a subquery that does not return "
                              f"{', '.join('$' + m for m in missing)}, which SHACL-SPARQL "
                              "requires (SHACL 5.2.1)")
        drop = {i for i in items if tokens[i][0] == "var" and tokens[i][1][1:] in prebound}
        dropped |= drop
        if drop and all(i in drop or tokens[i][1].upper() in ("DISTINCT", "REDUCED")
                        for i in items):
            placeholders[max(drop)] = f"(1 AS ?gfd_kg_subquery_{n})"
    depth, end = 0, len(tokens)
    for i in range(body, len(tokens)):
        if tokens[i] == ("other", "{"):
            depth += 1
        elif tokens[i] == ("other", "}"):
            depth -= 1
            if depth == 0:
                end = i
                break
    pieces: list[Piece] = []

    def text(t: str) -> None:
        if pieces and isinstance(pieces[-1], str):
            pieces[-1] += t  # the text between two variables, as one piece
        else:
            pieces.append(t)

    skip_to = -1
    for i, (kind, t) in enumerate(tokens):
        if i <= skip_to:
            continue
        if kind == "word" and t.upper() == "BOUND":
            nxt = ahead(i, 3)
            if ([k[1] for k in nxt[::2]] == ["(", ")"] and nxt[1][0] == "var"
                    and nxt[1][1][1:] in prebound):
                text("(true)")
                skip_to = significant[rank[i] + 3]
                continue
        if i in dropped:
            text(placeholders.get(i, ""))
        elif kind == "var" and t[1:] in prebound:
            place = "project" if start < i < body else "modifier" if i > end else "term"
            pieces.append((t[1:], place))
        else:
            text(t)
    return tuple(pieces)


def _term_text(term: Node, query: Node) -> str:
    if isinstance(term, URIRef):
        return f"<{term}>"
    if isinstance(term, Literal):
        return term.n3()
    raise ShapesError(f"the SPARQL query {query}: this engine cannot pre-bind a blank node "
                      f"({term})")


@dataclass(frozen=True)
class SparqlQuery:
    """A SHACL-SPARQL query (a constraint's or a validator's), ready to be asked with its
    variables pre-bound (``prebinding_template``)."""

    node: Node
    pieces: tuple[Piece, ...]
    messages: tuple[str, ...]

    def text(self, bindings: dict[str, Node]) -> str:
        written: dict[str, str] = {}
        out = []
        for piece in self.pieces:
            if isinstance(piece, str):
                out.append(piece)
                continue
            name, place = piece
            term = written.get(name)
            if term is None:
                term = written[name] = _term_text(bindings[name], self.node)
            out.append(f"({term} AS ?{name})" if place == "project"
                       else f"({term})" if place == "modifier" else term)
        return "".join(out)

    def answer(self, index: Index, bindings: dict[str, Node]) -> object:
        try:
            return index.native.query(self.text(bindings))
        except SyntaxError as e:  # a value that cannot be written in a query
            raise ShapesError(f"the SPARQL query {self.node} with {bindings}: {e}") from e

    def ask(self, index: Index, bindings: dict[str, Node]) -> bool:
        answer = self.answer(index, bindings)
        if not isinstance(answer, ox.QueryBoolean):
            raise ShapesError(f"the SPARQL validator {self.node} must be an ASK query")
        return bool(answer)

    def results(self, index: Index, bindings: dict[str, Node]) -> list[Solution]:
        """The query's distinct solutions: (this, path, value, other variables), as
        pySHACL reads them (a row binding none of the three is no result; a ``?failure``
        row is a failure of the query itself)."""
        answer = self.answer(index, bindings)
        if not isinstance(answer, ox.QuerySolutions):
            raise ShapesError(f"the SPARQL constraint {self.node} must be a SELECT query")
        names = [v.value for v in answer.variables]
        found: list[Solution] = []
        for row in answer:
            bound: dict[str, Node] = {name: to_rdflib(value)
                                      for name, value in zip(names, row, strict=True)
                                      if value is not None}
            if bound.pop("failure", None) is not None:
                raise ShapesError(f"the SPARQL constraint {self.node} reported a failure "
                                  f"for {bindings.get('this')}")
            path: Node | None = bound.pop("path", None)
            value: Node | None = bound.pop("value", None)
            this: Node | None = bound.pop("this", None)
            if (path, value, this) == (None, None, None):
                continue
            solution: Solution = (this, path, value, bound)
            if solution not in found:
                found.append(solution)
        return found


@dataclass(frozen=True)
class SparqlCheck:
    """A SPARQL-based constraint of a shape: an ``sh:sparql`` constraint or a validator of
    a constraint component, with the parameters' values of this shape."""

    component: Node
    query: SparqlQuery
    parameters: dict[str, Node]
    ask: bool  # an ASK validator: asked once per value node, with $value pre-bound


def _filled(messages: tuple[str, ...], bound: dict[str, Node]) -> tuple[str, ...]:
    """Messages filled, each once, in their first order."""
    return tuple(dict.fromkeys(_fill(m, bound) for m in dict.fromkeys(messages)))


def _fill(message: str, bound: dict[str, Node]) -> str:
    """A SHACL-SPARQL message with its ``{?var}`` / ``{$var}`` placeholders filled."""
    for name, value in bound.items():
        for mark in "?$":
            message = message.replace("{" + mark + name + "}", str(value))
    return message


# -- shapes -----------------------------------------------------------------------------

@dataclass
class Shape:
    node: Node
    severity: str
    messages: tuple[str, ...]
    path: Path | None = None
    path_node: Node | None = None
    checks: list[tuple[Node, Check]] = field(default_factory=list)
    properties: list[Shape] = field(default_factory=list)
    sparql: list[SparqlCheck] = field(default_factory=list)

    def values(self, index: Index, focus: Node) -> set[Node]:
        return self.path(index, focus) if self.path is not None else {focus}

    def results(self, index: Index, focus: Node) -> Iterator[RawResult]:
        values = self.values(index, focus)
        for component, check in self.checks:
            for hit in check(index, focus, values):
                path, value = hit if isinstance(hit, tuple) else (self.path_node, hit)
                yield RawResult(self.severity, self.node, focus, path, value, self.messages,
                                component)
        for prop in self.properties:  # a property shape checks each value node (SHACL 4.8.1)
            for v in values:
                yield from prop.results(index, v)
        for constraint in self.sparql:
            yield from self._sparql_results(constraint, index, focus, values)

    def _sparql_results(self, constraint: SparqlCheck, index: Index, focus: Node,
                        values: set[Node]) -> Iterator[RawResult]:
        bindings = dict(constraint.parameters, this=focus, currentShape=self.node,
                        shapesGraph=SHAPES_GRAPH)
        messages = self.messages + constraint.query.messages  # each written once (_fill)
        if constraint.ask:
            for v in values:
                if not constraint.query.ask(index, dict(bindings, value=v)):
                    yield RawResult(self.severity, self.node, focus, self.path_node, v,
                                    _filled(messages, dict(bindings, value=v)),
                                    constraint.component)
            return
        default_value = focus if self.path is None else None
        for this, path, value, bound in constraint.query.results(index, bindings):
            value = default_value if value is None else value
            names = dict(constraint.parameters)
            names.update(bound)
            names.update({k: v for k, v in (("this", this), ("path", path), ("value", value))
                          if v is not None})
            yield RawResult(self.severity, self.node, this or focus,
                            path if path is not None else self.path_node, value,
                            _filled(messages, names), constraint.component)

    def conforms(self, index: Index, node: Node) -> bool:
        """Whether ``node`` as a focus node meets this (nested) shape: no results."""
        return next(self.results(index, node), None) is None


@dataclass(frozen=True)
class Component:
    """A constraint component the shapes graph declares (SHACL 6): its parameters (the
    predicate and whether it may be left out) and its validators."""

    node: Node
    parameters: tuple[tuple[Node, bool], ...]
    validator: Node | None
    node_validator: Node | None
    property_validator: Node | None


def _local_name(iri: Node) -> str:
    return re.split(r"[#/:]", str(iri))[-1]


# the variables every SHACL-SPARQL query has pre-bound; $shapesGraph names the shapes
# graph, which the index then holds as a named graph (the data graph is the default one)
PREBOUND = {"this", "currentShape", "shapesGraph"}
SHAPES_GRAPH = URIRef("urn:x-gfd-kg:shapes-graph")


class _Compiler:
    def __init__(self, shapes: Graph) -> None:
        self.shapes = shapes
        self.uses_shapes_graph = False
        self.done: dict[Node, Shape] = {}
        self.building: set[Node] = set()  # the shapes being compiled, to refuse a cycle
        kinds = set(shapes.transitive_subjects(SUBCLASS_OF, SH.ConstraintComponent))
        self.components = [self._component(c) for c in sorted(
            {c for k in kinds for c in shapes.subjects(TYPE, k)}, key=str)]
        self.parameters = {p for c in self.components for p, _ in c.parameters}

    def _component(self, node: Node) -> Component:
        g = self.shapes
        parameters = []
        for p in g.objects(node, SH.parameter):
            path = g.value(p, SH.path)
            if not isinstance(path, URIRef):
                raise ShapesError(f"the constraint component {node} has a parameter "
                                  "without an IRI sh:path")
            parameters.append((path, g.value(p, SH.optional) == Literal(True)))
        return Component(node, tuple(parameters), g.value(node, SH.validator),
                         g.value(node, SH.nodeValidator), g.value(node, SH.propertyValidator))

    def shape(self, node: Node, nested: bool = False) -> Shape:
        if node in self.building:
            raise ShapesError(f"the shape {node} refers to itself (through sh:node, sh:property "
                              "or a logical constraint): SHACL leaves recursive shapes "
                              "undefined, and this engine refuses them")
        if node in self.done:
            return self.done[node]
        self.building.add(node)
        try:
            return self._shape(node, nested)
        finally:
            self.building.discard(node)

    def _shape(self, node: Node, nested: bool) -> Shape:
        g = self.shapes
        known = KNOWN | self.parameters
        if (None, SH.sparql, node) in g:  # a shape may be its own SPARQL constraint
            known = known | {SH.select}
        unknown = sorted(str(p) for p in set(g.predicates(node))
                         if str(p).startswith(str(SH)) and p not in ANNOTATIONS
                         and p not in known)
        if unknown:
            raise ShapesError(f"the shape {node} uses {', '.join(unknown)}, which this SHACL "
                              "engine does not implement (gfd_kg/shacl.py); implement it "
                              "there, tested against pySHACL")
        severity = g.value(node, SH.severity, default=SH.Violation)
        if not isinstance(severity, URIRef):
            raise ShapesError(f"the shape {node} has sh:severity {severity}: use an IRI, "
                              "such as sh:Violation, sh:Warning or sh:Info")
        path_node = g.value(node, SH.path)
        shape = Shape(node, severity_name(severity),
                      tuple(sorted({str(m) for m in g.objects(node, SH.message)})),
                      compile_path(g, path_node) if path_node is not None else None,
                      path_node)
        self.done[node] = shape
        if g.value(node, SH.deactivated) == Literal(True):
            return shape
        for key, (component, build) in COMPONENTS.items():
            for value in g.objects(node, key):  # each value is a constraint of its own
                shape.checks.append((component, build(self, node, value)))
        if (node, SH.qualifiedValueShape, None) in g:
            shape.checks.extend(_qualified(self, node))
        shape.properties = [self.shape(p, nested) for p in g.objects(node, SH.property)]
        for constraint in g.objects(node, SH.sparql):
            if nested:
                raise ShapesError(f"the shape {node}, used inside another constraint, has a "
                                  "SPARQL constraint: this engine does not support that")
            if g.value(constraint, SH.deactivated) == Literal(True):
                continue
            shape.sparql.append(SparqlCheck(SH.SPARQLConstraintComponent, self.sparql(
                constraint, SH.select, PREBOUND, path_node), {}, ask=False))
        for declared in self.components:
            check = self.custom(declared, node, path_node)
            if check is not None:
                if nested:
                    raise ShapesError(f"the shape {node}, used inside another constraint, "
                                      "uses a SPARQL-based constraint component: this "
                                      "engine does not support that")
                shape.sparql.append(check)
        return shape

    def custom(self, component: Component, node: Node, path: Node | None) -> SparqlCheck | None:
        """The constraint ``component`` gives ``node``, when the shape has a value for
        each of its mandatory parameters (SHACL 6.2)."""
        g = self.shapes
        values: dict[str, Node] = {}
        for parameter, optional in component.parameters:
            found = list(g.objects(node, parameter))
            if len(found) > 1:
                raise ShapesError(f"the shape {node} has {len(found)} values for {parameter}: "
                                  "this engine takes one value per parameter")
            if not found and not optional:
                return None
            if found:
                values[_local_name(parameter)] = found[0]
        if not values:
            return None
        validator = (component.node_validator if path is None
                     else component.property_validator) or component.validator
        if validator is None:
            raise ShapesError(f"the constraint component {component.node} has no validator "
                              f"for the shape {node}")
        ask = g.value(validator, SH.ask) is not None
        # an unused optional parameter is pre-bound to nothing: it stays a free variable
        prebound = set(values) | PREBOUND | ({"value"} if ask else set())
        query = self.sparql(validator, SH.ask if ask else SH.select, prebound, path)
        return SparqlCheck(component.node, query, values, ask)

    def sparql(self, node: Node, form: Node, prebound: set[str], path: Node | None
               ) -> SparqlQuery:
        g = self.shapes
        text = g.value(node, form)
        if text is None:
            raise ShapesError(f"the SPARQL constraint {node} needs sh:select (sh:ask "
                              "validators are for constraint components only)")
        prefixes: dict[str, str] = {}
        for declarer in g.objects(node, SH.prefixes):
            self._prefixes(declarer, prefixes, set())
        query = str(text)
        what = f"the SPARQL query of {node}"
        if "$PATH" in query:
            if path is None:
                raise ShapesError(f"{what} uses $PATH in a node shape")
            query = "".join(f" {path_text(g, path)} " if (kind, t) == ("var", "$PATH") else t
                            for kind, t in _tokens(query))
        declared = "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in sorted(prefixes.items()))
        if ("var", "$shapesGraph") in _tokens(query) or ("var", "?shapesGraph") in _tokens(query):
            self.uses_shapes_graph = True
        pieces = prebinding_template(declared + query, prebound, what)
        compiled = SparqlQuery(node, pieces,
                               tuple(sorted({str(m) for m in g.objects(node, SH.message)})))
        try:  # a query that does not parse is refused now, not at the first focus node
            ox.Store().query(compiled.text({v: URIRef("urn:x-gfd:prebound") for v in prebound}))
        except SyntaxError as e:
            raise ShapesError(f"{what} does not parse: {e}") from e
        return compiled

    def _prefixes(self, declarer: Node, found: dict[str, str], seen: set[Node]) -> None:
        """The prefixes ``declarer`` declares, and those of what it ``owl:imports`` in the
        shapes graph."""
        if declarer in seen:
            return
        seen.add(declarer)
        g = self.shapes
        for declaration in g.objects(declarer, SH.declare):
            prefix, namespace = g.value(declaration, SH.prefix), g.value(declaration, SH.namespace)
            if prefix is None or namespace is None:
                raise ShapesError(f"a prefix declaration of {declarer} needs sh:prefix and "
                                  "sh:namespace")
            if found.setdefault(str(prefix), str(namespace)) != str(namespace):
                raise ShapesError(f"the prefix {prefix}: is declared twice, differently")
        for imported in g.objects(declarer, OWL.imports):
            self._prefixes(imported, found, seen)

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


def _qualified(c: _Compiler, node: Node) -> list[tuple[Node, Check]]:
    g = c.shapes
    inner = c.shape(c.one(node, SH.qualifiedValueShape), nested=True)
    siblings: list[Conforms] = []
    if g.value(node, SH.qualifiedValueShapesDisjoint) == Literal(True):
        # the qualified value shapes of the other property shapes of the same parents
        for parent in g.subjects(SH.property, node):
            for sibling in g.objects(parent, SH.property):
                for other in g.objects(sibling, SH.qualifiedValueShape):
                    if sibling != node:
                        siblings.append(c.shape(other, nested=True).conforms)
    least, most = c.number(node, SH.qualifiedMinCount), c.number(node, SH.qualifiedMaxCount)
    checks: list[tuple[Node, Check]] = []
    if least is not None:
        checks.append((SH.QualifiedMinCountConstraintComponent,
                       _qualified_check(inner.conforms, siblings, least, None)))
    if most is not None:
        checks.append((SH.QualifiedMaxCountConstraintComponent,
                       _qualified_check(inner.conforms, siblings, None, most)))
    return checks


def _number(node: Node, key: Node, value: Node) -> int:
    if not isinstance(value, Literal) or not isinstance(value.value, int):
        raise ShapesError(f"the shape {node}: {key} must be an integer")
    return value.value


def _literal(node: Node, key: Node, value: Node) -> Literal:
    if not isinstance(value, Literal):
        raise ShapesError(f"the shape {node}: {key} must be a literal")
    return value


def _is_true(value: Node) -> bool:
    """Whether a boolean parameter is ``true`` (the W3C suite takes ``"1"^^xsd:boolean``
    as not true)."""
    return isinstance(value, Literal) and value.datatype == XSD.boolean and str(value) == "true"


def _closed(c: _Compiler, node: Node, value: Node) -> Check:
    g = c.shapes
    if not _is_true(value):
        return lambda index, focus, values: iter(())
    allowed: set[Node] = {p for p in (g.value(s, SH.path) for s in g.objects(node, SH.property))
                          if isinstance(p, URIRef)}
    ignored = g.value(node, SH.ignoredProperties)
    if ignored is not None:
        allowed |= set(Collection(g, ignored))
    return _closed_check(frozenset(allowed))


def _component_of(key: Node) -> Node:
    name = str(key).removeprefix(str(SH))
    return SH[name[0].upper() + name[1:] + "ConstraintComponent"]


Build = Callable[[_Compiler, Node, Node], Check]  # (compiler, shape, parameter value)


def _nested(c: _Compiler, value: Node, key: Node) -> list[Conforms]:
    return [c.shape(n, nested=True).conforms for n in _items(c.shapes, value, str(key))]


BUILDERS: dict[Node, Build] = {
    SH["class"]: lambda c, n, v: _class_check(v),
    SH.datatype: lambda c, n, v: _datatype_check(v),
    SH.nodeKind: lambda c, n, v: _node_kind_check(v),
    SH.minCount: lambda c, n, v: _count_check(_number(n, SH.minCount, v), None),
    SH.maxCount: lambda c, n, v: _count_check(None, _number(n, SH.maxCount, v)),
    SH.minLength: lambda c, n, v: _length_check(_number(n, SH.minLength, v), None),
    SH.maxLength: lambda c, n, v: _length_check(None, _number(n, SH.maxLength, v)),
    SH.minInclusive: lambda c, n, v: _range_check(_literal(n, SH.minInclusive, v), (0, 1)),
    SH.maxInclusive: lambda c, n, v: _range_check(_literal(n, SH.maxInclusive, v), (-1, 0)),
    SH.minExclusive: lambda c, n, v: _range_check(_literal(n, SH.minExclusive, v), (1,)),
    SH.maxExclusive: lambda c, n, v: _range_check(_literal(n, SH.maxExclusive, v), (-1,)),
    SH.pattern: lambda c, n, v: _pattern_check(v, c.shapes.value(n, SH.flags)),
    SH["in"]: lambda c, n, v: _in_check(set(_items(c.shapes, v, "sh:in"))),
    SH.hasValue: lambda c, n, v: _has_value_check(v),
    SH.uniqueLang: lambda c, n, v: (_unique_lang_check() if _is_true(v)
                                    else (lambda index, focus, values: iter(()))),
    SH.equals: lambda c, n, v: _equals_check(v),
    SH.disjoint: lambda c, n, v: _disjoint_check(v),
    SH.lessThan: lambda c, n, v: _less_than_check(v, or_equal=False),
    SH.lessThanOrEquals: lambda c, n, v: _less_than_check(v, or_equal=True),
    SH.node: lambda c, n, v: _node_check(c.shape(v, nested=True).conforms),
    SH["and"]: lambda c, n, v: _and_check(_nested(c, v, SH["and"])),
    SH["or"]: lambda c, n, v: _or_check(_nested(c, v, SH["or"])),
    SH.xone: lambda c, n, v: _xone_check(_nested(c, v, SH.xone)),
    SH["not"]: lambda c, n, v: _not_check(c.shape(v, nested=True).conforms),
    SH.closed: _closed,
    SH.languageIn: lambda c, n, v: _language_in_check(
        [str(r).lower() for r in _items(c.shapes, v, "sh:languageIn")]),
}
# each constraint parameter, with its component and how it is compiled
# (sh:qualifiedValueShape is compiled by ``_qualified``, into one or two components)
COMPONENTS: dict[Node, tuple[Node, Build]] = {
    key: (_component_of(key), build) for key, build in BUILDERS.items()}
KNOWN = {*COMPONENTS, SH.qualifiedValueShape, SH.ignoredProperties}


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


def _is_class(shapes: Graph, node: Node) -> bool:
    """Whether ``node`` is a SHACL instance of rdfs:Class in the shapes graph."""
    return any(RDFS.Class in shapes.transitive_objects(t, SUBCLASS_OF)
               for t in shapes.objects(node, TYPE))


class CompiledShapes:
    """The shapes of a shapes graph that have targets, compiled (see the module)."""

    def __init__(self, targeted: list[tuple[Target, Shape]],
                 shapes: Graph | None = None) -> None:
        self.targeted = targeted
        self.shapes = shapes  # the shapes graph, when a query reads it through $shapesGraph

    @classmethod
    def of(cls, shapes: Graph) -> CompiledShapes:
        compiler = _Compiler(shapes)
        # (sh:target, SHACL-AF's, makes a root too, so that the shape is refused)
        roots = {s for key in (*TARGETS, SH.target) for s in shapes.subjects(key, None)}
        # a shape that is also a class targets its instances (SHACL 2.1.3.3)
        implicit = {s for t in (SH.NodeShape, SH.PropertyShape)
                    for s in shapes.subjects(TYPE, t) if _is_class(shapes, s)}
        targeted = []
        for node in sorted(roots | implicit, key=str):
            target = Target(*(tuple(shapes.objects(node, key)) for key in TARGETS))
            if node in implicit:
                target = Target((*target.classes, node), target.nodes, target.subjects_of,
                                target.objects_of)
            targeted.append((target, compiler.shape(node)))
        return cls(targeted, shapes if compiler.uses_shapes_graph else None)

    def check(self, index: Index) -> list[RawResult]:
        """Every result of validating the indexed graph."""
        if self.shapes is not None:
            index.add_graph(SHAPES_GRAPH, self.shapes)
        results: list[RawResult] = []
        for target, shape in self.targeted:
            for focus in target.focus_nodes(index):
                results.extend(shape.results(index, focus))
        return results
