"""Documentation of the ontology and of the shapes, made from the graphs themselves so
that the pages can never say something the Turtle does not.

This module only reads the graph into plain data (the dataclasses below); the HTML is in
``templates/docs/`` (``ontology.html``, ``shapes.html`` and the macros of
``macros.html``), which extend the site's ``base.html``, with autoescaping on: a text from
a graph is a ``str`` here and is escaped there, and only http(s) IRIs and the page's own
anchors become links (``safe_href`` again in the templates), so a hostile label or IRI
stays inert. Everything is sorted (blank nodes by their content, never by their
generated ids), so the same graph gives the same bytes, even when it is parsed again.

Anchors: a term of the ontology's namespace has ``id`` = its local name (so
``{namespace}#Term`` and ``/ontology/Term`` style links can point at it); a node shape has
``id`` = the local name of its IRI, or a slug of its ``sh:name`` when it is a blank node.
Section anchors start with ``sec-``.
"""

from __future__ import annotations

import hashlib
import re
import textwrap
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from itertools import chain, count
from typing import ClassVar, TypeAlias

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.namespace import DC, DCTERMS, OWL, RDF, RDFS, SH, SKOS, XSD
from rdflib.term import Node

from .iris import IRIs
from .render import render

VANN = Namespace("http://purl.org/vocab/vann/")
FOAF = Namespace("http://xmlns.com/foaf/0.1/")

# Prefixes every page knows, after the dataset's own (IRIs.prefixes()).
_EXTRA_PREFIXES = {"sh": SH, "vann": VANN, "foaf": FOAF, "dc": DC}

_SECTION_IDS = {
    "classes": "sec-classes",
    "object": "sec-object-properties",
    "datatype": "sec-datatype-properties",
    "annotation": "sec-annotation-properties",
    "schemes": "sec-concept-schemes",
    "no-scheme": "sec-concepts-without-scheme",
    "external": "sec-external-axioms",
    "shapes": "sec-shapes",
}

_CHARACTERISTICS = {
    OWL.TransitiveProperty: "transitive",
    OWL.FunctionalProperty: "functional",
    OWL.InverseFunctionalProperty: "inverse functional",
    OWL.SymmetricProperty: "symmetric",
    OWL.AsymmetricProperty: "asymmetric",
    OWL.ReflexiveProperty: "reflexive",
    OWL.IrreflexiveProperty: "irreflexive",
}

_SEVERITIES: dict[Node, str] = {SH.Violation: "Violation", SH.Warning: "Warning", SH.Info: "Info"}

_BARE_DATATYPES = {XSD.integer, XSD.decimal, XSD.double, XSD.boolean}

_LOCAL_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*(?<!\.)$")


# --- the values the templates render (macros.html has one macro per kind) ---------------

@dataclass(frozen=True)
class Ref:
    """An IRI by its compact name (in ``<code>`` unless ``code`` is false), linked to its
    anchor on the page or to the IRI itself when that is http(s); ``href`` None: text."""

    text: str
    href: str | None
    code: bool = True
    kind: ClassVar[str] = "ref"


@dataclass(frozen=True)
class Lit:
    """A literal with its language marker or its datatype (none for xsd:string)."""

    text: str
    lang: str | None = None
    datatype: str | None = None
    kind: ClassVar[str] = "literal"


@dataclass(frozen=True)
class Label:
    """A label as a heading or link text: in its language, without the marker."""

    text: str
    lang: str | None = None
    kind: ClassVar[str] = "label"


@dataclass(frozen=True)
class Code:
    text: str
    kind: ClassVar[str] = "code"


@dataclass(frozen=True)
class Pre:
    """A block of code (a SPARQL target)."""

    text: str
    kind: ClassVar[str] = "pre"


@dataclass(frozen=True)
class Words:
    """Values and words in a line: ``p some C``, ``(A or B)``."""

    parts: tuple[Value, ...]
    kind: ClassVar[str] = "words"


@dataclass(frozen=True)
class Lines:
    """Values one under the other."""

    items: tuple[Value, ...]
    kind: ClassVar[str] = "lines"


@dataclass(frozen=True)
class Desc:
    """A blank node's description: each predicate with its objects."""

    rows: tuple[tuple[Value, tuple[Value, ...]], ...]
    kind: ClassVar[str] = "desc"


# A plain ``str`` is text.
Value: TypeAlias = str | Ref | Lit | Label | Code | Pre | Words | Lines | Desc


def _join(parts: Iterable[Value], sep: str) -> Words:
    out: list[Value] = []
    for i, p in enumerate(parts):
        if i:
            out.append(sep)
        out.append(p)
    return Words(tuple(out))


def _words(*parts: Value) -> Words:
    return Words(parts)


@dataclass(frozen=True)
class Row:
    """A ``<dt>``/``<dd>`` pair: one value, a list of them, or (``inline``) a line of them
    separated by commas."""

    title: Value
    values: tuple[Value, ...]
    inline: bool = False


def _row(title: str, values: Iterable[Value]) -> list[Row]:
    vs = tuple(values)
    return [Row(title, vs)] if vs else []


@dataclass(frozen=True)
class TreeNode:
    """A concept in its scheme's tree."""

    label: Label
    href: str | None
    children: tuple[TreeNode, ...]


@dataclass(frozen=True)
class Term:
    anchor: str
    heading: Label
    kind: str
    compact: str
    iri: str
    local: bool
    rows: tuple[Row, ...]
    concepts: tuple[TreeNode, ...] | None = None  # a scheme's tree; None for other terms


@dataclass(frozen=True)
class TocEntry:
    href: str
    text: str
    note: str  # "(12)", after the link
    links: tuple[Ref, ...]


@dataclass(frozen=True)
class Section:
    anchor: str
    heading: str
    terms: tuple[Term, ...]


