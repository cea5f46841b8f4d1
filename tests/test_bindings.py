"""``gfd-kg query --bind NAME=VALUE`` refuses what it cannot do: a name that is not a
variable the query binds, a value that is neither an IRI nor a literal as written. The
cases are the lines of tests/query-bindings.tsv; a few run through the command line too."""

from __future__ import annotations

import csv
import re
from functools import partial
from pathlib import Path

import pytest
from rdflib import URIRef

from gfd_kg.iris import IRIs
from gfd_kg.query import (
    QueryError,
    load_dataset,
    load_query,
    parse_bindings,
    pattern_variables,
    select,
    with_bindings,
)
from gfd_kg.resources import queries_dir
from tests.server import build_dist
from tests.test_cli import run_cli
from tests.test_queries import expected

CASES_FILE = Path(__file__).parent / "query-bindings.tsv"


def _cases() -> list[tuple[str, str, list[str]]]:
    with CASES_FILE.open(encoding="utf-8", newline="") as f:
        lines = [line for line in f if not line.startswith("#")]
    rows = list(csv.reader(lines, delimiter="\t", quoting=csv.QUOTE_NONE))
    assert rows[0] == ["query", "outcome", "bind"]
    return [(r[0], r[1], r[2:]) for r in rows[1:]]


CASES = _cases()


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    return build_dist(tmp_path_factory.mktemp("bindings") / "dist")


@pytest.fixture(scope="module")
def dataset(dist):
    return load_dataset([dist / "gfd.trig"])


def test_the_table_has_both_outcomes_and_real_queries():
    assert {o[0] for _q, o, _b in CASES} == {"=", "!"}
    assert all((queries_dir() / f"{q}.rq").is_file() for q, _o, _b in CASES)


@pytest.mark.parametrize("query,outcome,pairs", CASES,
                         ids=[f"{q}:{' '.join(b)}" for q, _o, b in CASES])
def test_bind(dataset, query, outcome, pairs):
    """What `gfd-kg query` does with the pairs (cli.cmd_query makes the same call)."""
    text = load_query(queries_dir() / f"{query}.rq").text
    bind = partial(parse_bindings, pairs, IRIs().prefixes_text(), query=text,
                   run=lambda q: select(dataset, q))
    kind, want = outcome[0], outcome[2:]
    if kind == "=":
        bindings = bind()
        name = pairs[-1].partition("=")[0].lstrip("?$")
        assert bindings[name].n3() == want
        select(dataset, text, bindings)  # and the query runs with it
    else:
        with pytest.raises(QueryError) as e:
            bind()
        assert want in str(e.value)


# (query, the variables a VALUES clause after it can constrain, in the query's order)
PATTERNS = [
    ("SELECT ?a WHERE { ?a <p> ?b OPTIONAL { ?b <q> ?c } }", ("a", "b", "c")),
    ("SELECT * WHERE { ?a <p> ?b FILTER (?z > 1) }", ("a", "b")),  # ?z only in a FILTER
    ("SELECT * WHERE { ?a <p> ?b MINUS { ?a <q> ?m } }", ("a", "b")),
    ("SELECT * WHERE { ?a <p> ?b FILTER NOT EXISTS { ?a <q> ?e } }", ("a", "b")),
    ("SELECT * WHERE { ?a <p> ?b BIND (STR(?b) AS ?s) }", ("a", "b", "s")),
    ("SELECT * WHERE { { SELECT ?a WHERE { ?a <p> ?hidden } } }", ("a",)),
    ("SELECT * WHERE { { SELECT * WHERE { ?a <p> ?b } } }", ("a", "b")),
    ("SELECT * WHERE { GRAPH ?g { ?a <p> [ <q> ?c ] } VALUES ?v { 1 } }", ("g", "a", "c", "v")),
    # the block goes inside the WHERE group: it constrains the pattern before grouping
    ("SELECT ?a (COUNT(?b) AS ?n) WHERE { ?a <p> ?b } GROUP BY ?a", ("a", "b")),
    ("SELECT ?k (COUNT(?b) AS ?n) WHERE { ?a <p> ?b } GROUP BY (STR(?a) AS ?k)", ("a", "b")),
    ("SELECT (COUNT(*) AS ?n) WHERE { ?a <p> ?b }", ("a", "b")),
    ("ASK { ?a <p> ?b }", ("a", "b")),
    ("CONSTRUCT { ?a <q> ?x } WHERE { ?a <p> ?b }", ("a", "b")),
    ("DESCRIBE <urn:a>", ()),
]


