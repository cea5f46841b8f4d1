"""Documentation of the ontology and of the shapes as static HTML, made from the graphs
themselves so that the pages can never say something the Turtle does not.

Our own small generator (standard library + rdflib): no template engine, no JavaScript, no
external CSS or fonts. Every text taken from a graph goes through ``html.escape``, and only
http(s) IRIs become links, so a hostile label or IRI stays inert. Everything is sorted
(blank nodes by their content, never by their generated ids), so the same graph gives the
same bytes, even when it is parsed again.

Anchors: a term of the ontology's namespace has ``id`` = its local name (so
``{namespace}#Term`` and ``/ontology/Term`` style links can point at it); a node shape has
``id`` = the local name of its IRI, or a slug of its ``sh:name`` when it is a blank node.
Section anchors start with ``sec-``.
"""

from __future__ import annotations

import hashlib
import html
import re
import textwrap
from collections.abc import Callable, Iterable
from decimal import Decimal
from itertools import chain, count
from typing import ClassVar

from markupsafe import Markup
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


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


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

    def link(self, node: Node) -> str:
        """A link to a node: to its anchor when this page documents it, else to its IRI
        (http(s) only: a ``javascript:`` IRI in a graph must not become a link)."""
        if not isinstance(node, URIRef):
            return _e(node)
        text = f"<code>{_e(self.compact(node))}</code>"
        if node in self.anchors:
            return f'<a href="#{_e(self.anchors[node])}">{text}</a>'
        if str(node).startswith(("http://", "https://")):
            return f'<a href="{_e(node)}">{text}</a>'
        return text


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

def _name(label: Literal | str) -> str:
    """A label as a heading or link text: in its language, without the language marker."""
    lang = getattr(label, "language", None)
    return f'<span lang="{_e(lang)}">{_e(label)}</span>' if lang else _e(label)


def _literal(lit: Literal) -> str:
    if lit.language:
        lang = _e(lit.language)
        return f'<span lang="{lang}">{_e(lit)}</span><span class="lang">{lang}</span>'
    if lit.datatype is not None and lit.datatype != XSD.string:
        dt = str(lit.datatype)
        dt = "xsd:" + dt[len(str(XSD)):] if dt.startswith(str(XSD)) else dt
        return f'{_e(lit)} <span class="lang">({_e(dt)})</span>'
    return _e(lit)


def _class_expr(g: Graph, names: _Names, node: Node, depth: int = 0) -> str:
    """An OWL class expression in words: ``A or B``, ``p some C``..."""
    if not isinstance(node, BNode) or depth > 5:
        return _value(g, names, node, depth + 1)
    for pred, word in ((OWL.unionOf, " or "), (OWL.intersectionOf, " and ")):
        members = g.value(node, pred)
        if members is not None:
            parts = [_class_expr(g, names, m, depth + 1) for m in _list(g, members)]
            return word.join(parts) if depth == 0 else "(" + word.join(parts) + ")"
    complement = g.value(node, OWL.complementOf)
    if complement is not None:
        return "not " + _class_expr(g, names, complement, depth + 1)
    one_of = g.value(node, OWL.oneOf)
    if one_of is not None:
        return "one of {" + ", ".join(_value(g, names, m, depth + 1)
                                      for m in _list(g, one_of)) + "}"
    prop = g.value(node, OWL.onProperty)
    if prop is not None:
        p = names.link(prop)
        for pred, word in ((OWL.someValuesFrom, "some"), (OWL.allValuesFrom, "only")):
            filler = g.value(node, pred)
            if filler is not None:
                return f"{p} {word} {_class_expr(g, names, filler, depth + 1)}"
        has = g.value(node, OWL.hasValue)
        if has is not None:
            return f"{p} value {_value(g, names, has, depth + 1)}"
        for pred, word in ((OWL.cardinality, "exactly"), (OWL.qualifiedCardinality, "exactly"),
                           (OWL.minCardinality, "min"), (OWL.minQualifiedCardinality, "min"),
                           (OWL.maxCardinality, "max"), (OWL.maxQualifiedCardinality, "max")):
            n = g.value(node, pred)
            if n is not None:
                on = g.value(node, OWL.onClass) or g.value(node, OWL.onDataRange)
                tail = f" {_class_expr(g, names, on, depth + 1)}" if on is not None else ""
                return f"{p} {word} {_e(n)}{tail}"
    return _value(g, names, node, depth + 1, expr=False)


