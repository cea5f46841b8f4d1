"""SHACL validation (W3C SHACL, with SHACL-SPARQL constraints) of a data graph against
``shapes/``, with the ontology's class hierarchy mixed in so class targets see subclasses.
Returns a ``Report`` a person can read: what, where, why, grouped by shape.

Two engines give the same report (tests/test_shacl_engine.py compares them on every
fixture, on the published graphs and on damaged copies of the data; tests/test_w3c_shacl.py
holds both to the W3C SHACL suite):
- ``compiled`` (the default, what the build runs): ``gfd_kg.shacl``, the shapes compiled
  once into plain checks over an index of the graph;
- ``pyshacl``, the reference, as pySHACL answers alone: it runs in place on the plain
  rdflib graph this module assembles, its SPARQL rdflib's own. Shapes it refuses, and the
  construct it is known to misread (a boolean parameter not written ``true`` or ``false``),
  raise ``ShapesError``, as the compiled engine does for what it does not implement.

Both check the data plus the ontology's ``rdfs:subClassOf`` axioms (the only part of the
ontology SHACL reads: ``sh:targetClass``, ``sh:class`` and the shapes' ``rdfs:subClassOf*``
paths): the compiled engine as an ``Index`` (``index_of``), pySHACL as a
``ValidationGraph`` (``validation_graph``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import chain
from typing import Any
from weakref import WeakKeyDictionary

from pyshacl import validate as shacl_validate
from pyshacl.errors import ReportableRuntimeError, ValidationFailure
from rdflib import Graph, Literal, Node, URIRef
from rdflib.namespace import RDFS, SH
from rdflib.plugins.sparql import prepareQuery
from rdflib.plugins.sparql.sparql import Query
from rdflib.plugins.stores.memory import SimpleMemory
from rdflib.query import Result as QueryResult

from .iris import SCHEMA
from .shacl import CompiledShapes, Index, RawResult, ShapesError, severity_name


@dataclass(frozen=True)
class Result:
    severity: str
    shape: str  # the node shape the result belongs to (its name when it has one)
    focus: str
    path: str | None
    value: str | None
    message: str


@dataclass(frozen=True)
class Report:
    results: tuple[Result, ...]

    @property
    def violations(self) -> list[Result]:
        return [r for r in self.results if r.severity == "Violation"]

    @property
    def warnings(self) -> list[Result]:
        return [r for r in self.results if r.severity == "Warning"]

    @property
    def conforms(self) -> bool:
        return not self.violations

    def text(self) -> str:
        """The report for a person: a summary line, then the results grouped by shape."""
        lines = [(f"{'Conforms' if self.conforms else 'Does not conform'}: "
                  f"{len(self.violations)} violations, {len(self.warnings)} warnings")]
        groups: dict[tuple[str, str], list[Result]] = defaultdict(list)
        for r in self.results:
            groups[(r.severity, r.shape)].append(r)
        order = {"Violation": 0, "Warning": 1, "Info": 2}
        for (severity, shape), results in sorted(groups.items(), key=lambda kv: (
                order.get(kv[0][0], 3), kv[0][0], kv[0][1])):
            lines.append("")
            lines.append(f"{severity}: {shape} ({len(results)})")
            for r in sorted(results, key=lambda r: (r.focus, r.path or "", r.value or "")):
                where = r.focus + (f" {r.path}" if r.path else "")
                value = f" [value: {r.value}]" if r.value is not None else ""
                lines.append(f"  - {where}: {r.message}{value}")
        return "\n".join(lines)


def _label(g: Graph, node: Node) -> str:
    name = g.value(node, SH.name) or g.value(node, RDFS.label)
    if name is not None:
        return str(name)
    return node.n3(g.namespace_manager) if isinstance(node, URIRef) else str(node)


def _node_shape(shapes: Graph, shape: Node) -> Node:
    """A property shape's parent node shape; a node shape itself."""
    parent = next(shapes.subjects(SH.property, shape), None)
    return parent if parent is not None else shape


