"""SPARQL queries kept as files in ``queries/``: each starts with ``# title:`` and a few
comment lines saying why a researcher asks it. Runs them over an rdflib graph with
values bound safely (as RDF terms, never pasted into the query text)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from rdflib import Graph, Literal, URIRef
from rdflib.query import Result
from rdflib.term import Node

from .errors import SourceError


@dataclass(frozen=True)
class QueryFile:
    path: Path
    title: str
    why: str
    text: str

    @property
    def name(self) -> str:
        return self.path.stem


def load_query(path: Path) -> QueryFile:
    text = path.read_text(encoding="utf-8")
    comments = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        comments.append(line.lstrip("#").strip())
    if not comments or not comments[0].startswith("title:"):
        raise SourceError(f"{path}:1: a query file starts with '# title: ...'")
    title = comments[0].removeprefix("title:").strip()
    why = " ".join(c for c in comments[1:] if c)
    return QueryFile(path, title, why, text)


@dataclass(frozen=True)
class Table:
    """A SELECT result as plain strings, in the query's order."""

    variables: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]

    def csv(self) -> str:
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\r\n")
        w.writerow(self.variables)
        w.writerows(self.rows)
        return out.getvalue()


def _text(node: Node | None) -> str:
    return "" if node is None else str(node)


def select(graph: Graph, query: str, bindings: dict[str, Node] | None = None) -> Table:
    """Run a SELECT query; ``bindings`` pre-bind variables to RDF terms."""
    result: Result = graph.query(query, initBindings=bindings or {})
    variables = tuple(str(v) for v in result.vars or ())
    rows = tuple(tuple(_text(row[v]) for v in result.vars or ()) for row in result)
    return Table(variables, rows)


def term(value: str) -> Node:
    """A command-line value as an RDF term: <...> or an absolute http(s) IRI is an IRI,
    anything else a plain literal."""
    if value.startswith("<") and value.endswith(">"):
        return URIRef(value[1:-1])
    if value.startswith(("http://", "https://")):
        return URIRef(value)
    return Literal(value)
