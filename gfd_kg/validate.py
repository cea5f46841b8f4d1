"""SHACL validation (W3C SHACL, with SHACL-SPARQL constraints) of a data graph against
``shapes/``, with the ontology's class hierarchy mixed in so class targets see subclasses.
Returns a ``Report`` a person can read: what, where, why, grouped by shape.

Two things keep pySHACL fast here, without changing what it checks:
- it runs in place on a graph this module assembles (the data plus the ontology's
  ``rdfs:subClassOf`` axioms, the only part of the ontology SHACL reads: ``sh:targetClass``,
  ``sh:class`` and the shapes' ``rdfs:subClassOf*`` paths), instead of cloning the data and
  the whole ontology on every call;
- pySHACL hands rdflib the text of a SHACL-SPARQL constraint once per focus node, and
  rdflib parses it every time (about 25 ms a parse); the graph it is given prepares each
  distinct text once.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pyshacl import validate as shacl_validate
from rdflib import RDF, Graph, Literal, Node, URIRef
from rdflib.namespace import RDFS, SH
from rdflib.plugins.sparql import prepareQuery
from rdflib.plugins.sparql.sparql import Query

from .iris import SCHEMA

SEVERITIES = {SH.Violation: "Violation", SH.Warning: "Warning", SH.Info: "Info"}


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
        lines = [f"{'Conforms' if self.conforms else 'Does not conform'}: "
                 f"{len(self.violations)} violations, {len(self.warnings)} warnings"]
        groups: dict[tuple[str, str], list[Result]] = defaultdict(list)
        for r in self.results:
            groups[(r.severity, r.shape)].append(r)
        order = {"Violation": 0, "Warning": 1, "Info": 2}
        for (severity, shape), results in sorted(groups.items(),
                                                 key=lambda kv: (order[kv[0][0]], kv[0][1])):
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


@lru_cache(maxsize=512)
def _prepared(text: str) -> Query:
    return prepareQuery(text)


class _PreparingGraph(Graph):
    """A graph that parses each distinct SPARQL text once (see the module's docstring)."""

    def query(self, query_object: Any, *args: Any, **kwargs: Any):  # type: ignore[override]
        if isinstance(query_object, str) and not kwargs.get("initNs"):
            query_object = _prepared(query_object)
        return super().query(query_object, *args, **kwargs)


def validation_graph(data: Graph, ontology: Graph | None) -> Graph:
    """The graph pySHACL checks: ``data`` plus the ontology's subclass axioms."""
    g = _PreparingGraph(bind_namespaces="none")
    for prefix, ns in data.namespaces():
        g.bind(prefix, ns, override=False)
    for triple in data:
        g.add(triple)
    if ontology is not None:
        for triple in ontology.triples((None, RDFS.subClassOf, None)):
            g.add(triple)
    return g


def validate(data: Graph, shapes: Graph, ontology: Graph | None = None) -> Report:
    _conforms, results_graph, _text = shacl_validate(
        validation_graph(data, ontology), shacl_graph=shapes, inference="none", inplace=True,
        allow_warnings=True, allow_infos=True, advanced=True)
    nm = Graph(bind_namespaces="none")
    nm.bind("schema", SCHEMA)
    for prefix, ns in list(shapes.namespaces()) + list(data.namespaces()):
        nm.bind(prefix, ns, override=False)
    results = []
    for res in results_graph.subjects(RDF.type, SH.ValidationResult):
        source = results_graph.value(res, SH.sourceShape)
        severity = SEVERITIES.get(results_graph.value(res, SH.resultSeverity), "Violation")
        focus = results_graph.value(res, SH.focusNode)
        path = results_graph.value(res, SH.resultPath)
        value = results_graph.value(res, SH.value)
        messages = sorted(str(m) for m in results_graph.objects(res, SH.resultMessage))
        results.append(Result(
            severity=severity,
            shape=_label(shapes, _node_shape(shapes, source)) if source is not None else "?",
            focus=focus.n3(nm.namespace_manager) if isinstance(focus, URIRef) else str(focus),
            path=path.n3(nm.namespace_manager) if isinstance(path, URIRef) else None,
            value=(str(value) if isinstance(value, Literal)
                   else value.n3(nm.namespace_manager) if isinstance(value, URIRef) else None)
            if value is not None else None,
            message="; ".join(messages) or "(no message)",
        ))
    results.sort(key=lambda r: (r.severity, r.shape, r.focus, r.path or "", r.message))
    return Report(tuple(results))