def _value(g: Graph, names: _Names, node: Node, depth: int = 0, expr: bool = True) -> str:
    """Any object of a triple as HTML: a link, a literal, a class expression, a list or
    a nested description of a blank node."""
    if isinstance(node, URIRef):
        return names.link(node)
    if isinstance(node, Literal):
        return _literal(node)
    if depth > 4:
        return "[…]"
    if g.value(node, RDF.first) is not None:
        return "(" + ", ".join(_value(g, names, m, depth + 1) for m in _list(g, node)) + ")"
    if expr and any(g.value(node, p) is not None for p in (
            OWL.unionOf, OWL.intersectionOf, OWL.complementOf, OWL.oneOf, OWL.onProperty)):
        return _class_expr(g, names, node, depth)
    rows = []
    for p in _sorted(g, g.predicates(node)):
        values = ", ".join(_value(g, names, o, depth + 1)
                           for o in _sorted(g, g.objects(node, p)))
        rows.append(f"<dt>{names.link(p)}</dt><dd>{values}</dd>")
    return "<dl>" + "".join(rows) + "</dl>" if rows else "[ ]"


def _row(title: str, values: list[str]) -> str:
    if not values:
        return ""
    if len(values) == 1:
        return f"<dt>{_e(title)}</dt><dd>{values[0]}</dd>\n"
    items = "".join(f"<li>{v}</li>" for v in values)
    return f'<dt>{_e(title)}</dt><dd><ul class="values">{items}</ul></dd>\n'


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

    # -- term details --

    def _values(self, node: Node, *preds: Node, expr: bool = False) -> list[str]:
        objs = _sorted(self.g, (o for p in preds for o in self.g.objects(node, p)))
        render = _class_expr if expr else _value
        return [render(self.g, self.names, o) for o in objs]

    def _links(self, nodes: Iterable[Node]) -> list[str]:
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

    def term(self, t: URIRef, kind: str, extra: str = "") -> str:
        g, names = self.g, self.names
        heading = _label(g, t, self.local(t) if self.is_local(t) else names.compact(t))
        title = _name(heading)
        rows = [
            _row("Type", self._links(g.objects(t, RDF.type))),
            _row("Label", self._literals(t, RDFS.label, SKOS.prefLabel)),
            _row("Alternative label", self._literals(t, SKOS.altLabel)),
            _row("Hidden label", self._literals(t, SKOS.hiddenLabel)),
            _row("Definition", self._literals(t, SKOS.definition)),
            _row("Comment", self._literals(t, RDFS.comment)),
            _row("Scope note", self._literals(t, SKOS.scopeNote)),
            _row("Example", self._literals(t, SKOS.example)),
            _row("Note", self._literals(t, SKOS.note, SKOS.editorialNote, SKOS.historyNote,
                                        SKOS.changeNote)),
            _row("Subclass of", self._values(t, RDFS.subClassOf, expr=True)),
            _row("Equivalent class", self._values(t, OWL.equivalentClass, expr=True)),
            _row("Disjoint with", self._links(self._disjoint(t))),
            _row("Subclasses", self._links(s for s in g.subjects(RDFS.subClassOf, t)
                                           if isinstance(s, URIRef))),
            _row("Subproperty of", self._values(t, RDFS.subPropertyOf)),
            _row("Subproperties", self._links(s for s in g.subjects(RDFS.subPropertyOf, t)
                                              if isinstance(s, URIRef))),
            _row("Equivalent property", self._values(t, OWL.equivalentProperty)),
            _row("Inverse of", self._links(set(g.objects(t, OWL.inverseOf))
                                           | set(g.subjects(OWL.inverseOf, t)))),
            _row("Domain", self._values(t, RDFS.domain, expr=True)),
            _row("Range", self._values(t, RDFS.range, expr=True)),
            _row("Characteristics", [_e(word) for typ, word in _CHARACTERISTICS.items()
                                     if (t, RDF.type, typ) in g]),
        ]
        if kind == "Class":
            rows.append(_row("Domain of", self._links(
                p for p, d in g.subject_objects(RDFS.domain) if self._in_union(d, t)
                and isinstance(p, URIRef))))
            rows.append(_row("Range of", self._links(
                p for p, r in g.subject_objects(RDFS.range) if self._in_union(r, t)
                and isinstance(p, URIRef))))
        rows += [
            _row("In scheme", self._links(g.objects(t, SKOS.inScheme))),
            _row("Top concept of", self._links(g.objects(t, SKOS.topConceptOf))),
            _row("Broader", self._links(set(g.objects(t, SKOS.broader))
                                        | set(g.subjects(SKOS.narrower, t)))),
            _row("Narrower", self._links(set(g.objects(t, SKOS.narrower))
                                         | set(g.subjects(SKOS.broader, t)))),
            _row("Related", self._links(set(g.objects(t, SKOS.related))
                                        | set(g.subjects(SKOS.related, t)))),
        ]
        for pred, title_ in ((SKOS.exactMatch, "Exact match"), (SKOS.closeMatch, "Close match"),
                             (SKOS.broadMatch, "Broad match"), (SKOS.narrowMatch, "Narrow match"),
                             (SKOS.relatedMatch, "Related match"), (RDFS.seeAlso, "See also")):
            rows.append(_row(title_, self._values(t, pred)))
        if any(o != self.ontology_iri for o in g.objects(t, RDFS.isDefinedBy)):
            rows.append(_row("Defined by", self._values(t, RDFS.isDefinedBy)))
        for other in _sorted(g, set(g.predicates(t)) - self.HANDLED):
            rows.append(f"<dt>{names.link(other)}</dt><dd>"
                        + ", ".join(self._values(t, other)) + "</dd>\n")
        note = "" if self.is_local(t) else (
            '<p class="iri">Defined elsewhere: only the statements this ontology makes '
            "about it are shown.</p>\n")
        anchor = _e(names.anchors[t])
        return (f'<section class="term" id="{anchor}">\n'
                f'<h3>{title} <span class="kind">{_e(kind)} '
                f"<code>{_e(names.compact(t))}</code></span></h3>\n"
                f'<p class="iri"><code>{_e(t)}</code></p>\n{note}'
                f"<dl>\n{''.join(rows)}</dl>\n{extra}</section>\n")

    def _literals(self, node: Node, *preds: URIRef) -> list[str]:
        seen, out = set(), []
        for lit in _sorted(self.g, (o for p in preds for o in self.g.objects(node, p))):
            if lit not in seen:
                seen.add(lit)
                out.append(_value(self.g, self.names, lit))
        return out

    # -- concept schemes --

    def _tree(self, scheme: URIRef, concepts: list[URIRef]) -> tuple[str, list[URIRef]]:
        """The scheme's concepts as a nested list in skos:broader order (roots and
        siblings by label), and the same concepts in that order."""
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

        def walk(c: URIRef) -> str:
            seen.add(c)
            order.append(c)
            kids = [k for k in by_label(children[c]) if k not in seen]
            inner = "".join(walk(k) for k in kids if k not in seen)
            label = _label(g, c, self.local(c))
            text = _name(label)
            link = f'<a href="#{_e(self.names.anchors[c])}">{text}</a>' \
                if c in self.names.anchors else text
            return f"<li>{link}" + (f"<ul>{inner}</ul>" if inner else "") + "</li>"

        parts = [walk(r) for r in by_label(c for c in concepts if c not in has_parent)]
        parts += [walk(c) for c in by_label(concepts) if c not in seen]  # cycles
        return "<ul>" + "".join(parts) + "</ul>", order

    def schemes_html(self) -> tuple[str, str]:
        g = self.g
        concepts = set(self.sections["concepts"]) | {
            c for c in self.sections["classes"] + self.sections["object"]
            + self.sections["datatype"] + self.sections["annotation"]
            if (c, RDF.type, SKOS.Concept) in g}
        documented: set[URIRef] = set()
        out = [f'<section id="{_SECTION_IDS["schemes"]}">\n<h2>Concept schemes</h2>\n']
        if not self.sections["schemes"]:
            out.append("<p>None.</p>\n")
        for scheme in self.sections["schemes"]:
            members = [c for c in concepts if self._in_scheme(c, scheme)]
            tree, order = self._tree(scheme, members)
            out.append(self.term(scheme, "Concept scheme", f"<h4>Concepts</h4>\n{tree}\n"
                                 if members else "<p>No concepts.</p>\n"))
            for c in order:
                if c not in documented and c in self.sections["concepts"]:
                    documented.add(c)
                    out.append(self.term(c, "Concept"))
        out.append("</section>\n")
        rest = [c for c in self.sections["concepts"] if c not in documented]
        orphans = ""
        if rest:
            orphans = (f'<section id="{_SECTION_IDS["no-scheme"]}">\n'
                       "<h2>Concepts in no scheme</h2>\n"
                       + "".join(self.term(c, "Concept") for c in rest) + "</section>\n")
        return "".join(out), orphans

    def _in_scheme(self, c: Node, scheme: URIRef) -> bool:
        g = self.g
        return ((c, SKOS.inScheme, scheme) in g or (c, SKOS.topConceptOf, scheme) in g
                or (scheme, SKOS.hasTopConcept, c) in g)

    # -- header, external axioms, contents --

    def header(self) -> tuple[str, str]:
        g, names, o = self.g, self.names, self.ontology_iri
        if o is None:
            return "Ontology", f"<header>\n<h1>Ontology</h1>\n<p>Namespace <code>{_e(self.ns)}" \
                               "</code></p>\n</header>\n"
        title = _label(g, o, "")
        titles = _sorted(g, (t for p in (DCTERMS.title, DC.title, RDFS.label)
                             for t in g.objects(o, p)))
        main = next((t for t in titles if getattr(t, "language", None) == "en"),
                    titles[0] if titles else title or "Ontology")
        parts = [f'<header>\n<h1{self._lang_attr(main)}>{_e(main)}</h1>\n']
        for t in titles:
            if t != main:
                parts.append(f'<p class="subtitle"{self._lang_attr(t)}>{_e(t)}</p>\n')
        for d in _sorted(g, (d for p in (DCTERMS.description, DC.description, RDFS.comment,
                                         SKOS.definition) for d in g.objects(o, p))):
            parts.append(f"<p{self._lang_attr(d)}>{_e(d)}</p>\n")
        shown = {RDF.type, DCTERMS.title, DC.title, RDFS.label, DCTERMS.description,
                 DC.description, RDFS.comment, SKOS.definition}
        fields = [("IRI", None), ("Version IRI", OWL.versionIRI),
                  ("Version", OWL.versionInfo), ("Licence", DCTERMS.license),
                  ("Rights", DCTERMS.rights), ("Creator", DCTERMS.creator),
                  ("Creator", DC.creator), ("Contributor", DCTERMS.contributor),
                  ("Publisher", DCTERMS.publisher), ("Created", DCTERMS.created),
                  ("Modified", DCTERMS.modified), ("Issued", DCTERMS.issued),
                  ("Preferred prefix", VANN.preferredNamespacePrefix),
                  ("Preferred namespace", VANN.preferredNamespaceUri),
                  ("Imports", OWL.imports), ("Prior version", OWL.priorVersion)]
        rows = []
        for title_, pred in fields:
            if pred is None:
                rows.append(_row(title_, [f"<code>{_e(o)}</code>"]))
                continue
            shown.add(pred)
            values = [f"<code>{_e(v)}</code>" if pred == VANN.preferredNamespaceUri
                      else f'<a href="{_e(v)}"><code>{_e(v)}</code></a>'
                      if isinstance(v, URIRef) and str(v).startswith(("http://", "https://"))
                      else _value(g, names, v) for v in _sorted(g, g.objects(o, pred))]
            rows.append(_row(title_, values))
        for other in _sorted(g, set(g.predicates(o)) - shown):
            values = [_value(g, names, v) for v in _sorted(g, g.objects(o, other))]
            rows.append(f"<dt>{names.link(other)}</dt><dd>" + ", ".join(values) + "</dd>\n")
        parts.append(f"<dl>\n{''.join(rows)}</dl>\n</header>\n")
        return str(main), "".join(parts)

    @staticmethod
    def _lang_attr(lit: object) -> str:
        lang = getattr(lit, "language", None)
        return f' lang="{_e(lang)}"' if lang else ""

    def external(self) -> str:
        """Axioms this ontology states about other vocabularies' terms it does not
        declare (e.g. schema.org's class hierarchy, restated for OWL RL)."""
        g = self.g
        documented = set(self.names.anchors)
        subjects = sorted({s for s in g.subjects() if isinstance(s, URIRef)
                           and not self.is_local(s) and s not in documented
                           and s != self.ontology_iri}, key=str)
        if not subjects:
            return ""
        rows = []
        for s in subjects:
            statements = []
            for p in _sorted(g, g.predicates(s)):
                vals = ", ".join(_class_expr(g, self.names, v) if p in (
                    RDFS.subClassOf, RDFS.domain, RDFS.range) else _value(g, self.names, v)
                    for v in _sorted(g, g.objects(s, p)))
                statements.append(f"{self.names.link(p)} {vals}")
            rows.append(f"<tr><td>{self.names.link(s)}</td><td>"
                        + "<br>".join(statements) + "</td></tr>\n")
        return (f'<section id="{_SECTION_IDS["external"]}">\n<h2>Axioms about other '
                "vocabularies' terms</h2>\n<p>Statements this ontology makes about terms "
                "it does not define, restated so that a reasoner can use them.</p>\n"
                "<table>\n<thead><tr><th>Term</th><th>Statements</th></tr></thead>\n"
                f"<tbody>\n{''.join(rows)}</tbody>\n</table>\n</section>\n")


