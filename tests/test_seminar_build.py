"""The build seminar by seminar (gfd_kg/build.py): on a corpus of synthetic seminars it
publishes the same graphs as the whole-graph pipeline (every record in one rdflib graph,
pySHACL and the rule engine over all of it), the same bytes with one process or two, and
a violation in one seminar stops the whole build naming that seminar. The records split
into seminars by their links (gfd_kg/records.py: partition)."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gfd_kg.build import assemble, build, check_and_reason
from gfd_kg.cli import ProgressBar
from gfd_kg.errors import RecordsError
from gfd_kg.iris import IRIs
from gfd_kg.model import DATA_GRAPH, INFERRED_GRAPH
from gfd_kg.publish import ntriples_bytes
from gfd_kg.records import load_records, partition
from gfd_kg.synth import synthesise

from .conftest import DATA

N = 3
TIME = "2026-01-01T00:00:00+00:00"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synthesise(DATA, N, tmp_path_factory.mktemp("corpus") / "data")


@pytest.fixture(scope="module")
def two_jobs(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    out = tmp_path_factory.mktemp("jobs2") / "dist"
    return build(corpus, out, IRIs(), time_of_build=TIME, jobs=2), out


def _graph_lines(dist: Path, graph: str, iris: IRIs) -> set[bytes]:
    suffix = b" " + iris.graph(graph).n3().encode() + b" ."
    return {line[: -len(suffix)] + b" ." for line in (dist / "gfd.nq").read_bytes().splitlines()
            if line.endswith(suffix)}


def test_the_corpus_splits_into_its_seminars(corpus: Path) -> None:
    parts = partition(load_records(corpus / "records"), corpus / "records")
    assert [name for name, _ in parts] == [f"s{k:04d}" for k in range(1, N + 1)]
    sizes = {len(records) for _, records in parts}
    # the real seminar's records, common ones included (the sources and series among them)
    assert sizes == {188}


def test_seminar_by_seminar_equals_the_whole_graph(corpus: Path, two_jobs, iris: IRIs) -> None:
    figures, dist = two_jobs
    assert figures["seminars"] == N
    whole = assemble(corpus, iris)
    check_and_reason(whole, iris)
    for graph in (DATA_GRAPH, INFERRED_GRAPH):
        expected = set(ntriples_bytes(whole.graph(graph, iris)).splitlines())
        assert _graph_lines(dist, graph, iris) == expected, graph
    assert whole.reports["asserted"].conforms and whole.reports["reasoned"].conforms


def test_one_process_or_two_give_the_same_bytes(corpus: Path, two_jobs, tmp_path: Path) -> None:
    _figures, dist = two_jobs
    one = tmp_path / "one"
    build(corpus, one, IRIs(), time_of_build=TIME, jobs=1)
    names = sorted(p.relative_to(dist) for p in dist.rglob("*") if p.is_file())
    assert names == sorted(p.relative_to(one) for p in one.rglob("*") if p.is_file())
    for name in names:
        assert (dist / name).read_bytes() == (one / name).read_bytes(), name


def test_a_violation_in_one_seminar_stops_the_build(corpus: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(corpus, data)
    bad = data / "records" / "s0002" / "extra.yaml"
    # a session without chair, number or talks (the one of tests/invalid-records/, moved)
    text = (Path(__file__).parent / "invalid-records" / "overlapping-sessions.yaml").read_text()
    bad.write_text(text.replace("gfd-2008-tunis", "s0002")
                   .replace("location: ", "location: s0002-"), encoding="utf-8")
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "gfd_kg", "build", "--data", str(data),
                           "--out", str(out), "--jobs", "2"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "asserted (seminar s0002) graph does not conform" in proc.stderr
    assert "event/s0002/extra-session> schema:organizer: A session must have a chair" in proc.stderr
    assert not out.exists()


def test_records_linked_across_folders_are_one_seminar(tmp_path: Path) -> None:
    """A record filed in another folder that names the seminar's records belongs to it."""
    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    extra = data / "records" / "zz-extra" / "questions.yaml"
    extra.parent.mkdir()
    extra.write_text((data / "records" / "gfd-2008-tunis" / "questions.yaml").read_text()
                     .replace("id: gfd-2008-tunis/", "id: zz/"), encoding="utf-8")
    parts = partition(load_records(data / "records"), data / "records")
    assert [name for name, _ in parts] == ["gfd-2008-tunis"]


def test_common_records_may_not_name_a_seminars(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    orgs = data / "records" / "common" / "organizations.yaml"
    seminar_orgs = (data / "records" / "gfd-2008-tunis" / "organizations.yaml").read_text()
    target = next(line.split(":", 1)[1].strip() for line in seminar_orgs.splitlines()
                  if line.strip().startswith("- id:"))
    text = orgs.read_text()
    first = next(line for line in text.splitlines() if line.strip().startswith("- id:"))
    orgs.write_text(text.replace(first, f"{first}\n    parent: {target}", 1), encoding="utf-8")
    with pytest.raises(RecordsError, match="common records may name only common records"):
        partition(load_records(data / "records"), data / "records")


def test_the_progress_bar_without_a_terminal() -> None:
    stream = io.StringIO()
    bar = ProgressBar(stream)
    for done in range(1, 21):
        bar.advance(done, 20)
    lines = stream.getvalue().splitlines()
    assert [line.split()[1] for line in lines] == [f"{k}/20" for k in range(2, 21, 2)]
    quiet = io.StringIO()
    ProgressBar(quiet).advance(1, 1)
    assert quiet.getvalue() == ""
