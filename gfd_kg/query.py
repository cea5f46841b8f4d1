"""SPARQL queries kept as files in ``queries/``: each starts with ``# title:`` and a few
comment lines saying why a researcher asks it.

Queries run over the built graph (an rdflib dataset whose default graph is the union of
its named graphs) or over any SPARQL endpoint (SPARQLWrapper). Parameters are bound
safely: a value becomes an RDF term, written with its own escaping into a trailing
``VALUES`` clause; it is never pasted into the query text as the user typed it."""

from __future__ import annotations

import csv
import difflib
import io
import json
import logging
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rdflib import XSD, BNode, Dataset, Graph, Literal, URIRef, Variable
from rdflib.plugins.sparql.parser import parseQuery
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.query import ResultRow
from rdflib.term import Node

from .errors import GfdError, SourceError

_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_IRI_RE = re.compile(r'^[^\s<>"{}|\\^`]+$')


class QueryError(GfdError):
    """A query that cannot be run as given: bad syntax, bad parameter."""


class EndpointError(GfdError):
    """The endpoint is down, too slow, or answered with an error."""


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
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise SourceError(f"{path}: cannot read the query ({e.strerror})") from e
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
    """A SELECT or ASK result as plain strings, in the query's order."""

    variables: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    terms: tuple[tuple[Node | None, ...], ...] = ()
    boolean: bool | None = None

    def csv(self) -> str:
        """SPARQL 1.1 Query Results CSV."""
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\r\n")
        if self.boolean is not None:
            w.writerow(["_askResult"])
            w.writerow(["true" if self.boolean else "false"])
        else:
            w.writerow(self.variables)
            w.writerows(self.rows)
        return out.getvalue()

    def json(self) -> str:
        """SPARQL 1.1 Query Results JSON."""
        if self.boolean is not None:
            return json.dumps({"head": {}, "boolean": self.boolean}, indent=1)
        bindings = []
        for row in self.terms:
            b = {}
            for var, t in zip(self.variables, row, strict=True):
                if t is not None:
                    b[var] = _json_term(t)
            bindings.append(b)
        return json.dumps({"head": {"vars": list(self.variables)},
                           "results": {"bindings": bindings}}, indent=1, ensure_ascii=False)

    def text(self) -> str:
        """An aligned table for the terminal."""
        if self.boolean is not None:
            return "true" if self.boolean else "false"
        widths = [len(v) for v in self.variables]
        for row in self.rows:
            widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
        line = lambda cells: "  ".join(  # noqa: E731
            c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()
        out = [line(self.variables), line(["-" * w for w in widths])]
        out += [line(r) for r in self.rows]
        out.append(f"({len(self.rows)} row{'s' if len(self.rows) != 1 else ''})")
        return "\n".join(out)


def _json_term(t: Node) -> dict:
    if isinstance(t, URIRef):
        return {"type": "uri", "value": str(t)}
    if isinstance(t, BNode):
        return {"type": "bnode", "value": str(t)}
    assert isinstance(t, Literal)
    d = {"type": "literal", "value": str(t)}
    if t.language:
        d["xml:lang"] = t.language
    elif t.datatype is not None:
        d["datatype"] = str(t.datatype)
    return d


def _text(node: Node | None) -> str:
    return "" if node is None else str(node)


# --- parameters: ``--bind NAME=VALUE`` ------------------------------------------------
#
# A value is written as SPARQL writes a term, so that nothing is guessed:
#   <IRI>, http://... or https://...       an IRI
#   prefix:local                            an IRI, with a prefix of the dataset
#                                           (IRIs.prefixes: person:, event:, schema:, ...)
#   "text", "text"@en, "text"^^xsd:date     a literal (the text between the outer quotes)
#   42, -1, 4.5, 1e3, true, false           an integer, decimal, double or boolean
# Anything else is refused: a bare id (salem-al-shair) with the IRIs of the dataset it may
# mean, other text with its quoted form. A name must be a variable the query's pattern
# binds, or the binding would be silently ignored.

_PREFIXED_RE = re.compile(r"^([A-Za-z][A-Za-z0-9_.-]*):(\S*)$")  # PN_PREFIX ':' local
_LITERAL_RE = re.compile(r'^"(.*?)"(?:@([A-Za-z]+(?:-[A-Za-z0-9]+)*)|\^\^(\S+))?$', re.S)
_NUMBERS = (
    (re.compile(r"^[+-]?\d+$"), XSD.integer),
    (re.compile(r"^[+-]?\d*\.\d+$"), XSD.decimal),
    (re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)[eE][+-]?\d+$"), XSD.double),
)
_ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*(?:/[a-z0-9]+(?:-[a-z0-9]+)*)*$")  # a record id
FORMS = ('<IRI> or http(s)://...; prefix:local with a prefix of the dataset, e.g. '
         'person:khedija-zammouri; "text", "text"@en or "text"^^xsd:date for a literal; '
         '42, 4.5 or true for a number or a truth value')
Prefixes = Mapping[str, str]
Run = Callable[[str], "Table"]  # runs a SELECT over the data queried


class BareValue(QueryError):
    """A value that is neither an IRI nor a literal as written."""


def term(value: str, prefixes: Prefixes | None = None) -> Node:
    """A command-line value as an RDF term, by the forms above; ``prefixes`` are the
    dataset's (default: those of the default base)."""
    known = _default_prefixes() if prefixes is None else prefixes
    if value.startswith("<") and value.endswith(">"):
        return _iri(value[1:-1], value)
    if value.startswith(("http://", "https://")):
        return _iri(value, value)
    literal = _LITERAL_RE.match(value)
    if literal:
        text, lang, datatype = literal.groups()
        if datatype is None:
            return Literal(text, lang=lang)
        dt = term(datatype, known)
        if not isinstance(dt, URIRef):
            raise QueryError(f"{value!r}: the datatype after ^^ must be an IRI, e.g. xsd:date")
        return Literal(text, datatype=dt)
    if value in ("true", "false"):
        return Literal(value, datatype=XSD.boolean)
    for pattern, datatype in _NUMBERS:
        if pattern.match(value):
            return Literal(value, datatype=datatype)
    prefixed = _PREFIXED_RE.match(value)
    if prefixed:
        prefix, local = prefixed.groups()
        if prefix not in known:
            raise QueryError(f"{value!r}: {prefix}: is not a prefix of the dataset (they are "
                             f"{', '.join(p + ':' for p in known)}); write <{value}> for that "
                             f"IRI as it is, or \"{value}\" for a text")
        return _iri(known[prefix] + local, value)
    raise BareValue(f"{value!r} is neither an IRI nor a literal")


def _iri(iri: str, value: str) -> URIRef:
    if not _IRI_RE.match(iri):
        raise QueryError(f"{value!r} is not a valid IRI")
    return URIRef(iri)


def _default_prefixes() -> dict[str, str]:
    from .iris import IRIs

    return IRIs().prefixes_text()


def parse_bindings(pairs: list[str], prefixes: Prefixes | None = None,
                   query: str | None = None, run: Run | None = None) -> dict[str, Node]:
    """``["person=person:salem-al-shair"]`` -> ``{"person": URIRef(...)}``. Given the
    ``query``, every name must be a variable its pattern binds; given ``run`` (a SELECT
    over the data queried), a bare id is answered with the resources it may name."""
    known = _default_prefixes() if prefixes is None else prefixes
    variables = None if query is None else pattern_variables(query)
    out: dict[str, Node] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        name = name.strip().lstrip("?$")
        if not sep or not _NAME_RE.match(name):
            raise QueryError(f"--bind {pair!r}: write name=value, e.g. "
                             "person=person:khedija-zammouri")
        if name in out:
            raise QueryError(f"--bind {pair!r}: ?{name} is bound twice; give one value")
        if variables is not None and name not in variables:
            raise QueryError(f"--bind {pair!r}: {_not_a_variable(name, variables)}")
        try:
            out[name] = term(value, known)
        except BareValue:
            raise QueryError(f"--bind {pair!r}: {_bare(name, value, known, run)}") from None
        except QueryError as e:
            raise QueryError(f"--bind {pair!r}: {e}") from None
    return out


def _not_a_variable(name: str, variables: tuple[str, ...]) -> str:
    if not variables:
        return (f"?{name} is not a variable of the query; it has none a binding can "
                "constrain")
    close = difflib.get_close_matches(name, variables, n=1)
    hint = f" (did you mean ?{close[0]}?)" if close else ""
    return (f"?{name} is not a variable of the query{hint}; its variables: "
            f"{', '.join('?' + v for v in variables)}")


def _bare(name: str, value: str, prefixes: Prefixes, run: Run | None) -> str:
    """What to write instead of a bare value."""
    if not _ID_RE.match(value):
        return (f"{value!r} is neither an IRI nor a literal; for the text, quote it: "
                f"--bind '{name}=\"{value}\"'. Forms: {FORMS}")
    candidates = {URIRef(ns + value): p for p, ns in prefixes.items()
                  if _IRI_RE.match(ns + value)}
    found: list[str] = []
    if run is not None and candidates:
        listed = " ".join(iri.n3() for iri in candidates)
        table = run(f"SELECT ?s WHERE {{ VALUES ?s {{ {listed} }} FILTER EXISTS {{ ?s ?p ?o }} }}")
        found = [row[0] for row in table.rows]
    if found:
        means = " or ".join(f"<{iri}> (write {name}={candidates[URIRef(iri)]}:{value})"
                            for iri in sorted(found))
        return f"{value!r} is a bare id, not an IRI; did you mean {means}?"
    return (f"{value!r} is a bare id, not an IRI, and no resource of the dataset has it; "
            f"write one of: {FORMS}")


def pattern_variables(query: str) -> tuple[str, ...]:
    """The variables a ``VALUES`` block at the end of the WHERE group can constrain (where
    ``with_bindings`` puts it: joined with the pattern, before any grouping), in the order
    the query first names them: those the WHERE pattern binds; of a sub-SELECT the ones it
    selects; none only in a FILTER or a MINUS."""
    q = _parse(query)[1]
    return _unique(_bound(q.where))


def _unique(names: Iterator[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(names))


def _bound(node: object) -> Iterator[str]:
    if isinstance(node, Variable):
        yield str(node)
    elif isinstance(node, CompValue):
        if node.name in ("Filter", "MinusGraphPattern"):
            return
        if node.name in ("Bind", "GroupAs"):
            yield str(node.var)
        elif node.name == "SubSelect" and node.projection:
            for item in node.projection:
                yield str(item.var or item.evar)
        else:
            for value in node.values():
                yield from _bound(value)
    elif isinstance(node, Iterable) and not isinstance(node, str):  # a ParseResults
        for item in node:
            yield from _bound(item)


# What can hide a brace in a query's text, matched from the left so that each hides the
# others' delimiters: long strings, strings, IRIs, comments.
_HIDES_A_BRACE = (
    r'"""(?:[^"\\]|\\.|"(?!""))*"""',
    r"'''(?:[^'\\]|\\.|'(?!''))*'''",
    r'"(?:[^"\\\n]|\\.)*"',
    r"'(?:[^'\\\n]|\\.)*'",
    r'<[^<>"{}|^`\\\x00-\x20]*>',
    r"#[^\n]*",
)
_BRACE = re.compile("|".join(_HIDES_A_BRACE) + r"|[{}]")


def with_bindings(query: str, bindings: dict[str, Node]) -> str:
    """The query with a ``VALUES`` block binding the given variables, as the last element
    of its WHERE group (before the closing brace that the solution modifiers follow).

    Inside the group, not trailing the query: the two are the same join for a parameter
    of the pattern, but Virtuoso 7 joins a trailing VALUES after the projection, so a
    parameter the query does not select is "No column" there."""
    if not bindings:
        return query
    if _parse(query)[1].valuesClause is not None:
        raise QueryError("the query ends with a VALUES clause of its own, and a query has at "
                         "most one: put the values there instead of --bind")
    names = sorted(bindings)
    values = " ".join(bindings[n].n3() for n in names)
    block = f"VALUES ({' '.join('?' + n for n in names)}) {{ ({values}) }}"
    closing = [m.start() for m in _BRACE.finditer(query) if m.group() == "}"]
    if not closing:  # no WHERE group (DESCRIBE <iri>): the trailing clause
        return f"{query.rstrip()}\n{block}\n"
    at = closing[-1]
    return f"{query[:at]}  {block}\n{query[at:]}"


def _parse(query: str) -> Any:  # pyparsing's ParseResults, of rdflib's CompValues
    try:
        return parseQuery(query)
    except Exception as e:  # pyparsing's ParseException and friends
        raise QueryError(f"the query does not parse: {e}") from e


def check_syntax(query: str) -> str:
    """Parse the query; its form: "SELECT", "ASK", "CONSTRUCT" or "DESCRIBE"."""
    return _parse(query)[1].name.removesuffix("Query").upper()


def select(graph: Graph | Dataset, query: str, bindings: dict[str, Node] | None = None) -> Table:
    """Run a SELECT or ASK query over an rdflib graph."""
    text = with_bindings(query, bindings or {})
    check_syntax(text)
    result = graph.query(text)
    if result.type == "ASK":
        return Table((), (), (), bool(result.askAnswer))
    if result.type != "SELECT":
        raise QueryError("only SELECT and ASK queries give a table; "
                         "use --format turtle for CONSTRUCT and DESCRIBE")
    variables = tuple(str(v) for v in result.vars or ())
    # a SELECT's rows are ResultRows (rdflib types iteration for every query form)
    terms = tuple(tuple(row[v] for v in result.vars or ())
                  for row in result if isinstance(row, ResultRow))
    rows = tuple(tuple(_text(t) for t in row) for row in terms)
    return Table(variables, rows, terms)


def graph_result(graph: Graph | Dataset, query: str,
                 bindings: dict[str, Node] | None = None) -> Graph:
    """Run a CONSTRUCT or DESCRIBE query; its graph."""
    text = with_bindings(query, bindings or {})
    check_syntax(text)
    result = graph.query(text)
    if result.type not in ("CONSTRUCT", "DESCRIBE"):
        raise QueryError("--format turtle is for CONSTRUCT and DESCRIBE queries")
    assert result.graph is not None
    return result.graph


def load_dataset(paths: list[Path]) -> Dataset:
    """The built graph: TriG / N-Quads / Turtle files in one dataset whose default graph
    is the union of its named graphs."""
    ds = Dataset(default_union=True)
    for path in paths:
        if not path.is_file():
            raise SourceError(f"{path}: no such file (run `gfd-kg build` first)")
        fmt = {".trig": "trig", ".nq": "nquads", ".ttl": "turtle", ".nt": "nt",
               ".jsonld": "json-ld"}.get(path.suffix)
        if fmt is None:
            raise SourceError(f"{path}: unknown RDF format")
        try:
            if fmt in ("trig", "nquads"):
                ds.parse(path, format=fmt)
            else:
                ds.graph(URIRef(path.absolute().as_uri())).parse(path, format=fmt)
        except Exception as e:  # rdflib raises several unrelated types for bad syntax
            raise SourceError(f"{path}: cannot be parsed as {fmt}: {e}") from e
    return ds


def select_remote(endpoint: str, query: str, bindings: dict[str, Node] | None = None,
                  timeout: float = 30.0, agent: str | None = None,
                  default_graphs: tuple[str, ...] = ()) -> Table:
    """Run a SELECT or ASK query at a SPARQL endpoint with SPARQLWrapper. ``default_graphs``
    are sent as the protocol's ``default-graph-uri``: the query's default graph is then
    their merge, at any store."""
    from urllib.error import HTTPError, URLError

    from SPARQLWrapper import JSON, POST, SPARQLWrapper
    from SPARQLWrapper.SPARQLExceptions import SPARQLWrapperException

    text = with_bindings(query, bindings or {})
    form = check_syntax(text)
    if form not in ("SELECT", "ASK"):
        raise QueryError(f"only SELECT and ASK queries give a table, not {form}")
    client = SPARQLWrapper(endpoint, agent=agent) if agent else SPARQLWrapper(endpoint)
    client.setQuery(text)
    for graph in default_graphs:
        client.addDefaultGraph(graph)
    # SPARQLWrapper guesses the form from the text and is misled by words in comments
    # ("reconstructing" reads as CONSTRUCT): tell it, so it asks for SPARQL JSON results.
    client.queryType = form
    client.setMethod(POST)
    client.setReturnFormat(JSON)
    client.setTimeout(int(max(1, timeout)))
    try:
        doc = client.query().convert()
    except SPARQLWrapperException as e:
        raise EndpointError(f"{endpoint} answered with an error: {str(e).strip()}") from e
    except HTTPError as e:
        raise EndpointError(f"{endpoint} answered HTTP {e.code} {e.reason}") from e
    except (URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise EndpointError(f"{endpoint} cannot be reached ({reason}); "
                            "is the server running and the URL right?") from e
    except ValueError as e:
        raise EndpointError(f"{endpoint} did not answer with SPARQL JSON results: {e}") from e
    if not isinstance(doc, dict):
        raise EndpointError(f"{endpoint} did not answer with SPARQL JSON results")
    if "boolean" in doc:
        return Table((), (), (), bool(doc["boolean"]))
    variables = tuple(doc.get("head", {}).get("vars", []))
    with _ill_typed_literals_unlogged():
        terms = tuple(tuple(term_from_json(b.get(v)) for v in variables)
                      for b in doc.get("results", {}).get("bindings", []))
    rows = tuple(tuple(_text(t) for t in row) for row in terms)
    return Table(variables, rows, terms)


class _IllTypedLiteral(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Failed to convert Literal lexical form")


@contextmanager
def _ill_typed_literals_unlogged() -> Iterator[None]:
    """An endpoint's literals are taken as they come, ill-typed ones too (Virtuoso answers
    an xsd:duration as its seconds, "900.0"^^xsd:duration), without the traceback rdflib
    logs for each."""
    log, quiet = logging.getLogger("rdflib.term"), _IllTypedLiteral()
    log.addFilter(quiet)
    try:
        yield
    finally:
        log.removeFilter(quiet)


def term_from_json(t: dict | None) -> Node | None:
    if t is None:
        return None
    kind, value = t.get("type"), t.get("value", "")
    if kind == "uri":
        return URIRef(value)
    if kind == "bnode":
        return BNode(value)
    if "xml:lang" in t:
        return Literal(value, lang=t["xml:lang"])
    if "datatype" in t:
        return Literal(value, datatype=URIRef(t["datatype"]))
    return Literal(value)