@dataclass(frozen=True)
class External:
    """A term of another vocabulary and the statements this ontology makes about it."""

    term: Ref
    statements: tuple[Words, ...]


@dataclass(frozen=True)
class OntologyDoc:
    title: Label
    subtitles: tuple[Label, ...]
    descriptions: tuple[Label, ...]
    namespace: str
    rows: tuple[Row, ...] | None  # None: the graph declares no owl:Ontology
    toc: tuple[TocEntry, ...]
    sections: tuple[Section, ...]
    schemes: Section
    orphans: Section | None
    external: tuple[External, ...]
    ids: ClassVar[dict[str, str]] = _SECTION_IDS


@dataclass(frozen=True)
class ShapeRow:
    """A line of a shape's table: the shape's own constraints (path None: the focus
    node) or one of its property shapes'."""

    path: Value | None
    notes: tuple[str, ...]
    cardinality: str
    constraints: tuple[Value, ...]
    severity: str
    messages: tuple[Value, ...]


@dataclass(frozen=True)
class SparqlConstraint:
    path: Value | None
    severity: str
    messages: tuple[Value, ...]
    deactivated: bool
    query: str


@dataclass(frozen=True)
class Shape:
    anchor: str
    title: Label
    name: str
    rows: tuple[Row, ...]
    table: tuple[ShapeRow, ...]
    sparql: tuple[SparqlConstraint, ...]


@dataclass(frozen=True)
class ShapesDoc:
    title: Label
    descriptions: tuple[Label, ...]
    shapes: tuple[Shape, ...]
    ids: ClassVar[dict[str, str]] = _SECTION_IDS


# --- naming, sorting, linking ----------------------------------------------------------

class _Names:
    """Compact names (``schema:Event``) and anchors of one page. Built from a fixed prefix
    map first, then the graph's own bindings, so a prefix never changes meaning."""

    def __init__(self, g: Graph, iris: IRIs) -> None:
        fixed: dict[str, str] = {p: str(ns) for p, ns in iris.prefixes().items()}
        fixed.update({p: str(ns) for p, ns in _EXTRA_PREFIXES.items()})
        taken_ns = set(fixed.values())
        for prefix, ns in sorted((str(p), str(n)) for p, n in g.namespaces()):
            if prefix and prefix not in fixed and ns not in taken_ns:
                fixed[prefix] = ns
                taken_ns.add(ns)
        # longest namespace first, then prefix: one answer for every IRI
        self.prefixes = sorted(fixed.items(), key=lambda kv: (-len(kv[1]), kv[0]))
        self.anchors: dict[Node, str] = {}

    def compact(self, iri: URIRef) -> str:
        s = str(iri)
        for prefix, ns in self.prefixes:
            if s.startswith(ns) and _LOCAL_RE.match(s[len(ns):]):
                return f"{prefix}:{s[len(ns):]}"
        return s

    def link(self, node: Node) -> Value:
        """A link to a node: to its anchor when this page documents it, else to its IRI
        (http(s) only: a ``javascript:`` IRI in a graph must not become a link)."""
        return self.ref(node) if isinstance(node, URIRef) else str(node)

    def ref(self, iri: URIRef) -> Ref:
        text = self.compact(iri)
        if iri in self.anchors:
            return Ref(text, "#" + self.anchors[iri])
        if str(iri).startswith(("http://", "https://")):
            return Ref(text, str(iri))
        return Ref(text, None)


def _local_name(iri: URIRef, namespace: str | None = None) -> str:
    s = str(iri)
    if namespace and s.startswith(namespace) and len(s) > len(namespace):
        return s[len(namespace):]
    for sep in ("#", "/", ":"):
        _head, found, tail = s.rstrip("#/").rpartition(sep)
        if found and tail:
            return tail
    return s


def _slug(text: str) -> str:
    """Lower-case ASCII letters and digits, runs of anything else as one ``-``."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "shape"


def _key(g: Graph, node: Node, depth: int = 0) -> str:
    """A sort key from a node's content: blank-node ids differ from parse to parse."""
    if isinstance(node, URIRef):
        return f"0<{node}>"
    if isinstance(node, Literal):
        return f"1{node.language or ''}|{node.datatype or ''}|{node}"
    if depth > 6:
        return "2[...]"
    inner = sorted(f"{_key(g, p, depth + 1)} {_key(g, o, depth + 1)}"
                   for p, o in g.predicate_objects(node))
    return "2[" + "; ".join(inner) + "]"


def _sorted(g: Graph, nodes: Iterable[Node]) -> list[Node]:
    return sorted(set(nodes), key=lambda n: _key(g, n))


def _label(g: Graph, node: Node, fallback: str) -> Literal | str:
    """The English label (prefLabel or rdfs:label), else an untagged one, else any."""
    values = [v for p in (SKOS.prefLabel, RDFS.label) for v in g.objects(node, p)
              if isinstance(v, Literal)]
    for wanted in ("en", None):
        found = sorted((v for v in values if v.language == wanted), key=str)
        if found:
            return found[0]
    return sorted(values, key=lambda v: (v.language or "", str(v)))[0] if values else fallback


def _list(g: Graph, node: Node) -> list[Node]:
    if node == RDF.nil:
        return []
    if g.value(node, RDF.first) is None:
        return [node]
    return list(Collection(g, node))


# --- values ---------------------------------------------------------------------------

def _name(label: object) -> Label:
    """A label as a heading or link text: in its language, without the language marker."""
    return Label(str(label), getattr(label, "language", None) or None)


def _literal(lit: Literal) -> Lit:
    if lit.language:
        return Lit(str(lit), lang=lit.language)
    if lit.datatype is not None and lit.datatype != XSD.string:
        dt = str(lit.datatype)
        dt = "xsd:" + dt[len(str(XSD)):] if dt.startswith(str(XSD)) else dt
        return Lit(str(lit), datatype=dt)
    return Lit(str(lit))


