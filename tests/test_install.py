"""The package as a user gets it: ``pip install .`` (not editable) into a fresh virtual
environment, then ``gfd-kg build``, ``validate``, ``query`` and ``serve`` run from an
empty folder, with nothing of the checkout in sight. The ontology, shapes, queries and
curated data must come from the installed package, and give the checkout's answers."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode
from urllib.request import Request, urlopen

import pytest

from gfd_kg.query import load_query
from gfd_kg.resources import queries_dir
from tests.server import free_port, stop, wait_until_up
from tests.test_cli import run_cli
from tests.test_queries import ANSWERS, expected

ROOT = Path(__file__).resolve().parents[1]
# what a source distribution holds: the package, its data folders, and its metadata
# (the folders are read from pyproject.toml's package-dir, so a new data folder is copied too)
SOURCES = ("pyproject.toml", "README.md", "LICENSE", *sorted(set(tomllib.loads(
    (ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["package-dir"]
    .values())))
BUILD_TIME = "2026-01-01T00:00:00+00:00"  # the same for both builds, so they can be compared
QUERIES = ("person-roles", "talk-countries", "venues")  # one with a bound parameter


@dataclass(frozen=True)
class Installed:
    venv: Path
    work: Path  # the empty folder the commands run in

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(self.venv / "bin" / "gfd-kg"), *args], cwd=self.work,
                              env=_clean_env(), capture_output=True, text=True, timeout=300)

    def python(self, code: str) -> str:
        result = subprocess.run([str(self.venv / "bin" / "python"), "-c", code], cwd=self.work,
                                env=_clean_env(), capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()


def _clean_env() -> dict[str, str]:
    """The environment without what would lead a process back to the checkout."""
    return {k: v for k, v in os.environ.items()
            if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME", "PYTHONSTARTUP")}


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Iterator[Installed]:
    """A fresh venv (no system site-packages) with the package installed from a copy of
    the sources: pip builds in the source folder, so the checkout's ``build/`` (which
    can hold stale files from an older tree) never gets into the wheel."""
    tmp = tmp_path_factory.mktemp("install")
    src = tmp / "src"
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            src.mkdir(exist_ok=True)
            shutil.copy2(path, src / name)
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    result = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
                             "--disable-pip-version-check", str(src)],
                            env=_clean_env(), capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    shutil.rmtree(src)  # the installed package may not lean on its sources
    work = tmp / "work"
    work.mkdir()
    yield Installed(venv, work)


@pytest.fixture(scope="module")
def checkout_dist(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("checkout") / "dist"
    result = run_cli("build", "--out", str(out), "--build-time", BUILD_TIME)
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture(scope="module")
def installed_dist(installed: Installed) -> Path:
    result = installed.run("build", "--out", "dist", "--build-time", BUILD_TIME)
    assert result.returncode == 0, result.stderr
    return installed.work / "dist"


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_the_package_and_its_data_are_imported_from_the_venv(installed):
    found = installed.python("import gfd_kg.resources as r; print(r.__file__); "
                             "print(r.ontology_dir()); print(r.shapes_dir()); "
                             "print(r.queries_dir()); print(r.data_dir())").splitlines()
    assert len(found) == 5
    for path in found:
        assert Path(path).is_relative_to(installed.venv), path
    names = installed.python("import gfd_kg.resources as r; print(' '.join(sorted("
                             "p.name for p in r.queries_dir().glob('*.rq'))))")
    assert names.split() == sorted(p.name for p in queries_dir().glob("*.rq"))


def test_a_source_tree_that_is_not_installed_reads_its_own_folders(tmp_path):
    """``PYTHONPATH=checkout`` with an interpreter that has no gfd-kg installed: the
    folders beside the package are used (resources imports nothing beyond the standard
    library, so the base interpreter can show it)."""
    base = Path(sys.base_prefix) / "bin" / "python3"
    code = ("import gfd_kg.resources as r; print(r.ontology_dir(), r.shapes_dir(), "
            "r.queries_dir(), r.data_dir(), r.templates_dir())")
    result = subprocess.run([str(base), "-c", code], cwd=tmp_path, capture_output=True,
                            text=True, env={**_clean_env(), "PYTHONPATH": str(ROOT)},
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [str(ROOT / n) for n in ("ontology", "shapes", "queries",
                                                             "data", "templates")]


def test_build_from_an_empty_folder_writes_the_checkouts_files(installed_dist, checkout_dist):
    got, want = _files(installed_dist), _files(checkout_dist)
    assert sorted(got) == sorted(want)
    assert [name for name in want if got[name] != want[name]] == []


def test_validate_gives_the_checkouts_report(installed, installed_dist, checkout_dist):
    got = installed.run("validate", "--out", "dist")
    want = run_cli("validate", "--out", str(checkout_dist))
    assert (got.returncode, want.returncode) == (0, 0), got.stderr + want.stderr
    assert got.stdout.startswith("Conforms: 0 violations")
    assert got.stdout == want.stdout


@pytest.mark.parametrize("name", QUERIES)
def test_query_of_the_installed_package_answers_what_the_agenda_says(installed, installed_dist,
                                                                     name):
    header, rows, _ = expected(name)
    folder = Path(installed.python("import gfd_kg.resources as r; print(r.queries_dir())"))
    bind_file = ANSWERS / f"{name}.bind"
    binds = [a for pair in (bind_file.read_text(encoding="utf-8").split()
                            if bind_file.exists() else []) for a in ("--bind", pair)]
    result = installed.run("query", str(folder / f"{name}.rq"), "--out", "dist", "--format",
                           "csv", *binds)
    assert result.returncode == 0, result.stderr
    got = [tuple(r) for r in csv.reader(result.stdout.splitlines())]
    assert got == [header, *rows]
    assert len(rows) > 0


def test_serve_answers_health_pages_and_sparql(installed, installed_dist):
    port = free_port()
    store_tmp = Path(tempfile.mkdtemp(prefix="gfd-kg-test-install-"))
    log = store_tmp / "serve.log"
    with log.open("wb") as out:  # a file, not a pipe nobody reads
        process = subprocess.Popen(
            [str(installed.venv / "bin" / "gfd-kg"), "serve", "--out", "dist", "--host",
             "127.0.0.1", "--port", str(port), "--workers", "1"],
            cwd=installed.work, stdout=out, stderr=subprocess.STDOUT,
            env={**_clean_env(), "TMPDIR": str(store_tmp)}, start_new_session=True)
    process.log_path = str(log)  # type: ignore[attr-defined]  # read by wait_until_up
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base + "/health", process)
        with urlopen(base + "/", timeout=10) as r:
            landing = r.read().decode("utf-8")
        # every example query of the installed package is on the landing page
        examples = sorted(queries_dir().glob("*.rq"))
        assert landing.count("<details") == len(examples)
        header, rows, _ = expected("talk-countries")
        text = load_query(queries_dir() / "talk-countries.rq").text
        ask = Request(f"{base}/sparql?{urlencode({'query': text})}",
                      headers={"Accept": "text/csv"})
        with urlopen(ask, timeout=30) as r:
            got = [tuple(row) for row in csv.reader(r.read().decode("utf-8").splitlines())]
        assert got == [header, *rows]
    finally:
        stop(process)
        shutil.rmtree(store_tmp, ignore_errors=True)
