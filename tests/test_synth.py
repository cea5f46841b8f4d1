"""Synthetic data: N renamed copies of the seminar load, build and validate like the real one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from rdflib import RDF, Graph, Namespace

from gfd_kg.errors import OutputError
from gfd_kg.records import Records, load_records
from gfd_kg.synth import synthesise

from .conftest import DATA

SCHEMA = Namespace("http://schema.org/")
N = 3


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synthesise(DATA, N, tmp_path_factory.mktemp("synth") / "data")


@pytest.fixture(scope="module")
def synth_records(synth: Path) -> Records:
    return load_records(synth / "records")


@pytest.fixture(scope="module")
def synth_build(synth: Path, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("synth-dist") / "dist"
    proc = subprocess.run([sys.executable, "-m", "gfd_kg", "build", "--data", str(synth),
                           "--out", str(out)], capture_output=True, text=True, timeout=600)
    return proc, out


def _seminar_ids(records: Records, common: Records) -> set[tuple[str, str]]:
    common_ids = {(r.group, r.id) for r in common}
    return {(r.group, r.id) for r in records} - common_ids


def test_layout(synth: Path) -> None:
    assert sorted(p.name for p in (synth / "records").iterdir()) == [
        "common", "s0001", "s0002", "s0003"]
    for shared in ("corrections.yaml", "source/gfd-2008-tunis-agenda.txt",
                   "reference/links.csv", "records/common/countries.yaml"):
        assert (synth / shared).read_bytes() == (DATA / shared).read_bytes()


def test_counts_and_distinct_ids(synth_records: Records) -> None:
    real = load_records(DATA / "records")
    common = load_records(DATA / "records" / "common")
    per_seminar = len(real) - len(common)
    assert per_seminar == len(_seminar_ids(real, common)) > 0
    assert len(synth_records) == len(common) + N * per_seminar
    ours = _seminar_ids(synth_records, common)
    assert len(ours) == N * per_seminar
    for k in range(1, N + 1):
        tag = f"s{k:04d}"
        mine = {i for _, i in ours if i == tag or i.startswith((tag + "/", tag + "-"))}
        assert len(mine) == per_seminar, tag
    assert synth_records.get("person", "s0002-khedija-zammouri").get("work_location") == "tunis"
    assert synth_records.get("event", "s0003").get("organizer") == "gfd-initiative"


def test_names_and_dates(synth_records: Records) -> None:
    real = load_records(DATA / "records")
    base = real.get("event", "gfd-2008-tunis/registration")
    for k in range(1, N + 1):
        tag = f"s{k:04d}"
        seminar = synth_records.get("event", tag)
        assert seminar.get("name").endswith(f"(synthetic seminar {k})")
        reg = synth_records.get("event", f"{tag}/registration")
        assert (reg.get("date") - base.get("date")).days == 7 * k
        assert reg.get("start") == base.get("start")
        assert reg.get("start_at").utcoffset() is not None


def test_build_conforms(synth_build) -> None:
    proc, out = synth_build
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = [x for x in proc.stdout.splitlines() if x.startswith("shacl")]
    assert len(lines) == 2 and all(": 0 violations," in x for x in lines), proc.stdout
    assert (out / "gfd.ttl").is_file()


def test_build_counts(synth_build, data_graph: Graph) -> None:
    proc, out = synth_build
    assert proc.returncode == 0, proc.stdout + proc.stderr
    g = Graph().parse(out / "gfd.nt", format="nt")
    real_events = set(data_graph.subjects(RDF.type, SCHEMA.Event))
    real_persons = set(data_graph.subjects(RDF.type, SCHEMA.Person))
    assert len(real_persons) == 32
    assert len(set(g.subjects(RDF.type, SCHEMA.Event))) == N * len(real_events)
    assert len(set(g.subjects(RDF.type, SCHEMA.Person))) == N * 32


def test_deterministic(synth: Path, tmp_path: Path) -> None:
    again = synthesise(DATA, N, tmp_path / "again")
    files = sorted(p.relative_to(synth) for p in synth.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
    for rel in files:
        assert (synth / rel).read_bytes() == (again / rel).read_bytes(), rel


def test_seed_moves_dates(tmp_path: Path) -> None:
    moved = load_records(synthesise(DATA, 1, tmp_path / "moved", seed=2) / "records")
    base = load_records(DATA / "records").get("event", "gfd-2008-tunis/registration")
    assert (moved.get("event", "s0001/registration").get("date") - base.get("date")).days == 21


def test_refuses_a_full_folder(synth: Path) -> None:
    with pytest.raises(OutputError):
        synthesise(DATA, 1, synth)


def test_skips_weeks_the_clock_change_makes_ambiguous() -> None:
    from datetime import date

    from gfd_kg.synth import _clock_safe

    # Tunisia left summer time on 2008-10-26 at 03:00: 02:30 happened twice that night.
    night = [(date(2008, 10, 19), "02:30")]
    assert not _clock_safe(night, 1)
    assert _clock_safe(night, 2)