def _text(node: Node) -> Value:
    """A message or a description: a literal as such, anything else as text."""
    return _literal(node) if isinstance(node, Literal) else str(node)


def _class_expr(g: Graph, names: _Names, node: Node, depth: int = 0) -> Value:
    """An OWL class expression in words: ``A or B``, ``p some C``..."""
    if not isinstance(node, BNode) or depth > 5:
        return _value(g, names, node, depth + 1)
    for pred, word in ((OWL.unionOf, " or "), (OWL.intersectionOf, " and ")):
        members = g.value(node, pred)
        if members is not None:
            joined = _join((_class_expr(g, names, m, depth + 1) for m in _list(g, members)),
                           word)
            return joined if depth == 0 else _words("(", joined, ")")
    complement = g.value(node, OWL.complementOf)
    if complement is not None:
        return _words("not ", _class_expr(g, names, complement, depth + 1))
    one_of = g.value(node, OWL.oneOf)
    if one_of is not None:
        return _words("one of {", _join((_value(g, names, m, depth + 1)
                                        for m in _list(g, one_of)), ", "), "}")
    prop = g.value(node, OWL.onProperty)
    if prop is not None:
        p = names.link(prop)
        for pred, word in ((OWL.someValuesFrom, "some"), (OWL.allValuesFrom, "only")):
            filler = g.value(node, pred)
            if filler is not None:
                return _words(p, f" {word} ", _class_expr(g, names, filler, depth + 1))
        has = g.value(node, OWL.hasValue)
        if has is not None:
            return _words(p, " value ", _value(g, names, has, depth + 1))
        for pred, word in ((OWL.cardinality, "exactly"), (OWL.qualifiedCardinality, "exactly"),
                           (OWL.minCardinality, "min"), (OWL.minQualifiedCardinality, "min"),
                           (OWL.maxCardinality, "max"), (OWL.maxQualifiedCardinality, "max")):
            n = g.value(node, pred)
            if n is not None:
                on = g.value(node, OWL.onClass) or g.value(node, OWL.onDataRange)
                tail: tuple[Value, ...] = (" ", _class_expr(g, names, on, depth + 1)) \
                    if on is not None else ()
                return _words(p, f" {word} {n}", *tail)
    return _value(g, names, node, depth + 1, expr=False)


def _value(g: Graph, names: _Names, node: Node, depth: int = 0, expr: bool = True) -> Value:
    """Any object of a triple: a link, a literal, a class expression, a list or a nested
    description of a blank node."""
    if isinstance(node, URIRef):
        return names.link(node)
    if isinstance(node, Literal):
        return _literal(node)
    if depth > 4:
        return "[…]"
    if g.value(node, RDF.first) is not None:
        return _words("(", _join((_value(g, names, m, depth + 1) for m in _list(g, node)),
                                 ", "), ")")
    if expr and any(g.value(node, p) is not None for p in (
            OWL.unionOf, OWL.intersectionOf, OWL.complementOf, OWL.oneOf, OWL.onProperty)):
        return _class_expr(g, names, node, depth)
    rows = tuple((names.link(p), tuple(_value(g, names, o, depth + 1)
                                       for o in _sorted(g, g.objects(node, p))))
                 for p in _sorted(g, g.predicates(node)))
    return Desc(rows) if rows else "[ ]"


# --- the ontology page ---------------------------------------------------------------

