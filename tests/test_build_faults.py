"""Faults in the build: killed mid-way, out of space. The previous dist/ stays whole and
servable; the error says what happened; nothing half-written is left."""

from __future__ import annotations

import hashlib
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from gfd_kg.synth import synthesise
from tests.conftest import DATA
from tests.server import CLIENT_LIMITS, build_dist, running_server
from tests.test_cli import run_cli


def _verify(dist: Path) -> dict[str, str]:
    """Every file of dist/ matches SHA256SUMS, and nothing else is there."""
    listed = dict(reversed(line.split("  ", 1)) for line in
                  (dist / "SHA256SUMS").read_text(encoding="utf-8").splitlines())
    on_disk = {str(p.relative_to(dist)) for p in dist.rglob("*") if p.is_file()} - {"SHA256SUMS"}
    assert set(listed) == on_disk
    for name, digest in listed.items():
        assert hashlib.sha256((dist / name).read_bytes()).hexdigest() == digest, name
    return listed


@pytest.fixture(scope="module")
def built_once(tmp_path_factory) -> Path:
    return build_dist(tmp_path_factory.mktemp("faults") / "dist")


@pytest.fixture
def dist(built_once, tmp_path) -> Path:
    shutil.copytree(built_once, tmp_path / "dist")
    return tmp_path / "dist"


LATER_BUILD = ("--build-time", "2030-01-01T00:00:00+00:00")


@pytest.fixture(scope="module")
def later_build(built_once, tmp_path_factory) -> dict[str, str]:
    """What the killed build would have published, had it finished: a build over the
    same previous dist/ (a release notes what it replaces, so not over an empty folder)."""
    out = tmp_path_factory.mktemp("later") / "dist"
    shutil.copytree(built_once, out)
    assert run_cli("build", "--out", str(out), *LATER_BUILD).returncode == 0
    return _verify(out)


# The build takes about a second, most of it starting Python: kills before, during and
# after its stages (a kill after the swap, before the process exits, leaves the new dist).
@pytest.mark.parametrize("delay", [0.4, 0.8, 1.2])
def test_a_build_killed_midway_leaves_the_previous_dist_whole(dist, delay, later_build):
    before = _verify(dist)
    process = subprocess.Popen(
        [sys.executable, "-m", "gfd_kg", "build", "--out", str(dist), *LATER_BUILD],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(delay)  # the moment of the kill, not a wait for readiness
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    after = _verify(dist)  # either the old build or the new one, whole
    assert after in (before, later_build)
    assert before != later_build  # the build time differs, so the two can be told apart
    # the next build cleans what the killed one left and succeeds
    assert run_cli("build", "--out", str(dist)).returncode == 0
    _verify(dist)
    assert [p.name for p in dist.parent.iterdir() if p.name.startswith(".dist.")] == []


def _limit_file_size() -> None:
    """Make writes past 64 KiB fail as on a full disk (EFBIG instead of a signal)."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))


@pytest.fixture(scope="module")
def two_seminars(tmp_path_factory) -> Path:
    return synthesise(DATA, 2, tmp_path_factory.mktemp("two") / "data")


# the real seminar is written by one process; two seminars with --jobs 2 by two forked
# ones, and the failed write in a worker must end the same way
@pytest.mark.parametrize("two", [False, True], ids=["one process", "two processes"])
def test_a_full_disk_gives_a_clear_error_and_keeps_the_previous_dist(dist, two, request):
    before = _verify(dist)
    more = ["--data", str(request.getfixturevalue("two_seminars")), "--jobs", "2"] if two else []
    result = subprocess.run([sys.executable, "-m", "gfd_kg", "build", "--out", str(dist), *more],
                            capture_output=True, text=True, timeout=300,
                            preexec_fn=_limit_file_size)
    assert result.returncode == 3, result.stderr
    assert "cannot write the build (File too large)" in result.stderr
    assert "previous build" in result.stderr
    assert "Traceback" not in result.stderr
    assert _verify(dist) == before
    assert [p.name for p in dist.parent.iterdir() if p.name.startswith(".dist.")] == []


def test_the_server_keeps_serving_while_a_build_replaces_dist(dist):
    """The server answers from its own copy of the build: a rebuild (here, one that
    fails and one that succeeds) does not disturb it."""
    with running_server("--out", str(dist)) as base, \
            httpx.Client(limits=CLIENT_LIMITS, base_url=base, timeout=10) as c:
        assert c.get("/person/khedija-zammouri.ttl").status_code == 200
        (dist / "gfd.trig").write_text("garbage", encoding="utf-8")  # a broken file under it
        assert run_cli("build", "--out", str(dist)).returncode == 0
        r = c.get("/person/khedija-zammouri.ttl")
        assert r.status_code == 200 and "Khedija Zammouri" in r.text
        q = c.get("/sparql", params={"query": "ASK { ?s ?p ?o }"},
                  headers={"Accept": "application/sparql-results+json"})
        assert q.json()["boolean"] is True


def _interruptible() -> None:
    """Ctrl-C as at a terminal, also where the test runner runs with SIGINT ignored."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_in_a_build_says_so_and_leaves_nothing(two_seminars, tmp_path):
    """Ctrl-C reaches the build and its two workers (one process group, as at a terminal)
    once the records are loaded: one line, exit 130, no traceback, no folder, no process."""
    out = tmp_path / "dist"
    process = subprocess.Popen(
        [sys.executable, "-m", "gfd_kg", "build", "--data", str(two_seminars), "--out",
         str(out), "--jobs", "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True, preexec_fn=_interruptible)
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("records"):  # the seminars' stage begins
            break
    os.killpg(process.pid, signal.SIGINT)
    _rest, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert err.strip().splitlines()[-1] == (
        f"gfd-kg: interrupted; {out} is as it was, nothing half-written is left")
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ProcessLookupError):  # the workers are gone with it
        os.killpg(process.pid, 0)