@pytest.mark.parametrize("query,names", PATTERNS, ids=[q for q, _ in PATTERNS])
def test_the_variables_a_binding_can_constrain(query, names):
    assert pattern_variables(query) == names


def test_a_query_with_a_values_clause_after_it_is_not_given_a_second():
    text = "SELECT ?s WHERE { ?s ?p ?o } VALUES ?s { <urn:a> }"
    bindings = parse_bindings(["s=<urn:b>"], query=text)
    with pytest.raises(QueryError, match="ends with a VALUES clause of its own"):
        with_bindings(text, bindings)


def test_without_the_query_a_name_is_not_checked_and_iris_still_parse():
    """benchmarks/endpoint.py and load.py bind without the query, and keep working."""
    assert parse_bindings(["nobody=person:salem-al-shair"]) == {
        "nobody": URIRef("https://w3id.org/gfd-kg/person/salem-al-shair")}


def test_prefixes_follow_the_base():
    other = IRIs("http://example.org/gfd/").prefixes_text()
    assert parse_bindings(["p=person:x"], other) == {"p": URIRef("http://example.org/gfd/person/x")}


# --- the command line: what a user of the issue ran ----------------------------------

def test_a_misspelt_name_is_exit_2_naming_the_variables(dist):
    result = run_cli("query", "queries/person-roles.rq", "--out", str(dist),
                     "--bind", "persn=https://w3id.org/gfd-kg/person/salem-al-shair")
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.startswith(
        "gfd-kg: error: --bind 'persn=https://w3id.org/gfd-kg/person/salem-al-shair': ?persn "
        "is not a variable of the query (did you mean ?person?); its variables: ?person, ")


def test_a_bare_id_is_exit_2_with_the_iri_it_may_mean(dist):
    result = run_cli("query", "queries/person-roles.rq", "--out", str(dist),
                     "--bind", "person=salem-al-shair")
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        "gfd-kg: error: --bind 'person=salem-al-shair': 'salem-al-shair' is a bare id, not an "
        "IRI; did you mean <https://w3id.org/gfd-kg/person/salem-al-shair> (write "
        "person=person:salem-al-shair)?\n")


@pytest.mark.parametrize("value", ["person:salem-al-shair",
                                   "<https://w3id.org/gfd-kg/person/salem-al-shair>"])
def test_a_prefixed_name_gives_the_person_s_roles(dist, value):
    header, rows, _ = expected("person-roles")
    result = run_cli("query", "queries/person-roles.rq", "--out", str(dist),
                     "--bind", f"person={value}", "--format", "csv")
    assert result.returncode == 0, result.stderr
    got = [tuple(r) for r in csv.reader(result.stdout.splitlines())]
    assert got == [header, *rows] and len(rows) == 5


def test_the_prefixes_are_those_of_the_base_given(dist):
    """A build under another base is queried with --base, as it was built."""
    result = run_cli("query", "queries/person-roles.rq", "--out", str(dist), "--base",
                     "http://example.org/gfd/", "--bind", "person=person:salem-al-shair")
    assert result.returncode == 0, result.stderr
    assert result.stdout.rstrip().endswith("(0 rows)")  # the build is under w3id.org


def test_the_readme_lists_the_dataset_s_prefixes_and_the_options_of_query():
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    listed = re.search(r"with a prefix of the dataset \(`([^`]+)`\)", readme)
    assert listed is not None
    assert sorted(listed.group(1).split()) == sorted(IRIs().prefixes())
    summary = re.search(r"^gfd-kg query .*?(?=^gfd-kg serve)", readme, re.M | re.S)
    assert summary is not None
    usage = run_cli("query", "--help").stdout.split("\n\n")[0]  # argparse's usage lines
    options = set(re.findall(r"--[a-z-]+", usage))
    assert options == set(re.findall(r"--[a-z-]+", summary.group(0)))
    assert {"--bind", "--format", "--out", "--base", "--endpoint", "--timeout"} <= options