class _Ontology:
    """What one ontology page needs: the graph, its namespace, its names and anchors."""

    def __init__(self, g: Graph, base: str) -> None:
        self.g = g
        self.iris = IRIs(base)
        self.ns = str(self.iris.ontology)
        self.names = _Names(g, self.iris)
        self.ontology_iri = self._ontology_iri()
        self.sections = self._sections()
        self._assign_anchors()

    def _ontology_iri(self) -> Node | None:
        candidates = _sorted(self.g, (o for o in self.g.subjects(RDF.type, OWL.Ontology)))
        for c in candidates:
            if str(c).rstrip("/#") == self.ns.rstrip("/#"):
                return c
        return candidates[0] if candidates else None

    def is_local(self, node: Node) -> bool:
        return isinstance(node, URIRef) and str(node).startswith(self.ns) and \
            len(str(node)) > len(self.ns)

    def local(self, node: URIRef) -> str:
        return _local_name(node, self.ns)

    def _order(self, terms: Iterable[Node]) -> list[URIRef]:
        uris = {t for t in terms if isinstance(t, URIRef)}
        return sorted(uris, key=lambda t: (not self.is_local(t),
                                           self.local(t).casefold(), str(t)))

    def _sections(self) -> dict[str, list[URIRef]]:
        """Each term once, in the first section whose type it has."""
        g = self.g
        typed = {
            "classes": set(g.subjects(RDF.type, OWL.Class)) | set(g.subjects(RDF.type,
                                                                             RDFS.Class)),
            "object": set(g.subjects(RDF.type, OWL.ObjectProperty)),
            "datatype": set(g.subjects(RDF.type, OWL.DatatypeProperty)),
            "annotation": set(g.subjects(RDF.type, OWL.AnnotationProperty)),
            "schemes": set(g.subjects(RDF.type, SKOS.ConceptScheme)),
            "concepts": set(g.subjects(RDF.type, SKOS.Concept)),
        }
        seen: set[Node] = set()
        out: dict[str, list[URIRef]] = {}
        for name, terms in typed.items():
            out[name] = [t for t in self._order(terms) if t not in seen]
            seen.update(out[name])
        return out

    def _assign_anchors(self) -> None:
        taken = set(_SECTION_IDS.values()) | {"top", "toc"}
        terms = [t for ts in self.sections.values() for t in ts]
        # local terms claim their local names first; external ones get theirs if free
        for t in sorted(terms, key=lambda t: (not self.is_local(t), str(t))):
            base_id = self.local(t) if self.is_local(t) else _local_name(t)
            candidates = chain([base_id, self.names.compact(t).replace(":", "-")],
                               (f"{base_id}-{n}" for n in count(2)))
            anchor = next(c for c in candidates if c not in taken)
            taken.add(anchor)
            self.names.anchors[t] = anchor

    def toc_link(self, t: URIRef) -> Ref:
        return Ref(self.local(t) if self.is_local(t) else self.names.compact(t),
                   "#" + self.names.anchors[t])

    # -- term details --

    def _values(self, node: Node, *preds: Node, expr: bool = False) -> list[Value]:
        objs = _sorted(self.g, (o for p in preds for o in self.g.objects(node, p)))
        make = _class_expr if expr else _value
        return [make(self.g, self.names, o) for o in objs]

    def _links(self, nodes: Iterable[Node]) -> list[Value]:
        return [self.names.link(n) if isinstance(n, URIRef) else
                _class_expr(self.g, self.names, n) for n in _sorted(self.g, nodes)]

    def _disjoint(self, t: URIRef) -> list[Node]:
        g = self.g
        out = set(g.objects(t, OWL.disjointWith)) | set(g.subjects(OWL.disjointWith, t))
        for group in g.subjects(RDF.type, OWL.AllDisjointClasses):
            members = [m for lst in g.objects(group, OWL.members) for m in _list(g, lst)]
            if t in members:
                out.update(m for m in members if m != t)
        for _whole, lst in g.subject_objects(OWL.disjointUnionOf):
            members = _list(g, lst)
            if t in members:
                out.update(m for m in members if m != t)
        return list(out)

    def _in_union(self, node: Node, cls: URIRef) -> bool:
        if node == cls:
            return True
        union = self.g.value(node, OWL.unionOf) if isinstance(node, BNode) else None
        return union is not None and cls in _list(self.g, union)

    HANDLED: ClassVar[frozenset[Node]] = frozenset({
        RDF.type, RDFS.label, SKOS.prefLabel, SKOS.altLabel, SKOS.hiddenLabel,
        SKOS.definition, RDFS.comment, SKOS.scopeNote, SKOS.example, SKOS.note,
        SKOS.editorialNote, SKOS.historyNote, SKOS.changeNote,
        RDFS.subClassOf, OWL.equivalentClass, OWL.disjointWith, RDFS.subPropertyOf,
        OWL.equivalentProperty, OWL.inverseOf, RDFS.domain, RDFS.range, SKOS.inScheme,
        SKOS.topConceptOf, SKOS.hasTopConcept, SKOS.broader, SKOS.narrower, SKOS.related,
        SKOS.exactMatch, SKOS.closeMatch, SKOS.broadMatch, SKOS.narrowMatch,
        SKOS.relatedMatch, RDFS.seeAlso, RDFS.isDefinedBy,
    })

    def term(self, t: URIRef, kind: str,
             concepts: tuple[TreeNode, ...] | None = None) -> Term:
        g = self.g
        heading = _label(g, t, self.local(t) if self.is_local(t) else self.names.compact(t))
        rows = [
            *_row("Type", self._links(g.objects(t, RDF.type))),
            *_row("Label", self._literals(t, RDFS.label, SKOS.prefLabel)),
            *_row("Alternative label", self._literals(t, SKOS.altLabel)),
            *_row("Hidden label", self._literals(t, SKOS.hiddenLabel)),
            *_row("Definition", self._literals(t, SKOS.definition)),
            *_row("Comment", self._literals(t, RDFS.comment)),
            *_row("Scope note", self._literals(t, SKOS.scopeNote)),
            *_row("Example", self._literals(t, SKOS.example)),
            *_row("Note", self._literals(t, SKOS.note, SKOS.editorialNote, SKOS.historyNote,
                                         SKOS.changeNote)),
            *_row("Subclass of", self._values(t, RDFS.subClassOf, expr=True)),
            *_row("Equivalent class", self._values(t, OWL.equivalentClass, expr=True)),
            *_row("Disjoint with", self._links(self._disjoint(t))),
            *_row("Subclasses", self._links(s for s in g.subjects(RDFS.subClassOf, t)
                                            if isinstance(s, URIRef))),
            *_row("Subproperty of", self._values(t, RDFS.subPropertyOf)),
            *_row("Subproperties", self._links(s for s in g.subjects(RDFS.subPropertyOf, t)
                                               if isinstance(s, URIRef))),
            *_row("Equivalent property", self._values(t, OWL.equivalentProperty)),
            *_row("Inverse of", self._links(set(g.objects(t, OWL.inverseOf))
                                            | set(g.subjects(OWL.inverseOf, t)))),
            *_row("Domain", self._values(t, RDFS.domain, expr=True)),
            *_row("Range", self._values(t, RDFS.range, expr=True)),
            *_row("Characteristics", [word for typ, word in _CHARACTERISTICS.items()
                                      if (t, RDF.type, typ) in g]),
        ]
        if kind == "Class":
            rows += _row("Domain of", self._links(
                p for p, d in g.subject_objects(RDFS.domain) if self._in_union(d, t)
                and isinstance(p, URIRef)))
            rows += _row("Range of", self._links(
                p for p, r in g.subject_objects(RDFS.range) if self._in_union(r, t)
                and isinstance(p, URIRef)))
        rows += [
            *_row("In scheme", self._links(g.objects(t, SKOS.inScheme))),
            *_row("Top concept of", self._links(g.objects(t, SKOS.topConceptOf))),
            *_row("Broader", self._links(set(g.objects(t, SKOS.broader))
                                         | set(g.subjects(SKOS.narrower, t)))),
            *_row("Narrower", self._links(set(g.objects(t, SKOS.narrower))
                                          | set(g.subjects(SKOS.broader, t)))),
            *_row("Related", self._links(set(g.objects(t, SKOS.related))
                                         | set(g.subjects(SKOS.related, t)))),
        ]
        for pred, title in ((SKOS.exactMatch, "Exact match"), (SKOS.closeMatch, "Close match"),
                            (SKOS.broadMatch, "Broad match"), (SKOS.narrowMatch, "Narrow match"),
                            (SKOS.relatedMatch, "Related match"), (RDFS.seeAlso, "See also")):
            rows += _row(title, self._values(t, pred))
        if any(o != self.ontology_iri for o in g.objects(t, RDFS.isDefinedBy)):
            rows += _row("Defined by", self._values(t, RDFS.isDefinedBy))
        for other in _sorted(g, set(g.predicates(t)) - self.HANDLED):
            rows.append(Row(self.names.link(other), tuple(self._values(t, other)), inline=True))
        return Term(anchor=self.names.anchors[t], heading=_name(heading), kind=kind,
                    compact=self.names.compact(t), iri=str(t), local=self.is_local(t),
                    rows=tuple(rows), concepts=concepts)

    def _literals(self, node: Node, *preds: URIRef) -> list[Value]:
        seen, out = set(), []
        for lit in _sorted(self.g, (o for p in preds for o in self.g.objects(node, p))):
            if lit not in seen:
                seen.add(lit)
                out.append(_value(self.g, self.names, lit))
        return out

    # -- concept schemes --

    def _tree(self, concepts: list[URIRef]) -> tuple[tuple[TreeNode, ...], list[URIRef]]:
        """The scheme's concepts as a tree in skos:broader order (roots and siblings by
        label), and the same concepts in that order."""
        g = self.g
        members = set(concepts)
        children: dict[Node, list[URIRef]] = {c: [] for c in concepts}
        has_parent: set[URIRef] = set()
        for c in concepts:
            parents = (set(g.objects(c, SKOS.broader)) | set(g.subjects(SKOS.narrower, c)))
            for p in parents & members:
                if p != c:
                    children[p].append(c)
                    has_parent.add(c)

        def by_label(cs: Iterable[URIRef]) -> list[URIRef]:
            return sorted(set(cs), key=lambda c: (str(_label(g, c, self.local(c))).casefold(),
                                                  str(c)))

        order: list[URIRef] = []
        seen: set[URIRef] = set()

        def walk(c: URIRef) -> TreeNode:
            seen.add(c)
            order.append(c)
            kids = [k for k in by_label(children[c]) if k not in seen]
            inner = tuple(walk(k) for k in kids if k not in seen)
            anchor = self.names.anchors.get(c)
            return TreeNode(_name(_label(g, c, self.local(c))),
                            None if anchor is None else "#" + anchor, inner)

        roots = [walk(r) for r in by_label(c for c in concepts if c not in has_parent)]
        roots += [walk(c) for c in by_label(concepts) if c not in seen]  # cycles
        return tuple(roots), order

    def schemes(self) -> tuple[Section, Section | None]:
        g = self.g
        concepts = set(self.sections["concepts"]) | {
            c for c in self.sections["classes"] + self.sections["object"]
            + self.sections["datatype"] + self.sections["annotation"]
            if (c, RDF.type, SKOS.Concept) in g}
        documented: set[URIRef] = set()
        terms: list[Term] = []
        for scheme in self.sections["schemes"]:
            members = [c for c in concepts if self._in_scheme(c, scheme)]
            tree, order = self._tree(members)
            terms.append(self.term(scheme, "Concept scheme", tree))
            for c in order:
                if c not in documented and c in self.sections["concepts"]:
                    documented.add(c)
                    terms.append(self.term(c, "Concept"))
        rest = [c for c in self.sections["concepts"] if c not in documented]
        orphans = Section(_SECTION_IDS["no-scheme"], "Concepts in no scheme",
                          tuple(self.term(c, "Concept") for c in rest)) if rest else None
        return Section(_SECTION_IDS["schemes"], "Concept schemes", tuple(terms)), orphans

    def _in_scheme(self, c: Node, scheme: URIRef) -> bool:
        g = self.g
        return ((c, SKOS.inScheme, scheme) in g or (c, SKOS.topConceptOf, scheme) in g
                or (scheme, SKOS.hasTopConcept, c) in g)

    # -- header, external axioms --

    def header(self) -> tuple[Label, tuple[Label, ...], tuple[Label, ...], tuple[Row, ...] | None]:
        """The title, the other titles, the descriptions and the metadata rows."""
        g, names, o = self.g, self.names, self.ontology_iri
        if o is None:
            return Label("Ontology"), (), (), None
        title = _label(g, o, "")
        titles = _sorted(g, (t for p in (DCTERMS.title, DC.title, RDFS.label)
                             for t in g.objects(o, p)))
        main = next((t for t in titles if getattr(t, "language", None) == "en"),
                    titles[0] if titles else title or "Ontology")
        subtitles = tuple(_name(t) for t in titles if t != main)
        descriptions = tuple(_name(d) for d in _sorted(g, (
            d for p in (DCTERMS.description, DC.description, RDFS.comment, SKOS.definition)
            for d in g.objects(o, p))))
        shown = {RDF.type, DCTERMS.title, DC.title, RDFS.label, DCTERMS.description,
                 DC.description, RDFS.comment, SKOS.definition}
        fields = [("Version IRI", OWL.versionIRI),
                  ("Version", OWL.versionInfo), ("Licence", DCTERMS.license),
                  ("Rights", DCTERMS.rights), ("Creator", DCTERMS.creator),
                  ("Creator", DC.creator), ("Contributor", DCTERMS.contributor),
                  ("Publisher", DCTERMS.publisher), ("Created", DCTERMS.created),
                  ("Modified", DCTERMS.modified), ("Issued", DCTERMS.issued),
                  ("Preferred prefix", VANN.preferredNamespacePrefix),
                  ("Preferred namespace", VANN.preferredNamespaceUri),
                  ("Imports", OWL.imports), ("Prior version", OWL.priorVersion)]
        rows = _row("IRI", [Code(str(o))])
        for title_, pred in fields:
            shown.add(pred)
            rows += _row(title_, [
                Code(str(v)) if pred == VANN.preferredNamespaceUri
                else Ref(str(v), str(v))
                if isinstance(v, URIRef) and str(v).startswith(("http://", "https://"))
                else _value(g, names, v) for v in _sorted(g, g.objects(o, pred))])
        for other in _sorted(g, set(g.predicates(o)) - shown):
            rows.append(Row(names.link(other), tuple(
                _value(g, names, v) for v in _sorted(g, g.objects(o, other))), inline=True))
        return _name(main), subtitles, descriptions, tuple(rows)

    def external(self) -> tuple[External, ...]:
        """Axioms this ontology states about other vocabularies' terms it does not
        declare (e.g. schema.org's class hierarchy, restated for OWL RL)."""
        g = self.g
        documented = set(self.names.anchors)
        subjects = sorted({s for s in g.subjects() if isinstance(s, URIRef)
                           and not self.is_local(s) and s not in documented
                           and s != self.ontology_iri}, key=str)
        out = []
        for s in subjects:
            statements = []
            for p in _sorted(g, g.predicates(s)):
                values = _join((_class_expr(g, self.names, v) if p in (
                    RDFS.subClassOf, RDFS.domain, RDFS.range) else _value(g, self.names, v)
                    for v in _sorted(g, g.objects(s, p))), ", ")
                statements.append(_words(self.names.link(p), " ", values))
            out.append(External(self.names.ref(s), tuple(statements)))
        return tuple(out)