_TERM_SECTIONS = (
    ("classes", "Classes", "Class"),
    ("object", "Object properties", "Object property"),
    ("datatype", "Datatype properties", "Datatype property"),
    ("annotation", "Annotation properties", "Annotation property"),
)


def ontology_html(ontology: Graph, base: str) -> str:
    """The ontology as one HTML page, so a person can read what a ``gfdo:`` term means
    without reading Turtle. ``base`` is the dataset's base IRI: the ontology's namespace is
    ``{base}ontology/`` and its terms' anchors are their local names there."""
    doc = _Ontology(ontology, base)
    names = doc.names
    title, header = doc.header()
    body, toc = [], []
    for key, heading, kind in _TERM_SECTIONS:
        terms = doc.sections[key]
        if key == "annotation" and not terms:
            continue
        sid = _SECTION_IDS[key]
        links = "".join(f'<li><a href="#{_e(names.anchors[t])}"><code>'
                        f"{_e(doc.local(t) if doc.is_local(t) else names.compact(t))}"
                        "</code></a></li>" for t in terms)
        toc.append(f'<li><a href="#{sid}">{_e(heading)}</a> ({len(terms)})'
                   + (f"<ol>{links}</ol>" if links else "") + "</li>\n")
        body.append(f'<section id="{sid}">\n<h2>{_e(heading)}</h2>\n'
                    + ("".join(doc.term(t, kind) for t in terms) or "<p>None.</p>\n")
                    + "</section>\n")
    schemes, orphans = doc.schemes_html()
    scheme_links = "".join(f'<li><a href="#{_e(names.anchors[s])}"><code>{_e(doc.local(s))}'
                           "</code></a></li>" for s in doc.sections["schemes"])
    toc.append(f'<li><a href="#{_SECTION_IDS["schemes"]}">Concept schemes</a> '
               f'({len(doc.sections["schemes"])} schemes, {len(doc.sections["concepts"])} '
               "concepts)" + (f"<ol>{scheme_links}</ol>" if scheme_links else "") + "</li>\n")
    body.append(schemes)
    if orphans:
        toc.append(f'<li><a href="#{_SECTION_IDS["no-scheme"]}">Concepts in no scheme</a>'
                   "</li>\n")
        body.append(orphans)
    external = doc.external()
    if external:
        toc.append(f'<li><a href="#{_SECTION_IDS["external"]}">Axioms about other '
                   "vocabularies' terms</a></li>\n")
        body.append(external)
    nav = f'<nav id="toc">\n<h2>Contents</h2>\n<ol>\n{"".join(toc)}</ol>\n</nav>\n'
    return _page(title, header + nav + "".join(body))


