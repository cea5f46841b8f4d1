"""One download answers everything: ``gfd-all.ttl`` holds the triples the endpoint's default
graph holds (``gfd-all.nt`` too), and every query of queries/, run on that one file loaded
alone as a user would load it, into rdflib, pyoxigraph or Comunica, gives the rows
`gfd-kg serve` gives, term for term (and in order, but for Comunica: see
ORDERS_ON_FIRST_KEY_ONLY), and the agenda's answers of tests/query-answers/. Comunica
(JavaScript) is installed by scripts/npm-deps.sh and runs all the queries in one process
(tests/comunica_select.mjs)."""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import BNode, Dataset, Graph, Literal, URIRef
from rdflib.compare import isomorphic
from rdflib.query import ResultRow
from rdflib.term import Node

from gfd_kg.iris import DCAT, VOID
from gfd_kg.publish import ALL_NTRIPLES, ALL_TURTLE
from gfd_kg.query import load_query, with_bindings
from gfd_kg.resources import queries_dir
from tests.server import build_dist, running_server
from tests.test_queries import expected

ROOT = Path(__file__).parent.parent
COMUNICA_SCRIPT = Path(__file__).parent / "comunica_select.mjs"
COMUNICA_PACKAGE = ROOT / "node_modules" / "@comunica" / "query-sparql-file"
QUERIES = sorted(queries_dir().glob("*.rq"))
ENGINES = ("rdflib", "pyoxigraph", "comunica")
# Comunica 4's ORDER BY sorts once per key, the last key first, each time by a binary
# insertion that puts a row among its equals at no fixed place (not a stable sort:
# node_modules/@comunica/actor-query-operation-orderby/lib/SortIterator.js), so only the
# first key orders its rows: their order is not compared, the rows are.
ORDERS_ON_FIRST_KEY_ONLY = ("comunica",)
XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
RDF_LANG_STRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"

# a term as every engine's answer is compared: ("uri", iri), ("bnode", "") (labels are each
# engine's own), ("literal", lexical form, language, datatype)
Term = tuple[str, ...]
Answer = tuple[tuple[str, ...], list[tuple[Term | None, ...]]]  # variables, rows


def query_text(path: Path) -> str:
    """The query as the query tests run it: with their bindings, as a VALUES clause."""
    _header, _rows, bindings = expected(path.stem)
    return with_bindings(load_query(path).text, bindings)


def literal(value: str, language: str | None, datatype: str | None) -> Term:
    if language:
        return ("literal", value, language.lower(), RDF_LANG_STRING)
    return ("literal", value, "", datatype or XSD_STRING)


def from_json(doc: dict) -> Answer:
    """SPARQL 1.1 Query Results JSON, as the server and Comunica write it."""
    if "boolean" in doc:
        return (), [(("boolean", str(bool(doc["boolean"]))),)]
    variables = tuple(doc["head"]["vars"])

    def term(t: dict | None) -> Term | None:
        if t is None:
            return None
        if t["type"] == "uri":
            return ("uri", t["value"])
        if t["type"] == "bnode":
            return ("bnode", "")
        assert t["type"] in ("literal", "typed-literal"), t
        return literal(t["value"], t.get("xml:lang"), t.get("datatype"))

    return variables, [tuple(term(b.get(v)) for v in variables)
                       for b in doc["results"]["bindings"]]


def from_rdflib(graph: Graph, text: str) -> Answer:
    result = graph.query(text)
    if result.type == "ASK":
        return (), [(("boolean", str(bool(result.askAnswer))),)]
    variables = tuple(str(v) for v in result.vars or ())

    def term(t: Node | None) -> Term | None:
        if t is None:
            return None
        if isinstance(t, URIRef):
            return ("uri", str(t))
        if isinstance(t, BNode):
            return ("bnode", "")
        assert isinstance(t, Literal), t
        return literal(str(t), t.language, str(t.datatype) if t.datatype else None)

    return variables, [tuple(term(row[v]) for v in result.vars or ())
                       for row in result if isinstance(row, ResultRow)]


def from_pyoxigraph(store: ox.Store, text: str) -> Answer:
    result = store.query(text)
    if isinstance(result, ox.QueryBoolean):
        return (), [(("boolean", str(bool(result))),)]
    assert isinstance(result, ox.QuerySolutions), type(result)
    variables = tuple(v.value for v in result.variables)

    def term(t: object) -> Term | None:
        if t is None:
            return None
        if isinstance(t, ox.NamedNode):
            return ("uri", t.value)
        if isinstance(t, ox.BlankNode):
            return ("bnode", "")
        assert isinstance(t, ox.Literal), t
        return literal(t.value, t.language, t.datatype.value)

    return variables, [tuple(term(solution[v]) for v in variables) for solution in result]


def text(row: tuple[Term | None, ...]) -> tuple[str, ...]:
    """A row as tests/query-answers/ write it: each term's value, "" when unbound."""
    return tuple("" if t is None else t[1] for t in row)


def post(url: str, fields: dict[str, str], accept: str) -> bytes:
    request = urllib.request.Request(url, data=urllib.parse.urlencode(fields).encode(),
                                     headers={"Accept": accept})
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.read()


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    return build_dist(tmp_path_factory.mktemp("one-download") / "dist")