class ValidationGraph(Graph):
    """The plain rdflib graph pySHACL checks: its SPARQL is rdflib's own, so the reference
    answers as pySHACL does alone. Only the parse is kept: pySHACL asks the same text
    once per focus node, and rdflib would parse it every time (``Graph.query`` parses a
    string as ``prepareQuery`` does, with the graph's prefixes). Grows only by ``extend``."""

    def __init__(self) -> None:
        super().__init__(bind_namespaces="none")
        self.prepared_queries: dict[tuple[str, tuple[tuple[str, str], ...]], Query] = {}

    def query(self, query_object: Any, processor: Any = "sparql", result: Any = "sparql",
              initNs: Any = None, initBindings: Any = None,
              use_store_provided: bool = True, **kwargs: Any) -> QueryResult:
        if isinstance(query_object, str) and processor == "sparql" and not kwargs:
            namespaces = initNs or dict(self.namespaces())
            key = (query_object, tuple(sorted((k, str(v)) for k, v in namespaces.items())))
            prepared = self.prepared_queries.get(key)
            if prepared is None:
                prepared = self.prepared_queries[key] = prepareQuery(query_object,
                                                                     initNs=namespaces)
            query_object = prepared
        return super().query(query_object, processor, result, initNs, initBindings,
                             use_store_provided, **kwargs)

    def extend(self, triples: Iterable[tuple[Node, Node, Node]]) -> None:
        for triple in triples:
            self.add(triple)


def validation_graph(data: Graph, ontology: Graph | None) -> ValidationGraph:
    """The graph pySHACL checks: ``data`` plus the ontology's subclass axioms."""
    g = ValidationGraph()
    for prefix, ns in data.namespaces():
        g.bind(prefix, ns, override=False)
    g.extend(data)
    if ontology is not None:
        g.extend(ontology.triples((None, RDFS.subClassOf, None)))
    return g


def shapes_graph(shapes: Graph) -> Graph:
    """The shapes in rdflib's plain in-memory store: pySHACL reads each shape's triples
    on every call, and the plain store answers faster than the one that keeps contexts."""
    if isinstance(shapes.store, SimpleMemory):
        return shapes
    g = Graph(store=SimpleMemory(), bind_namespaces="none")
    for prefix, ns in shapes.namespaces():
        g.bind(prefix, ns)
    for triple in shapes:
        g.add(triple)
    return g


_COMPILED: WeakKeyDictionary[Graph, CompiledShapes] = WeakKeyDictionary()


def compiled(shapes: Graph) -> CompiledShapes:
    """``shapes`` compiled for ``gfd_kg.shacl``, once per shapes graph."""
    found = _COMPILED.get(shapes)
    if found is None:
        found = _COMPILED[shapes] = CompiledShapes.of(shapes)
    return found


def index_of(data: Graph, ontology: Graph | None) -> Index:
    """What the compiled engine checks: ``data`` plus the ontology's subclass axioms."""
    axioms = ontology.triples((None, RDFS.subClassOf, None)) if ontology is not None else ()
    return Index(chain(data, axioms), data.namespaces())


def validate(data: Graph | Index, shapes: Graph, ontology: Graph | None = None,
             engine: str = "compiled") -> Report:
    """``data`` checked against ``shapes``, with ``ontology``'s class hierarchy. ``data``
    may be an ``index_of`` (for the compiled engine) or a ``validation_graph`` already:
    then ``ontology`` is not read again. ``engine`` is ``compiled`` (``gfd_kg.shacl``) or
    ``pyshacl``, the reference; both give the same report."""
    shapes = shapes_graph(shapes)
    namespaces = data.namespaces if isinstance(data, Index) else list(data.namespaces())
    return report_of(raw_results(data, shapes, ontology, engine), shapes, namespaces)