def _page(title: str, body: str) -> str:
    return render("frame.html", title=title, body=Markup(body), head=Markup(""))


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

    def path(self, p: Node, depth: int = 0) -> str:
        """A SHACL property path in SPARQL notation."""
        g, names = self.g, self.names
        if isinstance(p, URIRef) or depth > 5:
            return names.link(p)
        if g.value(p, RDF.first) is not None:
            return " / ".join(self.path(x, depth + 1) for x in _list(g, p))
        inv = g.value(p, SH.inversePath)
        if inv is not None:
            return "^" + self.path(inv, depth + 1)
        alt = g.value(p, SH.alternativePath)
        if alt is not None:
            return "(" + " | ".join(self.path(x, depth + 1) for x in _list(g, alt)) + ")"
        for pred, mark in ((SH.zeroOrMorePath, "*"), (SH.oneOrMorePath, "+"),
                           (SH.zeroOrOnePath, "?")):
            inner = g.value(p, pred)
            if inner is not None:
                return f"({self.path(inner, depth + 1)}){mark}"
        return _value(g, names, p)

    def _term(self, node: Node) -> str:
        if isinstance(node, Literal):
            text = f'"{node}"' + (f"@{node.language}" if node.language else "")
            if node.datatype in _BARE_DATATYPES:
                text = str(node)  # as Turtle writes them: 1, 2.5, true
            elif node.datatype is not None and node.datatype != XSD.string:
                text += "^^" + self.names.compact(node.datatype)
            return f"<code>{_e(text)}</code>"
        return _value(self.g, self.names, node)

    def constraints(self, s: Node, depth: int = 0) -> list[str]:
        """The constraint parameters of a shape, in words (cardinality and the nested
        property shapes excepted)."""
        g = self.g
        out: list[str] = []
        if depth > 4:
            return ["…"]

        def each(pred: URIRef, words: str, fmt: Callable[[Node], str] | None = None) -> None:
            for v in _sorted(g, g.objects(s, pred)):
                out.append(f"{words} {(fmt or self._term)(v)}")

        each(SH.datatype, "datatype")
        each(SH["class"], "class")
        each(SH.nodeKind, "node kind")
        each(SH.node, "conforms to", lambda v: self.summary(v, depth + 1))
        for pattern in _sorted(g, g.objects(s, SH.pattern)):
            flags = g.value(s, SH.flags)
            out.append(f"pattern <code>{_e(pattern)}</code>"
                       + (f" (flags <code>{_e(flags)}</code>)" if flags is not None else ""))
        for lst in _sorted(g, g.objects(s, SH["in"])):
            out.append("one of " + ", ".join(self._term(v) for v in _list(g, lst)))
        each(SH.hasValue, "has value")
        for pred, words in ((SH.minInclusive, "≥"), (SH.minExclusive, ">"),
                            (SH.maxInclusive, "≤"), (SH.maxExclusive, "<"),
                            (SH.minLength, "length ≥"), (SH.maxLength, "length ≤"),
                            (SH.equals, "equals"), (SH.disjoint, "disjoint from"),
                            (SH.lessThan, "less than"),
                            (SH.lessThanOrEquals, "less than or equal to")):
            each(pred, _e(words))
        for lst in _sorted(g, g.objects(s, SH.languageIn)):
            out.append("language in " + ", ".join(_e(v) for v in _list(g, lst)))
        if (s, SH.uniqueLang, Literal(True)) in g:
            out.append("one value per language")
        for pred, word in ((SH["or"], " or "), (SH["and"], " and "), (SH.xone, " or else ")):
            for lst in _sorted(g, g.objects(s, pred)):
                members = [self.summary(m, depth + 1) for m in _list(g, lst)]
                out.append("(" + word.join(members) + ")" if pred != SH.xone
                           else "exactly one of (" + "; ".join(members) + ")")
        each(SH["not"], "not", lambda v: "(" + self.summary(v, depth + 1) + ")")
        for q in _sorted(g, g.objects(s, SH.qualifiedValueShape)):
            lo = g.value(s, SH.qualifiedMinCount)
            hi = g.value(s, SH.qualifiedMaxCount)
            out.append(f"{_e(lo if lo is not None else 0)}..{_e(hi if hi is not None else '*')}"
                       f" values that conform to ({self.summary(q, depth + 1)})")
        if (s, SH.closed, Literal(True)) in g:
            ignored = [self.names.link(p) for lst in g.objects(s, SH.ignoredProperties)
                       for p in _list(g, lst)]
            out.append("closed" + (" (ignoring " + ", ".join(sorted(ignored)) + ")"
                                   if ignored else ""))
        if (s, SH.deactivated, Literal(True)) in g:
            out.append("deactivated")
        return out

    def summary(self, s: Node, depth: int = 0) -> str:
        """A shape referred to from another: a link to it when it is on the page, else its
        path, cardinality and constraints inline."""
        if s in self.names.anchors:
            return f'<a href="#{_e(self.names.anchors[s])}">{_e(self.name(s))}</a>'
        parts = []
        path = self.g.value(s, SH.path)
        if path is not None:
            parts.append("path " + self.path(path))
        card = self.cardinality(s)
        if card:
            parts.append(card)
        parts += self.constraints(s, depth)
        if depth <= 4:
            parts += ["(" + self.summary(p, depth + 1) + ")"
                      for p in _sorted(self.g, self.g.objects(s, SH.property))]
        return ", ".join(parts) or _value(self.g, self.names, s)

    def cardinality(self, s: Node) -> str:
        lo, hi = self.g.value(s, SH.minCount), self.g.value(s, SH.maxCount)
        if lo is None and hi is None:
            return ""
        return f"{_e(lo if lo is not None else 0)}..{_e(hi if hi is not None else '*')}"

    def severity(self, s: Node, default: str = "Violation") -> str:
        sev = self.g.value(s, SH.severity)
        if sev is None:
            return default
        return _SEVERITIES.get(sev, self.names.compact(sev) if isinstance(sev, URIRef)
                               else str(sev))

    def messages(self, s: Node) -> str:
        msgs = _sorted(self.g, self.g.objects(s, SH.message))
        return "<br>".join(_literal(m) if isinstance(m, Literal) else _e(m) for m in msgs)

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

    def rows(self, s: Node) -> list[str]:
        g = self.g
        shape_sev = self.severity(s)
        rows = []
        own = self.constraints(s)
        own_path = g.value(s, SH.path)
        if own or own_path is not None or self.cardinality(s):
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
        return rows

    def _tr(self, p: Node, path: Node | None, default_sev: str) -> str:
        g = self.g
        where = self.path(path) if path is not None else "<em>the focus node</em>"
        notes = [_e(n) for n in _sorted(g, (x for pred in (SH.name, SH.description)
                                            for x in g.objects(p, pred)))] \
            if path is not None else []
        if notes:
            where += "<br>" + "<br>".join(f'<span class="lang">{n}</span>' for n in notes)
        return (f"<tr><td>{where}</td><td>{self.cardinality(p)}</td>"
                f"<td>{'<br>'.join(self.constraints(p))}</td>"
                f"<td>{_e(self.severity(p, default_sev))}</td>"
                f"<td>{self.messages(p)}</td></tr>\n")

    def sparql(self, s: Node) -> str:
        """Every SPARQL constraint of the shape and of its property shapes."""
        g = self.g
        holders = [(s, None)] + [(p, g.value(p, SH.path)) for p in g.objects(s, SH.property)]
        items = []
        for holder, path in holders:
            for c in g.objects(holder, SH.sparql):
                items.append((holder, path, c))
        items.sort(key=lambda x: (_key(g, x[1]) if x[1] is not None else "",
                                  self.query(x[2]), _key(g, x[2])))
        out = []
        for holder, path, c in items:
            sev = self.severity(c, self.severity(holder, self.severity(s)))
            on = f"<dt>Path</dt><dd>{self.path(path)}</dd>" if path is not None else ""
            deactivated = "<dt>Deactivated</dt><dd>yes</dd>" \
                if (c, SH.deactivated, Literal(True)) in g else ""
            out.append('<div class="sparql">\n<dl>'
                       f"{on}<dt>Severity</dt><dd>{_e(sev)}</dd>"
                       f"<dt>Message</dt><dd>{self.messages(c) or '—'}</dd>{deactivated}"
                       f"</dl>\n<pre><code>{_e(self.query(c))}</code></pre>\n</div>\n")
        if not out:
            return ""
        return "<h4>SPARQL constraints</h4>\n" + "".join(out)

    def shape(self, s: Node) -> str:
        g, names = self.g, self.names
        targets = []
        for pred, words in _TARGETS:
            for v in _sorted(g, g.objects(s, pred)):
                targets.append(f"{_e(words)} {_value(g, names, v)}")
        if any((s, RDF.type, t) in g for t in (RDFS.Class, OWL.Class)):
            targets.append(f"class {names.link(s)} (implicit: the shape is a class)")
        for t in _sorted(g, g.objects(s, SH.target)):
            select = g.value(t, SH.select)
            targets.append("custom target" + (
                f"<pre><code>{_e(textwrap.dedent(str(select)).strip())}</code></pre>"
                if select is not None else " " + _value(g, names, t)))
        info = [_row("Shape", [f"<code>{_e(s)}</code>" if isinstance(s, URIRef)
                               else "(blank node)"]),
                _row("Targets", targets or ["none (used from other shapes)"]),
                _row("Description", [_literal(d) if isinstance(d, Literal) else _e(d)
                                     for d in _sorted(g, g.objects(s, SH.description))]),
                _row("Severity", [_e(self.severity(s))]),
                _row("Message", [self.messages(s)] if g.value(s, SH.message) else [])]
        rows = self.rows(s)
        table = ("<table>\n<thead><tr><th>Path</th><th>Cardinality</th><th>Constraint</th>"
                 "<th>Severity</th><th>Message</th></tr></thead>\n<tbody>\n"
                 + "".join(rows) + "</tbody>\n</table>\n") if rows else ""
        name = g.value(s, SH.name)
        title = _name(name) if isinstance(name, Literal) else _e(self.name(s))
        return (f'<section class="shape" id="{_e(names.anchors[s])}">\n<h3>{title}</h3>\n'
                f"<dl>\n{''.join(info)}</dl>\n{table}{self.sparql(s)}</section>\n")


