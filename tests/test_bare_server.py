"""The endpoint benchmark's bare pyoxigraph server (benchmarks/bare_server.py), over real
HTTP on 127.0.0.1: a reference the benchmark compares `gfd-kg serve` with is only fair if
it answers the same, so every competency query must give it the rows `gfd-kg`'s own
engine gives, on the same build."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from benchmarks.endpoint import Server, answer_of, competency_queries
from gfd_kg.publish import dataset_files
from gfd_kg.query import parse_bindings, with_bindings
from gfd_kg.web.store import QueryJob, execute, load_store
from tests.server import build_dist, free_port, wait_until_up

ROOT = Path(__file__).resolve().parent.parent
JSON_RESULTS = "application/sparql-results+json"


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    return build_dist(tmp_path_factory.mktemp("bare") / "dist")


@pytest.fixture(scope="module")
def bare(dist, tmp_path_factory):
    port = free_port()
    log = tmp_path_factory.mktemp("bare-log") / "bare.log"
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "benchmarks" / "bare_server.py"), "--dist", str(dist),
         "--port", str(port)], stdout=log.open("wb"), stderr=subprocess.STDOUT,
        start_new_session=True)
    process.log_path = str(log)  # type: ignore[attr-defined]
    try:
        wait_until_up(f"http://127.0.0.1:{port}/", process)
        yield Server("bare-pyoxigraph", "127.0.0.1", port, "/query")
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)


@pytest.fixture(scope="module")
def store(dist):
    """The store `gfd-kg serve` answers from by default (in memory), without the server."""
    return load_store(dataset_files(dist), None)


def _engine_answer(store, text: str) -> dict:
    job = QueryJob(text, (JSON_RESULTS,), ("text/turtle",), max_rows=10**9)
    return json.loads(execute(store, job).body)


def _solutions(answer: dict) -> list[str]:
    return sorted(json.dumps(row, sort_keys=True) for row in answer["results"]["bindings"])


@pytest.mark.parametrize("name", sorted(competency_queries()))
def test_the_bare_server_answers_every_competency_query_as_gfd_kg(bare, store, name):
    text, pairs = competency_queries()[name]
    text = with_bindings(text, parse_bindings(pairs))
    expected = _engine_answer(store, text)
    got = answer_of(bare, text)
    assert got["head"]["vars"] == expected["head"]["vars"]
    assert _solutions(got) == _solutions(expected)
    assert got["results"]["bindings"], f"{name}: an empty answer compares nothing"


def test_the_bare_server_answers_ask_as_gfd_kg(bare, store):
    for text in ("ASK { ?s a <http://schema.org/Event> }", "ASK { ?s a <urn:no-such-class> }"):
        assert answer_of(bare, text)["boolean"] == _engine_answer(store, text)["boolean"]


def test_the_bare_server_refuses_what_it_does_not_serve(bare):
    construct = "CONSTRUCT%20WHERE%20%7B%20%3Fs%20%3Fp%20%3Fo%20%7D"
    for path, status in (("/query?query=SELECT%20%3Fs%20WHERE%20%7B", 400),
                         (f"/query?query={construct}", 400), ("/sparql", 404)):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"http://{bare.host}:{bare.port}{path}", timeout=10)
        assert refused.value.code == status