def raw_results(data: Graph | Index, shapes: Graph, ontology: Graph | None = None,
                engine: str = "compiled") -> list[RawResult]:
    """The results of ``validate`` in RDF terms, each with its constraint component (what
    the W3C suite compares). A shape the engine cannot check raises ``ShapesError``."""
    shapes = shapes_graph(shapes)
    if engine == "compiled":
        if isinstance(data, Graph):
            data = (Index(data, data.namespaces()) if isinstance(data, ValidationGraph)
                    else index_of(data, ontology))
        return compiled(shapes).check(data)
    if engine == "pyshacl":
        if isinstance(data, Index):
            raise TypeError("pySHACL reads an rdflib graph, not an Index")
        if not isinstance(data, ValidationGraph):
            data = validation_graph(data, ontology)
        return _pyshacl_results(data, shapes)
    raise ValueError(f"unknown SHACL engine {engine!r}: use 'compiled' or 'pyshacl'")


BOOLEAN_PARAMETERS = (SH.uniqueLang, SH.closed, SH.deactivated, SH.qualifiedValueShapesDisjoint)


def _pyshacl_results(data: ValidationGraph, shapes: Graph) -> list[RawResult]:
    for p in BOOLEAN_PARAMETERS:  # the one W3C test pySHACL gets wrong, refused instead
        for value in shapes.objects(None, p):
            if isinstance(value, Literal) and str(value) not in ("true", "false"):
                raise ShapesError(f"{p} is {value.n3()}: pySHACL takes it for true or false, "
                                  "SHACL does not (write true or false)")
    try:
        _conforms, results_graph, _text = shacl_validate(
            data, shacl_graph=shapes, inference="none", inplace=True,
            allow_warnings=True, allow_infos=True, advanced=True)
    except (ReportableRuntimeError, NotImplementedError) as e:  # shapes it cannot load
        raise ShapesError(f"pySHACL refuses the shapes: {e}") from e
    if isinstance(results_graph, ValidationFailure):  # an error returned, not raised
        raise ShapesError(f"pySHACL refuses the shapes: {results_graph}")
    results = []
    # the report's own results, not those nested under sh:detail
    for res in results_graph.objects(None, SH.result):
        results.append(RawResult(
            severity=severity_name(results_graph.value(res, SH.resultSeverity,
                                                       default=SH.Violation)),
            source=results_graph.value(res, SH.sourceShape),
            focus=results_graph.value(res, SH.focusNode),
            path=results_graph.value(res, SH.resultPath),
            value=results_graph.value(res, SH.value),
            messages=tuple(sorted({str(m) for m in results_graph.objects(res, SH.resultMessage)})),
            component=results_graph.value(res, SH.sourceConstraintComponent),
        ))
    return results


def report_of(raw: Iterable[RawResult], shapes: Graph,
              namespaces: Iterable[tuple[str, Node]]) -> Report:
    """The results for a person: terms written with the graphs' prefixes, each result
    under the node shape it belongs to."""
    nm = Graph(bind_namespaces="none")
    nm.bind("schema", SCHEMA)
    for prefix, ns in list(shapes.namespaces()) + list(namespaces):
        nm.bind(prefix, ns, override=False)
    manager = nm.namespace_manager
    labels: dict[Node | None, str] = {}
    results = []
    for r in raw:
        if r.source not in labels:
            labels[r.source] = (_label(shapes, _node_shape(shapes, r.source))
                                if r.source is not None else "?")
        value = r.value
        results.append(Result(
            severity=r.severity,
            shape=labels[r.source],
            focus=r.focus.n3(manager) if isinstance(r.focus, URIRef) else str(r.focus),
            path=r.path.n3(manager) if isinstance(r.path, URIRef) else None,
            value=(str(value) if isinstance(value, Literal)
                   else value.n3(manager) if isinstance(value, URIRef) else None)
            if value is not None else None,
            message="; ".join(sorted(set(r.messages))) or "(no message)",
        ))
    results.sort(key=lambda r: (r.severity, r.shape, r.focus, r.path or "", r.message))
    return Report(tuple(results))