_TERM_SECTIONS = (
    ("classes", "Classes", "Class"),
    ("object", "Object properties", "Object property"),
    ("datatype", "Datatype properties", "Datatype property"),
    ("annotation", "Annotation properties", "Annotation property"),
)


def ontology_doc(ontology: Graph, base: str) -> OntologyDoc:
    """What the ontology page shows, as plain data. ``base`` is the dataset's base IRI:
    the ontology's namespace is ``{base}ontology/`` and its terms' anchors are their local
    names there."""
    doc = _Ontology(ontology, base)
    title, subtitles, descriptions, rows = doc.header()
    sections, toc = [], []
    for key, heading, kind in _TERM_SECTIONS:
        terms = doc.sections[key]
        if key == "annotation" and not terms:
            continue
        sid = _SECTION_IDS[key]
        toc.append(TocEntry("#" + sid, heading, f"({len(terms)})",
                            tuple(doc.toc_link(t) for t in terms)))
        sections.append(Section(sid, heading, tuple(doc.term(t, kind) for t in terms)))
    schemes, orphans = doc.schemes()
    toc.append(TocEntry("#" + schemes.anchor, schemes.heading,
                        f'({len(doc.sections["schemes"])} schemes, '
                        f'{len(doc.sections["concepts"])} concepts)',
                        tuple(doc.toc_link(s) for s in doc.sections["schemes"])))
    if orphans:
        toc.append(TocEntry("#" + orphans.anchor, orphans.heading, "", ()))
    external = doc.external()
    if external:
        toc.append(TocEntry("#" + _SECTION_IDS["external"],
                            "Axioms about other vocabularies' terms", "", ()))
    return OntologyDoc(title=title, subtitles=subtitles, descriptions=descriptions,
                       namespace=doc.ns, rows=rows, toc=tuple(toc), sections=tuple(sections),
                       schemes=schemes, orphans=orphans, external=external)