def shapes_html(shapes: Graph, base: str) -> str:
    """The SHACL shapes as one HTML page, so a person can see what the data must satisfy
    (and what each failure message means) without reading Turtle."""
    doc = _Shapes(shapes, base)
    g = shapes
    onto = _sorted(g, g.subjects(RDF.type, OWL.Ontology))
    title = "SHACL shapes"
    if onto:
        titles = _sorted(g, (t for p in (DCTERMS.title, RDFS.label) for t in g.objects(onto[0], p)))
        title = str(next((t for t in titles if getattr(t, "language", None) == "en"),
                         titles[0] if titles else title))
    descriptions = "".join(
        f"<p{_Ontology._lang_attr(d)}>{_e(d)}</p>\n" for o in onto[:1]
        for d in _sorted(g, (d for p in (DCTERMS.description, RDFS.comment)
                             for d in g.objects(o, p))))
    header = (f"<header>\n<h1>{_e(title)}</h1>\n{descriptions}"
              f"<p>{len(doc.shapes)} node shapes. Severity is Violation unless a shape says "
              "otherwise.</p>\n</header>\n")
    links = "".join(f'<li><a href="#{_e(doc.names.anchors[s])}">{_e(doc.name(s))}</a></li>'
                    for s in doc.shapes)
    nav = (f'<nav id="toc">\n<h2>Contents</h2>\n<ol>\n<li><a href="#{_SECTION_IDS["shapes"]}">'
           f"Node shapes</a> ({len(doc.shapes)})" + (f"<ol>{links}</ol>" if links else "")
           + "</li>\n</ol>\n</nav>\n")
    body = (f'<main>\n<section id="{_SECTION_IDS["shapes"]}">\n<h2>Node shapes</h2>\n'
            + ("".join(doc.shape(s) for s in doc.shapes) or "<p>None.</p>\n")
            + "</section>\n</main>\n")
    return _page(title, header + nav + body)
