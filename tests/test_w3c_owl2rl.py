"""The W3C RDF-based OWL 2 RL conformance cases (../shared/peer-tests/owl2-rl/, 209
positive entailments and 64 inconsistencies), run by the rule engine the build reasons
with (``Rules.of``, ``closure``, ``check_consistency``) and by the owlrl reference
(``owlrl_closure``, what ``infer_owlrl`` publishes from).

A positive case holds when its conclusion graph, blank nodes read as variables, is in the
closure of its premise graph; an inconsistency case holds when the engine raises
``Inconsistent``. The rule engine may instead refuse (``UnsupportedConstruct``), and
the cases whose conclusion it does not derive by design (statements about the vocabulary,
reflexive owl:sameAs) are listed with their reason in tests/owl2rl-excluded.csv, where a
test checks the reason holds. owlrl never refuses; its wrong answers (it is incomplete on
data values) are listed in tests/owl2rl-owlrl-gaps.csv, and a test checks each is still
wrong. Any other answer is a wrong one and fails. On every case whose premise both
engines take, the two are held to each other. The premise is
split as the build splits its input: axioms (what states something about classes and
properties) are the ontology, the rest is data. Literals are read as written (rdflib's
literal normalisation off), so that "1.0E+310"^^xsd:double is not read as "INF"."""

from __future__ import annotations

import csv
import logging
import warnings
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
import rdflib
from rdflib import OWL, RDF, RDFS, BNode, Graph, Literal
from rdflib.term import Node

from gfd_kg import datatypes
from gfd_kg.reason import (
    AXIOM_PREDICATES,
    Inconsistent,
    Rules,
    UnsupportedConstruct,
    check_consistency,
    check_data,
    closure,
    owlrl_closure,
)

Triple = tuple[Node, Node, Node]
SUITE = Path(__file__).resolve().parents[1].parent / "shared" / "peer-tests" / "owl2-rl"
EXCLUDED_CSV = Path(__file__).parent / "owl2rl-excluded.csv"
OWLRL_GAPS_CSV = Path(__file__).parent / "owl2rl-owlrl-gaps.csv"
_META = {RDFS.Class, RDFS.Datatype, RDF.Property}


@dataclass(frozen=True)
class Case:
    name: str
    inconsistency: bool
    premise: tuple[Triple, ...]
    conclusion: tuple[Triple, ...]


@contextmanager
def _literals_as_written() -> Iterator[None]:
    """Parse without rdflib's literal normalisation, and without its complaints about
    the ill-typed literals the suite holds on purpose."""
    before = rdflib.NORMALIZE_LITERALS
    log = logging.getLogger("rdflib.term")
    level = log.level
    rdflib.NORMALIZE_LITERALS = False
    log.setLevel(logging.CRITICAL)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            yield
    finally:
        rdflib.NORMALIZE_LITERALS = before
        log.setLevel(level)


def _load(folder: Path) -> Case:
    meta = (folder / f"{folder.name}.metadata.properties").read_text()
    inconsistency = '"testcase.type">INCONSISTENCY<' in meta
    assert inconsistency or '"testcase.type">POSITIVE_ENTAILMENT<' in meta, folder.name

    def graph(suffix: str) -> tuple[Triple, ...]:
        path = folder / f"{folder.name}.{suffix}"
        return tuple(Graph().parse(path, format="turtle")) if path.exists() else ()

    with _literals_as_written():
        premise = graph("graph.ttl") if inconsistency else graph("premisegraph.ttl")
        return Case(folder.name, inconsistency, premise, graph("conclusiongraph.ttl"))


CASES = [_load(d) for d in sorted(SUITE.iterdir()) if d.is_dir()] if SUITE.is_dir() else []
BY_NAME = {c.name: c for c in CASES}
with EXCLUDED_CSV.open(newline="") as f:
    EXCLUDED = {row["case"]: row["reason"] for row in csv.DictReader(f)}
with OWLRL_GAPS_CSV.open(newline="") as f:
    OWLRL_GAPS = {row["case"]: (row["outcome"], row["reason"]) for row in csv.DictReader(f)}


def _is_axiom(t: Triple) -> bool:
    _, p, o = t
    if p in AXIOM_PREDICATES:
        return True
    return p == RDF.type and (o in _META or (str(o).startswith(str(OWL))
                                             and o not in (OWL.Thing, OWL.Nothing)))


