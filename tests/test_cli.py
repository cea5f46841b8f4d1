"""``gfd-kg build`` as a user runs it: output, exit codes, determinism, parsers."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from rdflib import Graph
from rdflib.compare import isomorphic

BAD_INPUT = sorted((Path(__file__).parent / "bad-input").glob("*.yaml"))


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gfd_kg", *args], capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, timeout=120)


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    result = run_cli("build", "--out", str(out))
    assert result.returncode == 0, result.stderr
    return out


def test_build_reports_each_stage_and_writes_turtle(tmp_path, built):
    result = run_cli("build", "--out", str(tmp_path / "d"))
    assert result.returncode == 0, result.stderr
    stages = [line.split()[0] for line in result.stdout.splitlines()]
    assert stages == ["records", "rdf", "shacl", "owl-rl", "shacl", "dumps", "built"]
    assert f"{len(built.records)} records" in result.stdout
    assert (tmp_path / "d" / "gfd.ttl").stat().st_size > 10_000


def test_two_builds_are_byte_identical(dist, tmp_path):
    again = tmp_path / "again"
    result = run_cli("build", "--out", str(again), env={"PYTHONHASHSEED": "12345"})
    assert result.returncode == 0, result.stderr
    assert (again / "gfd.ttl").read_bytes() == (dist / "gfd.ttl").read_bytes()


def test_turtle_is_the_built_data_graph(dist, data_graph):
    parsed = Graph().parse(dist / "gfd.ttl", format="turtle")
    assert isomorphic(parsed, data_graph)


def test_rapper_parses_the_turtle(dist, data_graph):
    rapper = shutil.which("rapper")
    if rapper is None:
        pytest.fail("rapper is not installed: run scripts/system-deps.sh (Debian raptor2-utils)")
    result = subprocess.run([rapper, "-i", "turtle", "-c", str(dist / "gfd.ttl")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert f"returned {len(data_graph)} triples" in result.stderr


def test_pyoxigraph_parses_the_turtle(dist, data_graph):
    import pyoxigraph

    with open(dist / "gfd.ttl", "rb") as f:
        quads = list(pyoxigraph.parse(f, format=pyoxigraph.RdfFormat.TURTLE))
    assert len(quads) == len(data_graph)


def test_base_iri_is_configurable(tmp_path):
    out = tmp_path / "other"
    result = run_cli("build", "--out", str(out), "--base", "http://example.org/gfd/")
    assert result.returncode == 0, result.stderr
    text = (out / "gfd.ttl").read_text(encoding="utf-8")
    assert ("<http://example.org/gfd/person/" in text
            or "person: <http://example.org/gfd/person/>" in text)
    assert "w3id.org" not in text


def test_bad_base_iri_is_refused(tmp_path):
    result = run_cli("build", "--out", str(tmp_path / "x"), "--base", "not an iri")
    assert result.returncode == 2
    assert "base IRI" in result.stderr
    assert not (tmp_path / "x").exists()


def build_with_extra_record_file(case: Path, data: Path, out: Path):
    """Add a record file to a copy of data/ and build it. The file's first line says
    what the error must say: ``# expect: ...``."""
    first = case.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# expect: "), f"{case.name} must start with '# expect: ...'"
    target = data / "records" / "zz-extra" / case.name
    target.parent.mkdir()
    shutil.copy(case, target)
    result = run_cli("build", "--out", str(out), "--data", str(data))
    return first.removeprefix("# expect: "), target, result


@pytest.mark.parametrize("case", BAD_INPUT, ids=[p.stem for p in BAD_INPUT])
def test_bad_records_fail_clearly_and_write_nothing(case, data_copy, tmp_path):
    out = tmp_path / "out"
    expected, target, result = build_with_extra_record_file(case, data_copy, out)
    assert result.returncode == 2, result.stdout + result.stderr
    assert expected in result.stderr
    assert str(target) in result.stderr  # names the file
    assert "Traceback" not in result.stderr
    assert not out.exists()