def ontology_html(ontology: Graph, base: str) -> str:
    """The ontology as one HTML page, so a person can read what a ``gfdo:`` term means
    without reading Turtle."""
    return render("docs/ontology.html", doc=ontology_doc(ontology, base))


# --- the shapes page -----------------------------------------------------------------

_TARGETS = (
    (SH.targetClass, "class"),
    (SH.targetNode, "node"),
    (SH.targetSubjectsOf, "subjects of"),
    (SH.targetObjectsOf, "objects of"),
)


class _Shapes:
    """What the shapes page needs: the graph, its names, and each node shape's anchor."""

    def __init__(self, g: Graph, base: str) -> None:
        self.g = g
        self.names = _Names(g, IRIs(base))
        self.shapes = self._node_shapes()
        taken = set(_SECTION_IDS.values()) | {"top", "toc"}
        for s in self.shapes:
            wanted = _local_name(s) if isinstance(s, URIRef) else _slug(
                str(g.value(s, SH.name) or "") or "shape-" + hashlib.sha1(
                    _key(g, s).encode()).hexdigest()[:8])
            anchor, n = wanted, 2
            while anchor in taken:
                anchor, n = f"{wanted}-{n}", n + 1
            taken.add(anchor)
            self.names.anchors[s] = anchor

    def _node_shapes(self) -> list[Node]:
        """Node shapes, and any other shape with a target (a property shape may have one)."""
        g = self.g
        found = set(g.subjects(RDF.type, SH.NodeShape))
        for pred, _ in _TARGETS:
            found.update(g.subjects(pred, None))
        found.update(g.subjects(SH.target, None))
        return sorted(found, key=lambda s: (str(self.name(s)).casefold(), _key(g, s)))

    def name(self, s: Node) -> str:
        n = self.g.value(s, SH.name)
        if n is not None:
            return str(n)
        return _local_name(s) if isinstance(s, URIRef) else "(unnamed shape)"

    def link(self, s: Node) -> Ref:
        return Ref(self.name(s), "#" + self.names.anchors[s], code=False)

    def path(self, p: Node, depth: int = 0) -> Value:
        """A SHACL property path in SPARQL notation."""
        g, names = self.g, self.names
        if isinstance(p, URIRef) or depth > 5:
            return names.link(p)
        if g.value(p, RDF.first) is not None:
            return _join((self.path(x, depth + 1) for x in _list(g, p)), " / ")
        inv = g.value(p, SH.inversePath)
        if inv is not None:
            return _words("^", self.path(inv, depth + 1))
        alt = g.value(p, SH.alternativePath)
        if alt is not None:
            return _words("(", _join((self.path(x, depth + 1) for x in _list(g, alt)), " | "),
                          ")")
        for pred, mark in ((SH.zeroOrMorePath, "*"), (SH.oneOrMorePath, "+"),
                           (SH.zeroOrOnePath, "?")):
            inner = g.value(p, pred)
            if inner is not None:
                return _words("(", self.path(inner, depth + 1), ")" + mark)
        return _value(g, names, p)

    def _term(self, node: Node) -> Value:
        if isinstance(node, Literal):
            text = f'"{node}"' + (f"@{node.language}" if node.language else "")
            if node.datatype in _BARE_DATATYPES:
                text = str(node)  # as Turtle writes them: 1, 2.5, true
            elif node.datatype is not None and node.datatype != XSD.string:
                text += "^^" + self.names.compact(node.datatype)
            return Code(text)
        return _value(self.g, self.names, node)

    def constraints(self, s: Node, depth: int = 0) -> list[Value]:
        """The constraint parameters of a shape, in words (cardinality and the nested
        property shapes excepted)."""
        g = self.g
        out: list[Value] = []
        if depth > 4:
            return ["…"]

        def each(pred: URIRef, words: str, fmt: Callable[[Node], Value] | None = None) -> None:
            for v in _sorted(g, g.objects(s, pred)):
                out.append(_words(words + " ", (fmt or self._term)(v)))

        each(SH.datatype, "datatype")
        each(SH["class"], "class")
        each(SH.nodeKind, "node kind")
        each(SH.node, "conforms to", lambda v: self.summary(v, depth + 1))
        for pattern in _sorted(g, g.objects(s, SH.pattern)):
            flags = g.value(s, SH.flags)
            out.append(_words("pattern ", Code(str(pattern)), *(
                (" (flags ", Code(str(flags)), ")") if flags is not None else ())))
        for lst in _sorted(g, g.objects(s, SH["in"])):
            out.append(_words("one of ", _join((self._term(v) for v in _list(g, lst)), ", ")))
        each(SH.hasValue, "has value")
        for pred, words in ((SH.minInclusive, "≥"), (SH.minExclusive, ">"),
                            (SH.maxInclusive, "≤"), (SH.maxExclusive, "<"),
                            (SH.minLength, "length ≥"), (SH.maxLength, "length ≤"),
                            (SH.equals, "equals"), (SH.disjoint, "disjoint from"),
                            (SH.lessThan, "less than"),
                            (SH.lessThanOrEquals, "less than or equal to")):
            each(pred, words)
        for lst in _sorted(g, g.objects(s, SH.languageIn)):
            out.append("language in " + ", ".join(str(v) for v in _list(g, lst)))
        if (s, SH.uniqueLang, Literal(True)) in g:
            out.append("one value per language")
        for pred, word in ((SH["or"], " or "), (SH["and"], " and "), (SH.xone, " or else ")):
            for lst in _sorted(g, g.objects(s, pred)):
                members = [self.summary(m, depth + 1) for m in _list(g, lst)]
                out.append(_words("(", _join(members, word), ")") if pred != SH.xone
                           else _words("exactly one of (", _join(members, "; "), ")"))
        each(SH["not"], "not", lambda v: _words("(", self.summary(v, depth + 1), ")"))
        for q in _sorted(g, g.objects(s, SH.qualifiedValueShape)):
            lo = g.value(s, SH.qualifiedMinCount)
            hi = g.value(s, SH.qualifiedMaxCount)
            out.append(_words(f"{lo if lo is not None else 0}..{hi if hi is not None else '*'}"
                              " values that conform to (", self.summary(q, depth + 1), ")"))
        if (s, SH.closed, Literal(True)) in g:
            ignored = sorted((self.names.link(p) for lst in g.objects(s, SH.ignoredProperties)
                              for p in _list(g, lst)), key=_sort_text)
            out.append(_words("closed", *((" (ignoring ", _join(ignored, ", "), ")")
                                          if ignored else ())))
        if (s, SH.deactivated, Literal(True)) in g:
            out.append("deactivated")
        return out

    def summary(self, s: Node, depth: int = 0) -> Value:
        """A shape referred to from another: a link to it when it is on the page, else its
        path, cardinality and constraints inline."""
        if s in self.names.anchors:
            return self.link(s)
        parts: list[Value] = []
        path = self.g.value(s, SH.path)
        if path is not None:
            parts.append(_words("path ", self.path(path)))
        card = self.cardinality(s)
        if card:
            parts.append(card)
        parts += self.constraints(s, depth)
        if depth <= 4:
            parts += [_words("(", self.summary(p, depth + 1), ")")
                      for p in _sorted(self.g, self.g.objects(s, SH.property))]
        return _join(parts, ", ") if parts else _value(self.g, self.names, s)

    def cardinality(self, s: Node) -> str:
        lo, hi = self.g.value(s, SH.minCount), self.g.value(s, SH.maxCount)
        if lo is None and hi is None:
            return ""
        return f"{lo if lo is not None else 0}..{hi if hi is not None else '*'}"

    def severity(self, s: Node, default: str = "Violation") -> str:
        sev = self.g.value(s, SH.severity)
        if sev is None:
            return default
        return _SEVERITIES.get(sev, self.names.compact(sev) if isinstance(sev, URIRef)
                               else str(sev))

    def messages(self, s: Node) -> tuple[Value, ...]:
        return tuple(_text(m) for m in _sorted(self.g, self.g.objects(s, SH.message)))

    def query(self, c: Node) -> str:
        """The SELECT of a SPARQL constraint with the prefixes it declares, so it can be
        copied and run."""
        g = self.g
        lines = []
        declared: set[tuple[str, str]] = set()
        for holder in g.objects(c, SH.prefixes):
            for decl in g.objects(holder, SH.declare):
                prefix, ns = g.value(decl, SH.prefix), g.value(decl, SH.namespace)
                if prefix is not None and ns is not None:
                    declared.add((str(prefix), str(ns)))
        for name, iri in sorted(declared):
            lines.append(f"PREFIX {name}: <{iri}>")
        selects = sorted(str(q) for q in g.objects(c, SH.select))
        text = "\n\n".join(textwrap.dedent(q).strip("\n") for q in selects)
        return "\n".join(lines + ([""] if lines else []) + [text])

    def table(self, s: Node) -> tuple[ShapeRow, ...]:
        g = self.g
        shape_sev = self.severity(s)
        rows = []
        own_path = g.value(s, SH.path)
        if self.constraints(s) or own_path is not None or self.cardinality(s):
            rows.append(self._tr(s, own_path, shape_sev))

        def order(p: Node) -> tuple[float, str, str]:
            # sh:order first (as SHACL's form generators do), then the path
            n, path = g.value(p, SH.order), g.value(p, SH.path)
            number = n.toPython() if isinstance(n, Literal) else None
            return (float(number) if isinstance(number, (int, float, Decimal))
                    else float("inf"),
                    _key(g, path) if path is not None else "", _key(g, p))

        for p in sorted(set(g.objects(s, SH.property)), key=order):
            rows.append(self._tr(p, g.value(p, SH.path), shape_sev))
        return tuple(rows)

    def _tr(self, p: Node, path: Node | None, default_sev: str) -> ShapeRow:
        g = self.g
        notes = tuple(str(n) for n in _sorted(g, (x for pred in (SH.name, SH.description)
                                                  for x in g.objects(p, pred)))) \
            if path is not None else ()
        return ShapeRow(path=self.path(path) if path is not None else None, notes=notes,
                        cardinality=self.cardinality(p), constraints=tuple(self.constraints(p)),
                        severity=self.severity(p, default_sev), messages=self.messages(p))

    def sparql(self, s: Node) -> tuple[SparqlConstraint, ...]:
        """Every SPARQL constraint of the shape and of its property shapes."""
        g = self.g
        holders = [(s, None)] + [(p, g.value(p, SH.path)) for p in g.objects(s, SH.property)]
        items = []
        for holder, path in holders:
            for c in g.objects(holder, SH.sparql):
                items.append((holder, path, c))
        items.sort(key=lambda x: (_key(g, x[1]) if x[1] is not None else "",
                                  self.query(x[2]), _key(g, x[2])))
        return tuple(SparqlConstraint(
            path=self.path(path) if path is not None else None,
            severity=self.severity(c, self.severity(holder, self.severity(s))),
            messages=self.messages(c),
            deactivated=(c, SH.deactivated, Literal(True)) in g,
            query=self.query(c)) for holder, path, c in items)

    def shape(self, s: Node) -> Shape:
        g, names = self.g, self.names
        targets: list[Value] = []
        for pred, words in _TARGETS:
            for v in _sorted(g, g.objects(s, pred)):
                targets.append(_words(words + " ", _value(g, names, v)))
        if any((s, RDF.type, t) in g for t in (RDFS.Class, OWL.Class)):
            targets.append(_words("class ", names.link(s), " (implicit: the shape is a class)"))
        for t in _sorted(g, g.objects(s, SH.target)):
            select = g.value(t, SH.select)
            targets.append(_words("custom target", Pre(textwrap.dedent(str(select)).strip())
                                  if select is not None else _words(" ", _value(g, names, t))))
        messages = self.messages(s)
        rows = [*_row("Shape", [Code(str(s)) if isinstance(s, URIRef) else "(blank node)"]),
                *_row("Targets", targets or ["none (used from other shapes)"]),
                *_row("Description", [_text(d) for d in
                                      _sorted(g, g.objects(s, SH.description))]),
                *_row("Severity", [self.severity(s)]),
                *_row("Message", [Lines(messages)] if messages else [])]
        name = g.value(s, SH.name)
        return Shape(anchor=names.anchors[s], name=self.name(s),
                     title=_name(name) if isinstance(name, Literal) else Label(self.name(s)),
                     rows=tuple(rows), table=self.table(s), sparql=self.sparql(s))


def _sort_text(v: Value) -> str:
    return v if isinstance(v, str) else getattr(v, "text", "")


def shapes_doc(shapes: Graph, base: str) -> ShapesDoc:
    """What the shapes page shows, as plain data."""
    doc = _Shapes(shapes, base)
    g = shapes
    onto = _sorted(g, g.subjects(RDF.type, OWL.Ontology))
    title = "SHACL shapes"
    if onto:
        titles = _sorted(g, (t for p in (DCTERMS.title, RDFS.label) for t in g.objects(onto[0], p)))
        title = str(next((t for t in titles if getattr(t, "language", None) == "en"),
                         titles[0] if titles else title))
    descriptions = tuple(_name(d) for o in onto[:1] for d in _sorted(g, (
        d for p in (DCTERMS.description, RDFS.comment) for d in g.objects(o, p))))
    return ShapesDoc(title=Label(title), descriptions=descriptions,
                     shapes=tuple(doc.shape(s) for s in doc.shapes))


def shapes_html(shapes: Graph, base: str) -> str:
    """The SHACL shapes as one HTML page, so a person can see what the data must satisfy
    (and what each failure message means) without reading Turtle."""
    return render("docs/shapes.html", doc=shapes_doc(shapes, base))
