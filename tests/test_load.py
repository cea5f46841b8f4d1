"""`gfd-kg serve` under load, over real HTTP on 127.0.0.1: a small run of the benchmark's
mix (benchmarks/load.py: pages, IRIs as Turtle and JSON-LD, downloads, VoID, the
competency queries by GET and POST) sent twice, 16 at a time. Every request must succeed,
and the server's memory must stay flat between the two identical runs."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from tests.server import build_dist

ROOT = Path(__file__).resolve().parent.parent
REQUESTS = 600
CONCURRENCY = 16
MAX_GROWTH_PERCENT = 15.0  # VmRSS after run 2 over after run 1, server and workers together
TIME_LIMIT = 20.0  # seconds per run; requests not sent by then count as failed


def _load_module():
    spec = importlib.util.spec_from_file_location("gfd_kg_benchmark_load",
                                                  ROOT / "benchmarks" / "load.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


load = _load_module()


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    return build_dist(tmp_path_factory.mktemp("load") / "dist")


@pytest.fixture(scope="module")
def result(dist):
    return load.benchmark(dist, REQUESTS, CONCURRENCY, warmup=50, time_limit=TIME_LIMIT)


def test_the_mix_is_fixed_and_covers_every_kind(dist):
    cat = load.catalogue(dist)
    first, again = load.mix(cat, REQUESTS), load.mix(cat, REQUESTS)
    assert first == again
    assert {r.kind for r in first} == set(load.MIX)
    asked = {r.label for r in first if r.kind.startswith("sparql")}
    assert asked == {name for name, _ in cat.queries}, "every competency query is sent"
    bound = dict(cat.queries)["person-roles"]
    assert "VALUES (?person) { (<https://w3id.org/gfd-kg/person/salem-al-shair>) }" in bound


def test_every_request_succeeds_under_load(result):
    for run in result.runs:
        assert run.sent == REQUESTS, f"only {run.sent} sent within {TIME_LIMIT:g} s"
        assert run.errors == 0, (f"{run.errors} failed:\n{load.table(run)}\n"
                                 + "\n".join(map(str, run.error_samples)))
        assert set(run.kinds) == set(load.MIX)


def test_memory_is_flat_over_a_second_identical_run(result):
    assert result.growth_run1_to_run2_percent < MAX_GROWTH_PERCENT, result.memory_line()
    roles = [p.role for p in result.memory["after run 2"].processes]
    assert roles.count("worker") >= 2, f"the query workers were not measured: {roles}"