def test_a_broken_correction_is_reported_with_its_line(data_copy, tmp_path):
    path = data_copy / "corrections.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("line: 158", "line: 159"),
                    encoding="utf-8")
    result = run_cli("build", "--out", str(tmp_path / "o"), "--data", str(data_copy))
    assert result.returncode == 2
    assert "'Genaral' does not occur on line 159" in result.stderr
    assert not (tmp_path / "o").exists()


def test_unwritable_output_gives_exit_3(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = run_cli("build", "--out", str(blocker / "dist"))
    assert result.returncode == 3
    assert "cannot write" in result.stderr


def test_personal_contacts_are_written_only_on_request(dist, tmp_path, contacts_graph):
    assert not (dist / "contacts.ttl").exists()
    public = (dist / "gfd.ttl").read_text(encoding="utf-8")
    assert not re.search(r"\w@\w", public)  # no e-mail address
    assert "+216 71 56 30 21" not in public and "+33 1 45 24 98 76" not in public
    out = tmp_path / "with"
    result = run_cli("build", "--out", str(out), "--include-personal-contacts")
    assert result.returncode == 0, result.stderr
    parsed = Graph().parse(out / "contacts.ttl", format="turtle")
    assert isomorphic(parsed, contacts_graph)
    assert "khedija.zammouri@pm.gov.tn" in (out / "contacts.ttl").read_text(encoding="utf-8")
    # a later default build removes the earlier copy
    assert run_cli("build", "--out", str(out)).returncode == 0
    assert not (out / "contacts.ttl").exists()


def test_dumps_are_readable_by_everyone(dist):
    assert (dist / "gfd.ttl").stat().st_mode & 0o777 == 0o644


INVALID = sorted((Path(__file__).parent / "invalid-records").glob("*.yaml"))


@pytest.mark.parametrize("case", INVALID, ids=[p.stem for p in INVALID])
def test_records_that_break_a_shape_stop_the_build_with_exit_1(case, data_copy, tmp_path):
    """Records that load but make a graph that violates the shapes: the build prints the
    SHACL report, exits 1 and writes nothing."""
    out = tmp_path / "out"
    expected, _target, result = build_with_extra_record_file(case, data_copy, out)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "does not conform to the shapes" in result.stderr
    assert expected in result.stderr
    assert not out.exists()


def test_validate_the_build(dist):
    result = run_cli("validate", "--out", str(dist))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("Conforms: 0 violations, 1 warnings")
    assert "place:maison-de-l-entreprise schema:telephone" in result.stdout
    assert "+216 860 054" in result.stdout


def test_validate_with_the_reference_engine_gives_the_same_report(dist):
    compiled = run_cli("validate", "--out", str(dist))
    reference = run_cli("validate", "--out", str(dist), "--engine", "pyshacl")
    assert (reference.returncode, reference.stdout) == (compiled.returncode, compiled.stdout)
    assert reference.stdout.startswith("Conforms: 0 violations, 1 warnings")


def test_a_reader_that_stops_reading_gets_no_traceback(dist):
    """``gfd-kg validate | head -0``: the pipe is closed before anything is written."""
    process = subprocess.Popen([sys.executable, "-m", "gfd_kg", "validate", "--out", str(dist)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()
    errors = process.stderr.read().decode()
    assert process.wait(timeout=120) == 141
    assert errors == ""


def test_validate_reports_violations_with_exit_1():
    fixture = Path(__file__).parent / "shapes" / "bad-country-no-alpha3.ttl"
    result = run_cli("validate", str(fixture))
    assert result.returncode == 1
    assert result.stdout.startswith("Does not conform: ")
    assert "Violation: Country" in result.stdout


@pytest.mark.parametrize("content,message", [
    (None, "no such file"),
    ("<a> <b> .", "cannot be parsed as turtle"),
])
def test_validate_bad_input_gives_exit_2(tmp_path, content, message):
    path = tmp_path / "data.ttl"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    result = run_cli("validate", str(path))
    assert result.returncode == 2
    assert str(path) in result.stderr and message in result.stderr
