"""Every query of queries/ answers what the agenda says, on the built dataset as
`gfd-kg query` loads it (dist/gfd.trig). The expected answers in tests/query-answers/
were written from the agenda, not copied from query output."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from gfd_kg.query import load_dataset, load_query, parse_bindings, select, with_bindings
from gfd_kg.resources import queries_dir
from tests.server import build_dist
from tests.test_cli import run_cli

ANSWERS = Path(__file__).parent / "query-answers"
QUERIES = sorted(queries_dir().glob("*.rq"))


def expected(name: str) -> tuple[tuple[str, ...], list[tuple[str, ...]], dict]:
    with (ANSWERS / f"{name}.csv").open(encoding="utf-8", newline="") as f:
        rows = [tuple(r) for r in csv.reader(f)]
    bind_file = ANSWERS / f"{name}.bind"
    pairs = bind_file.read_text(encoding="utf-8").split() if bind_file.exists() else []
    return rows[0], rows[1:], parse_bindings(pairs)


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    return build_dist(tmp_path_factory.mktemp("queries") / "dist")


@pytest.fixture(scope="module")
def dataset(dist):
    return load_dataset([dist / "gfd.trig"])


def test_there_are_at_least_17_queries_each_with_its_answer():
    assert len(QUERIES) >= 17
    assert sorted(q.stem for q in QUERIES) == sorted(p.stem for p in ANSWERS.glob("*.csv"))


@pytest.mark.parametrize("path", QUERIES, ids=[q.stem for q in QUERIES])
def test_query_file_says_what_it_answers_and_why(path):
    q = load_query(path)
    assert len(q.title) > 10
    assert len(q.why.split()) >= 8, "say in a sentence why a researcher asks it"


@pytest.mark.parametrize("path", QUERIES, ids=[q.stem for q in QUERIES])
def test_query_answer_matches_the_agenda(path, dataset):
    header, rows, bindings = expected(path.stem)
    table = select(dataset, load_query(path).text, bindings)
    assert table.variables == header
    assert list(table.rows) == rows


def test_cli_runs_a_query_file_with_a_bound_parameter(dist):
    header, rows, _ = expected("person-roles")
    bind = (ANSWERS / "person-roles.bind").read_text(encoding="utf-8").split()[0]
    result = run_cli("query", "queries/person-roles.rq", "--out", str(dist), "--bind", bind,
                     "--format", "csv")
    assert result.returncode == 0, result.stderr
    got = list(csv.reader(result.stdout.splitlines()))
    assert [tuple(r) for r in got] == [header, *rows]


def test_cli_json_results(dist):
    result = run_cli("query", "SELECT ?n WHERE { ?p <http://schema.org/name> ?n }",
                     "--out", str(dist), "--format", "json",
                     "--bind", "p=https://w3id.org/gfd-kg/person/tim-young")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["head"]["vars"] == ["n"]
    assert doc["results"]["bindings"] == [{"n": {"type": "literal", "value": "Tim Young"}}]


def test_cli_query_text_longer_than_a_file_name(dist):
    """A query given as text, longer than the system's file names: run, not taken for a
    file (it was an OSError: File name too long)."""
    text = ("SELECT ?n WHERE { ?p <http://schema.org/name> ?n }  # " + "x" * 300)
    result = run_cli("query", text, "--out", str(dist), "--format", "json",
                     "--bind", "p=https://w3id.org/gfd-kg/person/tim-young")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["results"]["bindings"] == [
        {"n": {"type": "literal", "value": "Tim Young"}}]


def test_cli_table_and_ask(dist):
    result = run_cli("query", "ASK { ?s a <https://w3id.org/gfd-kg/ontology/Seminar> }",
                     "--out", str(dist))
    assert (result.returncode, result.stdout.strip()) == (0, "true")
    result = run_cli("query", "queries/talk-countries.rq", "--out", str(dist))
    assert result.returncode == 0
    assert result.stdout.splitlines()[0].split() == ["talk", "title", "country", "iso3"]
    assert result.stdout.rstrip().endswith("(14 rows)")


def test_a_bound_value_cannot_inject_sparql(dist):
    """A value is an RDF term with its own escaping, never query text."""
    evil = '"x" } UNION { ?p ?q ?n } #"'  # a quoted literal: the text between the quotes
    result = run_cli("query", "SELECT ?p WHERE { ?p <http://schema.org/name> ?n }",
                     "--out", str(dist), "--bind", f"n={evil}", "--format", "csv")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines() == ["p"]  # no person has that name: no rows


@pytest.mark.parametrize("query", [
    "SELECT ?n WHERE { ?p <http://schema.org/name> ?n } ORDER BY ?n",
    # braces in a string, a long string and comments, a "#" in an IRI, are not the group's
    "# a comment with a } and an apostrophe's\n"
    "SELECT ?n WHERE { ?p <http://schema.org/name> ?n\n"
    "  FILTER (?n != \"}\" && ?n != \'\'\'x}\'\'\' && ?p != <http://e.org/#x>) } # }\n"
    "ORDER BY ?n",
    "SELECT ?n WHERE { { SELECT ?p ?n WHERE { ?p <http://schema.org/name> ?n } } }",
])
def test_a_bound_variable_is_bound_inside_the_where_group(dataset, query):
    """Before the group's closing brace, so that a parameter the query does not select is
    bound (a trailing VALUES is joined after the projection by Virtuoso)."""
    bindings = parse_bindings(["p=https://w3id.org/gfd-kg/person/tim-young"])
    text = with_bindings(query, bindings)
    assert text.index("VALUES") < text.rindex("}")
    assert select(dataset, query, bindings).rows == (("Tim Young",),)


@pytest.mark.parametrize("args,code,message", [
    (["SELECT ?x WHERE { ?x ?y }"], 2, "does not parse"),
    (["queries/no-such-query.rq"], 2, "cannot read the query"),
    (["SELECT * WHERE { ?s ?p ?o }", "--bind", "no equals sign"], 2, "write name=value"),
    (["SELECT * WHERE { ?s ?p ?o } LIMIT 1", "--endpoint", "http://127.0.0.1:9/sparql"], 4,
     "cannot be reached"),
])
def test_cli_query_errors(dist, args, code, message):
    result = run_cli("query", *args, "--out", str(dist))
    assert result.returncode == code, result.stdout + result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
