"""The W3C SHACL test suite (``../shared/peer-tests/w3c-shacl/``, beside the repository),
read from its manifests, and each test's outcome for one engine.

A test passes when the engine's report has the expected ``sh:conforms`` and the same
results, each compared by focus node, path, value, source shape, severity and constraint
component (messages are not compared: the suite leaves them free), or, for a test whose
expected result is ``sht:Failure``, when the engine refuses the shapes. A test is refused
when the engine raises its unsupported-construct error (``ShapesError``) on a test that has
a report. Anything else is a wrong answer: a different report, or another exception.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from urllib.parse import unquote, urlparse

import rdflib
from rdflib import RDF, BNode, Graph, Literal, Namespace, Node, URIRef
from rdflib.collection import Collection
from rdflib.namespace import SH

from gfd_kg.shacl import RawResult, ShapesError
from gfd_kg.validate import raw_results

SUITE = Path(__file__).resolve().parents[1].parent / "shared" / "peer-tests" / "w3c-shacl"
MF = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
SHT = Namespace("http://www.w3.org/ns/shacl-test#")
SEVERITIES = {"Violation": SH.Violation, "Warning": SH.Warning, "Info": SH.Info}
ENGINES = ("compiled", "pyshacl")


@dataclass(frozen=True)
class Case:
    """One test of the suite: where its graphs are, and its expected report
    (``None``: the engine must refuse the shapes)."""

    name: str  # the test file's path in the suite, without .ttl: core/node/class-001
    label: str
    file: Path
    data: Path
    shapes: Path
    report: Node | None


def _path(uri: Node | None) -> Path:
    assert uri is not None, "a manifest entry without its graphs"
    return Path(unquote(urlparse(str(uri)).path))


@cache
def graph(path: Path) -> Graph:
    """A test file, parsed once (a test whose data and shapes are one file reads one graph,
    so the blank nodes of both are the same nodes), its literals as written: RDF tells
    ``"1"^^xsd:boolean`` from ``true``, which rdflib's normalising would merge."""
    normalise = rdflib.NORMALIZE_LITERALS
    rdflib.NORMALIZE_LITERALS = False
    try:
        return Graph().parse(path, format="turtle")
    finally:
        rdflib.NORMALIZE_LITERALS = normalise


def cases() -> list[Case]:
    """Every test the suite's manifests list, in manifest order."""
    found: list[Case] = []
    todo = [SUITE / "manifest.ttl"]
    while todo:
        manifest = todo.pop(0)
        g = graph(manifest)
        for m in g.subjects(RDF.type, MF.Manifest):
            todo.extend(_path(inc) for inc in g.objects(m, MF.include))
            for entries in g.objects(m, MF.entries):
                for entry in Collection(g, entries):
                    action = g.value(entry, MF.action)
                    result = g.value(entry, MF.result)
                    found.append(Case(
                        name=str(manifest.relative_to(SUITE).with_suffix("")),
                        label=str(g.value(entry, RDFS_LABEL) or entry),
                        file=manifest,
                        data=_path(g.value(action, SHT.dataGraph)),
                        shapes=_path(g.value(action, SHT.shapesGraph)),
                        report=None if result == SHT.Failure else result))
    return found


RDFS_LABEL = URIRef("http://www.w3.org/2000/01/rdf-schema#label")

Key = tuple[object, ...]


def _canon(g: Graph, node: Node | None, depth: int = 0) -> object:
    """A term, with a blank node read as what it says (its triples, recursively), so the
    path ``[sh:inversePath ex:p]`` of the expected report matches the shape's path."""
    if not isinstance(node, BNode):
        return node
    if depth > 6:
        return "_:"
    items = list(Collection(g, node)) if g.value(node, RDF.first) is not None else None
    if items is not None:
        return ("list", tuple(_canon(g, i, depth + 1) for i in items))
    return ("_:", frozenset((p, _canon(g, o, depth + 1)) for p, o in g.predicate_objects(node)))


def _term(g: Graph, node: Node | None, one_parse: bool) -> object:
    """A focus node, value or shape: a blank node is itself where the expected report and
    the graph it comes from are one parse of one file, and read as what it says else."""
    return node if one_parse and isinstance(node, BNode) else _canon(g, node)


def expected_results(case: Case) -> tuple[bool, Counter[Key]]:
    g = graph(case.file)
    report = case.report
    conforms = g.value(report, SH.conforms)
    data_too, shapes_too = case.data == case.file, case.shapes == case.file
    keys: Counter[Key] = Counter()
    for r in g.objects(report, SH.result):
        keys[(_term(g, g.value(r, SH.focusNode), data_too), _canon(g, g.value(r, SH.resultPath)),
              _term(g, g.value(r, SH.value), data_too),
              _term(g, g.value(r, SH.sourceShape), shapes_too),
              g.value(r, SH.resultSeverity), g.value(r, SH.sourceConstraintComponent))] += 1
    return conforms == Literal(True), keys


def actual_results(case: Case, results: list[RawResult]) -> tuple[bool, Counter[Key]]:
    data, shapes = graph(case.data), graph(case.shapes)
    data_too, shapes_too = case.data == case.file, case.shapes == case.file
    keys: Counter[Key] = Counter()
    for r in results:
        keys[(_term(data, r.focus, data_too), _canon(shapes, r.path),
              _term(data, r.value, data_too), _term(shapes, r.source, shapes_too),
              SEVERITIES.get(r.severity, URIRef(r.severity)), r.component)] += 1
    return not results, keys  # a report conforms when it has no results (SHACL 3.6)


@dataclass(frozen=True)
class Outcome:
    verdict: str  # pass, refused or wrong
    detail: str


@cache
def outcome(case: Case, engine: str) -> Outcome:
    """What ``engine`` makes of ``case`` (computed once: the tally reads it again)."""
    data, shapes = graph(case.data), graph(case.shapes)
    try:
        results = raw_results(data, shapes, engine=engine)
    except ShapesError as e:
        if case.report is None:
            return Outcome("pass", f"refused the shapes, as expected: {e}")
        return Outcome("refused", str(e))
    except Exception as e:
        return Outcome("wrong", f"{type(e).__name__}: {e}")
    if case.report is None:
        return Outcome("wrong", f"accepted shapes it must refuse ({len(results)} results)")
    want = expected_results(case)
    got = actual_results(case, results)
    if got == want:
        return Outcome("pass", "")
    missing = want[1] - got[1]
    extra = got[1] - want[1]
    return Outcome("wrong", f"conforms {got[0]} (expected {want[0]}); missing {dict(missing)}; "
                            f"unexpected {dict(extra)}")


def tally(engine: str) -> Counter[str]:
    return Counter(outcome(c, engine).verdict for c in cases())