def _split(triples: tuple[Triple, ...]) -> tuple[list[Triple], Graph]:
    """(data, ontology); RDF list cells go to both, as lists serve axioms and data."""
    data, ontology = [], Graph()
    for t in triples:
        if t[1] in (RDF.first, RDF.rest):
            data.append(t)
            ontology.add(t)
        elif _is_axiom(t):
            ontology.add(t)
        else:
            data.append(t)
    return data, ontology


def _entailed(conclusion: tuple[Triple, ...], known: set[Triple] | Graph) -> bool:
    """Whether some mapping of the conclusion's blank nodes puts all of it in ``known``."""
    by_p: dict[Node, list[Triple]] = {}
    for t in known:
        by_p.setdefault(t[1], []).append(t)

    def unify(pattern: Triple, fact: Triple, binding: dict[Node, Node]) -> dict[Node, Node] | None:
        b = dict(binding)
        for x, y in zip(pattern, fact, strict=True):
            if isinstance(x, BNode):
                if b.setdefault(x, y) != y:
                    return None
            elif x != y:
                return None
        return b

    def match(i: int, binding: dict[Node, Node]) -> bool:
        if i == len(conclusion):
            return True
        p = conclusion[i][1]
        facts = by_p.get(p, []) if not isinstance(p, BNode) else list(known)
        return any(b is not None and match(i + 1, b)
                   for b in (unify(conclusion[i], fact, binding) for fact in facts))

    return match(0, {})


def _reflexive_same(t: Triple) -> bool:
    return t[1] == OWL.sameAs and t[0] == t[2]


def _by_rules(case: Case) -> set[Triple]:
    """The build's path: the axioms compiled, the data closed, the closure checked."""
    data, ontology = _split(case.premise)
    rules = Rules.of(ontology)
    triples = closure(data, rules)
    check_consistency(triples, rules)
    return triples


@cache
def outcome(engine: str, name: str) -> tuple[str, str]:
    """(pass | refused | excluded | WRONG, what the engine said)."""
    case = BY_NAME[name]
    triples: set[Triple] | Graph
    try:
        triples = _by_rules(case) if engine == "rules" else owlrl_closure(case.premise)
    except UnsupportedConstruct as e:
        return "refused", str(e)
    except Inconsistent as e:
        return ("pass" if case.inconsistency else "WRONG"), f"inconsistent: {e}"
    if case.inconsistency:
        return "WRONG", "found the premise consistent"
    if engine == "rules" and name in EXCLUDED:
        return "excluded", EXCLUDED[name]
    if engine == "rules" and any(_is_axiom(t) for t in case.conclusion):
        return "WRONG", "the conclusion is about the schema: list the case in owl2rl-excluded.csv"
    if engine == "rules":
        try:
            check_data(case.conclusion)
        except UnsupportedConstruct as e:
            return "refused", f"the conclusion asks for it: {e}"
    if _entailed(case.conclusion, triples):
        return "pass", "entailed"
    return "WRONG", "the conclusion is not entailed"


ENGINES = ["rules", "owlrl"]
PARAMS = [pytest.param(e, c.name, id=f"{e}-{c.name}") for e in ENGINES for c in CASES]


def test_the_suite_is_there() -> None:
    kinds = Counter(c.inconsistency for c in CASES)
    assert (kinds[False], kinds[True]) == (209, 64), f"expected the W3C cases in {SUITE}"
    assert set(EXCLUDED) | set(OWLRL_GAPS) <= set(BY_NAME), "a list names cases the suite lacks"


@pytest.mark.parametrize(("engine", "name"), PARAMS)
def test_each_case_passes_or_is_refused(engine: str, name: str) -> None:
    result, said = outcome(engine, name)
    if engine == "rules":
        assert result in ("pass", "refused", "excluded"), f"rules on {name}: {said}"
    elif OWLRL_GAPS.get(name, ("",))[0] == "wrong":
        assert result == "WRONG", f"owlrl now gets {name} right: take it off owl2rl-owlrl-gaps.csv"
    else:
        assert result == "pass", f"owlrl on {name}: {said}"


