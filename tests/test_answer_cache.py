"""The answer cache of the query engine (gfd_kg/store.py): an answer given again is the same
bytes as the first; every input that changes an answer (query text, acceptable media types,
dataset parameters, limits) is part of the key; it stays within its bounds; only refusals
that depend on the query alone are kept."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
import pytest

from gfd_kg.store import (AnswerCache, Limits, QueryAnswer, QueryEngine, QueryFailed, QueryJob,
                          load_store)

JSON = ("application/sparql-results+json",)
CSV = ("text/csv",)
DATA = """
@prefix s: <http://schema.org/> .
<urn:g:a> { <urn:p1> a s:Person ; s:name "Ada" . }
<urn:g:b> { <urn:p2> a s:Person ; s:name "Bea" . <urn:p3> a s:Person ; s:name "Cy" . }
"""
NAMES = "SELECT ?n WHERE { ?p <http://schema.org/name> ?n } ORDER BY ?n"


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("cache")
    (folder / "data.trig").write_text(DATA, encoding="utf-8")
    store = folder / "store"
    load_store([folder / "data.trig"], store)
    return store


def run(store_dir: Path, jobs: list[QueryJob], limits: Limits | None = None
        ) -> tuple[list[QueryAnswer | QueryFailed], QueryEngine]:
    """Each job in turn on a fresh engine; the answers (or refusals) and the engine."""
    engine = QueryEngine(ox.Store.read_only(str(store_dir)), limits or Limits(timeout=2))
    out: list[QueryAnswer | QueryFailed] = []
    for job in jobs:
        try:
            out.append(engine.ask(job, "client"))
        except QueryFailed as e:
            out.append(e)
    return out, engine


def job(query: str = NAMES, types: tuple[str, ...] = JSON, **kw) -> QueryJob:
    return QueryJob(query=query, result_types=types, graph_types=("text/turtle",), **kw)


def test_an_answer_given_again_is_the_same_bytes(store_dir):
    (first, second), engine = run(store_dir, [job(), job()])
    assert isinstance(first, QueryAnswer) and isinstance(second, QueryAnswer)
    assert second.body == first.body and second.media_type == first.media_type
    assert b'"Ada"' in first.body and b'"Cy"' in first.body
    assert len(engine.cache) == 1


def test_media_types_dataset_and_limits_are_part_of_the_key(store_dir):
    jobs = [job(), job(types=CSV), job(default_graphs=("urn:g:a",)),
            job(named_graphs=("urn:g:b",), union_default=False), job(max_rows=1),
            job(query=NAMES + " LIMIT 1")]
    answers, engine = run(store_dir, jobs + jobs)
    first, again = answers[:len(jobs)], answers[len(jobs):]
    assert len(engine.cache) == len(jobs)
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


def test_refusals_of_the_query_are_kept(store_dir):
    bad = job(query="SELECT ?x WHERE { ?x ?y ")
    unknown = job(query="SELECT ?x WHERE { BIND(<urn:no:such-function>(1) AS ?x) }")
    answers, engine = run(store_dir, [job(), bad, bad, unknown, unknown])
    assert [getattr(a, "status", 200) for a in answers] == [200, 400, 400, 400, 400]
    assert str(answers[1]) == str(answers[2]) and "does not parse" in str(answers[1])
    assert str(answers[3]) == str(answers[4])
    assert engine.cache.get(bad) is not None and engine.cache.get(unknown) is not None


def test_a_query_too_long_is_refused_before_the_cache(store_dir):
    long = job(query="ASK {} #" + "é" * 60)  # 62 characters, 122 bytes
    answers, engine = run(store_dir, [long, long], Limits(max_query_bytes=100))
    assert [a.status for a in answers] == [413, 413]
    assert "longer than 100 bytes" in str(answers[0])
    assert len(engine.cache) == 0


def test_a_client_past_its_share_is_refused_and_its_counts_come_back(store_dir):
    engine = QueryEngine(ox.Store.read_only(str(store_dir)), Limits(workers=2, max_per_client=2))
    first, second = engine.admit(job(), "a"), engine.admit(job(), "a")
    with pytest.raises(QueryFailed) as refused:
        engine.admit(job(), "a")
    assert refused.value.status == 429
    other = engine.admit(job(), "b")  # another client is counted apart
    assert engine.may_start(first) and not engine.may_start(second)  # workers - 1 = 1 running
    assert engine.may_start(other)
    answer = engine.run(first)
    assert isinstance(answer, QueryAnswer) and b'"Ada"' in answer.body
    for ticket in (first, other):
        engine.release(ticket)
    assert engine.may_start(second)  # a's first query is done: the second may run
    engine.release(second)
    assert [engine.admit(job(), "a") for _ in range(2)]  # and a may send two again


def test_a_refused_service_query_is_refused_again_from_the_cache(store_dir):
    q = job(query="SELECT * WHERE { SERVICE <http://127.0.0.1:1/x> { ?s ?p ?o } }")
    answers, _ = run(store_dir, [q, q])
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


def test_a_new_engine_starts_with_an_empty_cache(store_dir):
    _, engine = run(store_dir, [job()])
    assert len(engine.cache) == 1
    assert len(QueryEngine(ox.Store.read_only(str(store_dir)), Limits()).cache) == 0

