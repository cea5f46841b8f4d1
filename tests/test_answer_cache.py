"""The answer cache of the query pool (gfd_kg/store.py): an answer given again is the same
bytes as the first; every input that changes an answer (query text, acceptable media types,
dataset parameters, limits) is part of the key; it stays within its bounds; only refusals
that depend on the query alone are kept."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from gfd_kg.store import (AnswerCache, Limits, QueryAnswer, QueryFailed, QueryJob, QueryPool,
                          load_store)

JSON = ("application/sparql-results+json",)
CSV = ("text/csv",)
DATA = """
@prefix s: <http://schema.org/> .
<urn:g:a> { <urn:p1> a s:Person ; s:name "Ada" . }
<urn:g:b> { <urn:p2> a s:Person ; s:name "Bea" . <urn:p3> a s:Person ; s:name "Cy" . }
"""
NAMES = "SELECT ?n WHERE { ?p <http://schema.org/name> ?n } ORDER BY ?n"
# 10^9 solutions to count: far past any time limit of these tests
RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { " + " ".join(
    f"VALUES ?v{i} {{ 0 1 2 3 4 5 6 7 8 9 }}" for i in range(9)) + " }"


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("cache")
    (folder / "data.trig").write_text(DATA, encoding="utf-8")
    store = folder / "store"
    load_store([folder / "data.trig"], store)
    return store


def run(store_dir: Path, jobs: list[QueryJob], limits: Limits | None = None
        ) -> tuple[list[QueryAnswer | QueryFailed], QueryPool]:
    """Each job in turn on a fresh pool; the answers (or refusals) and the pool."""
    pool = QueryPool(store_dir, limits or Limits(workers=2, timeout=2))

    async def main() -> list[QueryAnswer | QueryFailed]:
        await pool.start()
        out: list[QueryAnswer | QueryFailed] = []
        try:
            for job in jobs:
                try:
                    out.append(await pool.run(job, "client"))
                except QueryFailed as e:
                    out.append(e)
        finally:
            pool.stop()
        return out

    return asyncio.run(main()), pool


def job(query: str = NAMES, types: tuple[str, ...] = JSON, **kw) -> QueryJob:
    return QueryJob(query=query, result_types=types, graph_types=("text/turtle",), **kw)


def test_an_answer_given_again_is_the_same_bytes(store_dir):
    (first, second), pool = run(store_dir, [job(), job()])
    assert isinstance(first, QueryAnswer) and isinstance(second, QueryAnswer)
    assert second.body == first.body and second.media_type == first.media_type
    assert b'"Ada"' in first.body and b'"Cy"' in first.body
    assert len(pool.cache) == 1


def test_media_types_dataset_and_limits_are_part_of_the_key(store_dir):
    jobs = [job(), job(types=CSV), job(default_graphs=("urn:g:a",)),
            job(named_graphs=("urn:g:b",), union_default=False), job(max_rows=1),
            job(query=NAMES + " LIMIT 1")]
    answers, pool = run(store_dir, jobs + jobs)
    first, again = answers[:len(jobs)], answers[len(jobs):]
    assert len(pool.cache) == len(jobs)
    for a, b in zip(first, again):
        assert type(a) is type(b)
        if isinstance(a, QueryAnswer):
            assert a.body == b.body and a.media_type == b.media_type
    json_all, csv_all, graph_a, no_default, too_many, limited = first
    assert csv_all.media_type == "text/csv" and csv_all.body == b"n\r\nAda\r\nBea\r\nCy\r\n"
    assert b'"Ada"' in graph_a.body and b'"Bea"' not in graph_a.body
    assert b'"bindings":[]' in no_default.body  # the store's default graph is empty
    assert isinstance(too_many, QueryFailed) and too_many.status == 413
    assert b'"Ada"' in limited.body and b'"Bea"' not in limited.body


def test_refusals_of_the_query_are_kept_time_limits_are_not(store_dir):
    bad = job(query="SELECT ?x WHERE { ?x ?y ")
    slow = job(query=RUNAWAY)
    # the first job gives the fresh workers time to start, under any limit
    answers, pool = run(store_dir, [job(), bad, bad, slow], Limits(workers=2, timeout=3))
    assert [getattr(a, "status", 200) for a in answers] == [200, 400, 400, 503]
    assert str(answers[1]) == str(answers[2])
    assert pool.cache.get(bad) is not None
    assert pool.cache.get(slow) is None


def test_a_refused_service_query_is_refused_again_from_the_cache(store_dir):
    q = job(query="SELECT * WHERE { SERVICE <http://127.0.0.1:1/x> { ?s ?p ?o } }")
    answers, pool = run(store_dir, [q, q])
    assert [a.status for a in answers] == [400, 400]
    assert all("SERVICE" in str(a) for a in answers)


def _answer(n: int) -> QueryAnswer:
    return QueryAnswer("text/csv", b"x" * n, "solutions")


def test_the_cache_keeps_at_most_its_entries_least_recently_used_out_first():
    cache = AnswerCache(max_entries=2, max_bytes=10**6)
    a, b, c = job(query="ASK {}"), job(query="ASK { ?s ?p ?o }"), job(query="ASK { ?s a ?o }")
    cache.put(a, _answer(1))
    cache.put(b, _answer(1))
    assert cache.get(a) is not None  # a is now the most recently used
    cache.put(c, _answer(1))
    assert len(cache) == 2
    assert cache.get(b) is None and cache.get(a) is not None and cache.get(c) is not None


def test_the_cache_keeps_at_most_its_bytes():
    cache = AnswerCache(max_entries=100, max_bytes=5_000)
    jobs = [job(query=f"ASK {{ ?s ?p {n} }}") for n in range(10)]
    for j in jobs:
        cache.put(j, _answer(1_000))
    assert cache.size <= 5_000
    assert 0 < len(cache) < 10
    assert cache.get(jobs[-1]) is not None and cache.get(jobs[0]) is None
    cache.put(job(query="ASK { ?big ?p ?o }"), _answer(10_000))  # more than the whole cache
    assert cache.get(job(query="ASK { ?big ?p ?o }")) is None
    assert cache.size == sum(1_000 + len(j.query) + 256 for j in jobs if cache.get(j))


def test_crowding_and_faults_are_not_kept():
    cache = AnswerCache()
    for status in (429, 500, 503):
        cache.put(job(query=f"ASK {{ ?s ?p {status} }}"), QueryFailed(status, "later"))
    assert len(cache) == 0


def test_a_cache_of_no_entries_keeps_nothing():
    cache = AnswerCache(max_entries=0)
    cache.put(job(), _answer(1))
    assert len(cache) == 0 and cache.get(job()) is None


def test_a_new_pool_starts_with_an_empty_cache(store_dir):
    _, pool = run(store_dir, [job()])
    assert len(pool.cache) == 1
    assert len(QueryPool(store_dir, Limits()).cache) == 0