@pytest.mark.parametrize("name", sorted(EXCLUDED))
def test_an_excluded_case_asks_only_for_what_the_engine_leaves_out(name: str) -> None:
    """The reason in the list holds: what the rule engine does not derive of the
    conclusion is about the vocabulary or a reflexive owl:sameAs, never an individual's
    fact."""
    case = BY_NAME[name]
    data, ontology = _split(case.premise)
    rules = Rules.of(ontology)
    triples = closure(data, rules)
    missing = [t for t in case.conclusion if not _entailed((t,), triples)]
    assert missing, f"{name} passes: take it off owl2rl-excluded.csv"
    assert all(_is_axiom(t) or _reflexive_same(t) for t in missing), missing


_VOCABULARY = tuple(str(ns) for ns in (RDF, RDFS, OWL, datatypes.XSD))


def _facts(triples: set[Triple] | Graph) -> set[Triple]:
    """What a closure says about the case's individuals (what the build would publish):
    not axioms, not the vocabulary's own triples, not the noise ``_kept`` drops."""
    return {t for t in triples
            if not isinstance(t[0], Literal) and not str(t[0]).startswith(_VOCABULARY)
            and not _is_axiom(t) and not _reflexive_same(t)
            and not (t[1] == RDF.type and (t[2] == OWL.Thing or isinstance(t[2], BNode)))}


def _taken_by_both(case: Case) -> bool:
    if OWLRL_GAPS.get(case.name, ("",))[0] == "wrong":
        return False
    try:
        _by_rules(case)
    except UnsupportedConstruct:
        return False
    except Inconsistent:
        pass
    return True


BOTH = [c.name for c in CASES if _taken_by_both(c)]


@pytest.mark.parametrize("name", BOTH)
def test_the_engines_agree_on_the_cases_both_take(name: str) -> None:
    """The same verdict, and the same facts about individuals, except what the rule
    engine derives from data values and owlrl leaves out: the datatypes of a value
    (dt-type2 asks for every datatype whose value space holds it; owlrl gives the
    literal's own), and individuals made different by different values (dt-diff)."""
    case = BY_NAME[name]
    try:
        mine: set[Triple] | None = _facts(_by_rules(case))
    except Inconsistent:
        mine = None
    try:
        theirs: set[Triple] | None = _facts(owlrl_closure(case.premise))
    except Inconsistent:
        theirs = None
    assert (mine is None) == (theirs is None), f"{name}: one engine finds a contradiction"
    if mine is None or theirs is None or OWLRL_GAPS.get(name, ("",))[0] == "differs":
        return
    assert theirs - mine == set()
    known = _by_rules(case)

    def values(x: Node) -> list[datatypes.Value]:
        return [v for s, q, o in known if s == x and q == OWL.sameAs and isinstance(o, Literal)
                and (v := datatypes.value(o)) is not None]

    for x, p, d in mine - theirs:
        if p == OWL.differentFrom:
            assert any(a != b for a in values(x) for b in values(d)), (x, p, d)
        else:
            assert p == RDF.type and isinstance(d, rdflib.URIRef) and datatypes.is_datatype(d)
            assert any(datatypes.member(v, d) for v in values(x)), (x, d)


def test_the_listed_difference_is_still_there() -> None:
    for name, (kind, _reason) in OWLRL_GAPS.items():
        if kind == "differs":
            assert _facts(owlrl_closure(BY_NAME[name].premise)) - _facts(_by_rules(BY_NAME[name]))


def test_the_tally(capsys: pytest.CaptureFixture[str]) -> None:
    """Printed in the test output (and quoted in the README)."""
    lines = []
    for engine in ENGINES:
        tally = {kind: Counter(outcome(engine, c.name)[0] for c in CASES if c.inconsistency == kind)
                 for kind in (False, True)}
        lines.append(f"W3C OWL 2 RL, {engine}: " + "; ".join(
            f"{label}: " + ", ".join(f"{tally[kind][k]} {k}" for k in
                                     ("pass", "refused", "excluded", "WRONG") if tally[kind][k])
            for kind, label in ((False, "209 entailments"), (True, "64 inconsistencies"))))
        wrong = {c.name for c in CASES if outcome(engine, c.name)[0] == "WRONG"}
        listed = {n for n, (kind, _) in OWLRL_GAPS.items() if kind == "wrong"}
        assert wrong == (listed if engine == "owlrl" else set()), lines[-1]
    lines.append(f"W3C OWL 2 RL, both engines take {len(BOTH)} cases and agree on them")
    with capsys.disabled():
        print("\n" + "\n".join(lines))
