"""The W3C SHACL test suite (core and SPARQL, 120 tests) through both engines: the
compiled one the build runs and pySHACL, the reference. Every test passes or is refused
with ``ShapesError``; none gets a wrong answer (tests/w3c_shacl.py says how reports are
compared). The tally is printed at the end of the run."""

from __future__ import annotations

import pytest

from gfd_kg.validate import raw_results

from .w3c_shacl import (
    ENGINES,
    SUITE,
    Case,
    actual_results,
    cases,
    graph,
    outcome,
    tally,
)

CASES = cases() if SUITE.exists() else []
# the tallies this run must reach at least (a construct newly refused lowers them)
AT_LEAST_PASSING = {"compiled": 120, "pyshacl": 117}


def test_the_suite_is_there():
    assert SUITE.exists(), f"the W3C SHACL suite is not at {SUITE}"
    assert len([c for c in CASES if c.name.startswith("core/")]) == 98
    assert len([c for c in CASES if c.name.startswith("sparql/")]) == 22


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_w3c_case_passes_or_is_refused(case: Case, engine: str):
    result = outcome(case, engine)
    assert result.verdict in ("pass", "refused"), f"{case.label}: {result.detail}"


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_engines_agree_where_both_accept(case: Case):
    """Where neither engine refuses, the two give the same results (not only the same
    verdict)."""
    if case.report is None or any(outcome(case, e).verdict != "pass" for e in ENGINES):
        pytest.skip("one of the engines refuses this test")
    data, shapes = graph(case.data), graph(case.shapes)
    ours, theirs = (actual_results(case, raw_results(data, shapes, engine=e)) for e in ENGINES)
    assert ours == theirs


def test_tally(capsys: pytest.CaptureFixture[str]):
    """The figures the README gives: per engine, passed / refused / wrong."""
    lines = []
    for engine in ENGINES:
        counts = tally(engine)
        lines.append(f"W3C SHACL suite, {engine}: {counts['pass']} pass, "
                     f"{counts['refused']} refused, {counts['wrong']} wrong "
                     f"(of {len(CASES)})")
        assert counts["wrong"] == 0
        assert counts["pass"] >= AT_LEAST_PASSING[engine]
    with capsys.disabled():
        print("\n" + "\n".join(lines))