@pytest.fixture(scope="module")
def server(dist) -> Iterator[str]:
    with running_server("--out", str(dist)) as base:
        yield base


@pytest.fixture(scope="module")
def served(server) -> dict[str, Answer]:
    """Each query's answer from `gfd-kg serve`, which loads gfd.trig: the reference."""
    return {path.stem: from_json(json.loads(post(
        server + "/sparql", {"query": query_text(path)}, "application/sparql-results+json")))
        for path in QUERIES}


def comunica(file: Path, queries: dict[str, str]) -> dict[str, dict]:
    """Each query's SPARQL JSON from Comunica over ``file``, all in one node process."""
    node = shutil.which("node")
    if node is None or not COMUNICA_PACKAGE.is_dir():
        pytest.fail("Comunica is not installed: run `bash scripts/npm-deps.sh` "
                    "(node and npm come from scripts/system-deps.sh)")
    result = subprocess.run([node, str(COMUNICA_SCRIPT), str(file)], input=json.dumps(queries),
                            capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    answers: dict[str, dict] = json.loads(result.stdout)
    return answers


@pytest.fixture(scope="module")
def engines(dist) -> dict[str, Callable[[str], Answer]]:
    """Each engine with gfd-all.ttl loaded alone, as the engine's own users load a file:
    a query's name -> its answer."""
    file = dist / ALL_TURTLE
    graph = Graph().parse(file, format="turtle")
    store = ox.Store()
    store.load(path=str(file), format=ox.RdfFormat.TURTLE)
    texts = {path.stem: query_text(path) for path in QUERIES}
    docs: dict[str, dict] = {}

    def by_comunica(name: str) -> Answer:
        if not docs:  # all the queries at once, when the first is asked for
            docs.update(comunica(file, texts))
        assert "error" not in docs[name], f"Comunica refused {name}: {docs[name]['error']}"
        return from_json(docs[name])

    return {"rdflib": lambda name: from_rdflib(graph, texts[name]),
            "pyoxigraph": lambda name: from_pyoxigraph(store, texts[name]),
            "comunica": by_comunica}


def test_the_one_file_holds_what_the_endpoint_default_graph_holds(dist, server):
    default = Graph().parse(data=post(server + "/sparql",
                                      {"query": "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }"},
                                      "application/n-triples"), format="nt")
    turtle = Graph().parse(dist / ALL_TURTLE, format="turtle")
    ntriples = Graph().parse(dist / ALL_NTRIPLES, format="nt")
    trig = Dataset()
    trig.parse(dist / "gfd.trig", format="trig")
    union = Graph()
    for s, p, o, _g in trig.quads():
        union.add((s, p, o))
    assert len(turtle) == len(ntriples) == len(union) == len(default) > 4000
    assert isomorphic(turtle, ntriples)
    assert isomorphic(turtle, union)
    assert isomorphic(turtle, default)


@pytest.mark.parametrize("name,media", [(ALL_TURTLE, "text/turtle"),
                                        (ALL_NTRIPLES, "application/n-triples")])
def test_the_description_offers_the_one_file_as_a_dump(dist, iris, name, media):
    void = Graph().parse(dist / "void.ttl", format="turtle")
    url = URIRef(f"{iris.base}download/{name}")
    assert (iris.mint("dataset", "gfd-kg"), VOID.dataDump, url) in void
    distribution = void.value(predicate=DCAT.downloadURL, object=url)
    assert str(void.value(distribution, DCAT.mediaType)).endswith("/" + media)
    assert int(void.value(distribution, DCAT.byteSize)) == (dist / name).stat().st_size
    checksums = (dist / "SHA256SUMS").read_text(encoding="utf-8").splitlines()
    assert any(line.endswith("  " + name) for line in checksums)


def test_the_turtle_is_written_in_chunks_that_keep_subjects_and_blank_nodes_whole(dist):
    """A small chunk size gives the triples one parse gives, blank nodes included."""
    from gfd_kg.publish import _triples, _triples_in_chunks

    lines = (dist / ALL_NTRIPLES).read_bytes().splitlines(keepends=True)
    whole = list(_triples(b"".join(lines)))
    assert list(_triples_in_chunks(lines, chunk=500)) == whole
    assert any(isinstance(q.subject, ox.BlankNode) for q in whole)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("path", QUERIES, ids=[q.stem for q in QUERIES])
def test_every_query_gives_on_the_one_file_what_the_endpoint_gives(path, engine, engines,
                                                                   served):
    want = served[path.stem]
    got = engines[engine](path.stem)
    assert got[0] == want[0], "columns"
    assert len(want[1]) > 0, "a query with no rows shows nothing"
    header, rows, _bindings = expected(path.stem)
    assert want[0] == header
    if engine in ORDERS_ON_FIRST_KEY_ONLY:
        assert sorted(got[1], key=repr) == sorted(want[1], key=repr)
        assert sorted(map(text, got[1])) == sorted(rows)
    else:
        assert got[1] == want[1]
        assert [text(row) for row in got[1]] == rows
