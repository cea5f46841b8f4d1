"""The built graphs published to a real external store and queried there: Oxigraph's
server (`oxigraph serve`, from the PyPI package `oxigraph`) started on 127.0.0.1, the four
named graphs of dist/gfd.trig sent with the Graph Store Protocol (gfd_kg/gsp.py), and every
competency query run at its SPARQL endpoint through SPARQLWrapper (gfd_kg/query.py
``select_remote``), compared with the agreed answers and with rdflib's answers over the
same file.

The server runs with ``--union-default-graph``, so its default graph is the union of the
named graphs, as in ``gfd-kg query`` over dist/gfd.trig.

Oxigraph stores a literal whose datatype is derived from xsd:integer (xsd:positiveInteger,
xsd:int, ...) as xsd:integer, and xsd:dateTimeStamp as xsd:dateTime, keeping the lexical
form. The data types whole numbers as xsd:integer for that reason (ontology/gfd.ttl,
section 9); ``FOLDED`` says what the store would change, and the tests compare answers
and graphs term for term, datatypes included, after exactly that change and no other."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.request import Request, urlopen

import pytest
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import XSD
from rdflib.term import Node

from gfd_kg import gsp
from gfd_kg.errors import SourceError
from gfd_kg.gsp import StoreUnavailable
from gfd_kg.publish import PUBLIC_GRAPHS
from gfd_kg.query import Table, load_dataset, load_query, select, select_remote
from tests.server import build_dist, free_port, stop, wait_until_up
from tests.test_queries import QUERIES, expected

# What Oxigraph (0.5.13) changes in a literal it stores: the datatype, for these; the
# lexical form is kept. (All of xsd:integer's derived types fold the same way.)
FOLDED = {XSD.positiveInteger: XSD.integer, XSD.nonNegativeInteger: XSD.integer,
          XSD.int: XSD.integer, XSD.long: XSD.integer, XSD.dateTimeStamp: XSD.dateTime}

COUNT_PER_GRAPH = "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"
COUNT_DEFAULT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"


# -- the server ------------------------------------------------------------------------

def find_oxigraph(search_path: str | None = None) -> str:
    """The `oxigraph` command: beside this Python (a venv's bin/), else on PATH. Missing
    is a failure, not a skip: the test suite's store tests would silently not run."""
    if search_path is None:
        search_path = os.pathsep.join([str(Path(sys.executable).parent),
                                       os.environ.get("PATH", "")])
    found = shutil.which("oxigraph", path=search_path)
    if found is None:
        pytest.fail("the Oxigraph server command `oxigraph` is not installed (looked in "
                    f"{search_path}); run `pip install oxigraph` in this environment "
                    "(the server's CLI, not the pyoxigraph library)", pytrace=False)
    return found


@dataclass(frozen=True)
class Oxigraph:
    base: str

    @property
    def store(self) -> str:
        """The Graph Store Protocol endpoint."""
        return self.base + "/store"

    @property
    def query(self) -> str:
        """The SPARQL query endpoint."""
        return self.base + "/query"


@pytest.fixture(scope="module")
def oxigraph(tmp_path_factory) -> Iterator[Oxigraph]:
    with running_oxigraph(tmp_path_factory.mktemp("oxigraph")) as server:
        yield server


@contextmanager
def running_oxigraph(tmp: Path) -> Iterator[Oxigraph]:
    """An Oxigraph server on a free port of 127.0.0.1, its store in ``tmp``."""
    exe = find_oxigraph()
    port = free_port()
    cmd = [exe, "serve", "--location", str(tmp / "store"), "--bind", f"127.0.0.1:{port}",
           "--union-default-graph"]
    log = tmp / "oxigraph.log"
    with log.open("wb") as out:  # a file, not a pipe nobody reads: a full pipe blocks it
        process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    server = Oxigraph(f"http://127.0.0.1:{port}")
    try:
        try:
            wait_until_up(server.query + "?query=ASK%7B%7D", process)
        except (RuntimeError, TimeoutError) as e:
            pytest.fail(f"{' '.join(cmd)} did not start: {e}\n"
                        f"{log.read_text(encoding='utf-8', errors='replace')}", pytrace=False)
        yield server
    finally:
        stop(process)


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    return build_dist(tmp_path_factory.mktemp("external-store") / "dist")


@pytest.fixture(scope="module")
def graphs(dist) -> dict[str, bytes]:
    return gsp.read_trig(dist / "gfd.trig")


@pytest.fixture(scope="module")
def local(dist):
    return load_dataset([dist / "gfd.trig"])


@pytest.fixture(scope="module")
def published(oxigraph, graphs) -> list[tuple[str, int]]:
    return gsp.publish(oxigraph.store, graphs)


# -- helpers ---------------------------------------------------------------------------

def counts(table: Table) -> dict[str, int]:
    return {g: int(n) for g, n in table.rows}


def fetch_graph(store: str, graph: str) -> Graph:
    """GET one graph back from the store, as N-Triples."""
    request = Request(gsp.graph_url(store, graph), headers={"Accept": gsp.NTRIPLES})
    with urlopen(request, timeout=30) as r:
        return Graph().parse(data=r.read(), format="nt")


def append(store: str, graph: str, ntriples: bytes) -> None:
    """POST: the Graph Store Protocol's *merge* into a graph (what publish must not do)."""
    request = Request(gsp.graph_url(store, graph), data=ntriples, method="POST",
                      headers={"Content-Type": gsp.NTRIPLES})
    with urlopen(request, timeout=30) as r:
        assert 200 <= r.status < 300


def delete(store: str, graph: str) -> None:
    request = Request(gsp.graph_url(store, graph), method="DELETE")
    with urlopen(request, timeout=30) as r:
        assert 200 <= r.status < 300


def fold(t: Node | None) -> Node | None:
    """A term as Oxigraph stores it (see ``FOLDED``)."""
    if isinstance(t, Literal) and t.datatype in FOLDED:
        return Literal(str(t), datatype=FOLDED[t.datatype])
    return t


def shape(t: Node | None) -> tuple | None:
    """A term compared across engines: a blank node's label is the engine's own."""
    if t is None:
        return None
    if isinstance(t, BNode):
        return ("bnode",)
    if isinstance(t, Literal):
        return ("literal", str(t), t.datatype, t.language)
    return ("iri", str(t))


# -- publishing ------------------------------------------------------------------------

def test_read_trig_gives_the_four_public_graphs_as_sorted_ntriples(graphs, local, iris):
    assert set(graphs) == {str(iris.graph(name)) for name in PUBLIC_GRAPHS}
    for name, nt in graphs.items():
        lines = nt.splitlines()
        assert lines == sorted(lines) and len(lines) == len(set(lines)), name
        assert len(lines) == len(local.graph(URIRef(name))), name
    # blank nodes survive, with stable labels: the ontology's OWL lists and restrictions
    assert b"_:" in graphs[str(iris.graph("ontology"))]


def test_read_trig_is_deterministic(dist, graphs):
    assert gsp.read_trig(dist / "gfd.trig") == graphs


def test_publish_puts_each_graph_and_the_store_counts_what_was_sent(
        oxigraph, published, graphs, local):
    """(a) Triples per graph at the endpoint, through SPARQLWrapper, are the local ones;
    the default graph is the union of the four."""
    assert published == [(g, gsp.count_triples(nt)) for g, nt in graphs.items()]
    remote = counts(select_remote(oxigraph.query, COUNT_PER_GRAPH))
    assert remote == counts(select(local, COUNT_PER_GRAPH)) == dict(published)
    assert (select_remote(oxigraph.query, COUNT_DEFAULT).rows
            == select(local, COUNT_DEFAULT).rows)


def test_the_store_gives_each_graph_back_as_sent(oxigraph, published, graphs):
    """Graph for graph, datatypes included: no literal of the data is one that Oxigraph
    would store with another datatype (``FOLDED``)."""
    for name, nt in graphs.items():
        sent = Graph().parse(data=nt, format="nt")
        back = fetch_graph(oxigraph.store, name)
        folded = sorted({o.n3() for _, _, o in sent if fold(o) != o})
        assert isomorphic(back, sent), (
            f"<{name}> came back changed ({len(back)} triples sent {len(sent)})"
            + (f"; Oxigraph stores {len(folded)} of its literals with another datatype, "
               f"e.g. {', '.join(folded[:3])}: type them as it stores them" if folded else ""))


def test_publishing_again_replaces_the_graphs(oxigraph, published, graphs, local):
    """(b) PUT replaces: stray triples appended to every graph beforehand are gone, and
    two publications give the counts of one (a blank node triple sent twice by an append
    would count twice)."""
    stray = b'<https://example.org/stray> <https://example.org/p> _:b .\n' \
            b'_:b <https://example.org/p> "stray" .\n'
    for name in graphs:
        append(oxigraph.store, name, stray)
    assert select_remote(oxigraph.query, "ASK { <https://example.org/stray> ?p ?o }").boolean
    expected_counts = counts(select(local, COUNT_PER_GRAPH))
    for _ in range(2):
        assert gsp.publish(oxigraph.store, graphs) == published
        assert counts(select_remote(oxigraph.query, COUNT_PER_GRAPH)) == expected_counts
        assert not select_remote(oxigraph.query,
                                 "ASK { <https://example.org/stray> ?p ?o }").boolean


def test_a_failure_part_way_says_which_graphs_were_replaced(oxigraph, published):
    a, b, c = (f"https://example.org/gsp-test/{x}" for x in "abc")
    ok = b"<https://example.org/s> <https://example.org/p> <https://example.org/o> .\n"
    try:
        with pytest.raises(StoreUnavailable) as e:
            gsp.publish(oxigraph.store, {a: ok, b: b"<https://example.org/s> oops .\n", c: ok})
        message = str(e.value)
        assert gsp.graph_url(oxigraph.store, b) in message
        assert "answered HTTP 400" in message  # the status, then the start of the body:
        assert "error" in message.split("answered HTTP 400", 1)[1].lower()
        assert f"1 of 3 graphs were replaced ({a})" in message
        assert f"not replaced: {b}, {c}" in message
        assert e.value.replaced == (a,)
        ask = "ASK { GRAPH <%s> { ?s ?p ?o } }"
        assert select_remote(oxigraph.query, ask % a).boolean
        assert not select_remote(oxigraph.query, ask % c).boolean
    finally:
        delete(oxigraph.store, a)  # leave the store as published for the other tests


def test_a_store_that_is_down_is_reported_quickly_with_its_url(graphs):
    """(d) Nothing listens on the port: connection refused, at once."""
    url = f"http://127.0.0.1:{free_port()}/store"
    start = time.monotonic()
    with pytest.raises(StoreUnavailable) as e:
        gsp.publish(url, graphs, timeout=10)
    assert time.monotonic() - start < 5
    assert url in str(e.value) and "cannot be reached" in str(e.value)
    assert e.value.replaced == ()


def test_a_store_that_does_not_answer_times_out(graphs):
    with socket.socket() as listener:  # accepts connections (backlog) but never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/store"
        start = time.monotonic()
        with pytest.raises(StoreUnavailable) as e:
            gsp.publish(url, graphs, timeout=0.5)
        assert time.monotonic() - start < 5
    assert url in str(e.value) and "did not answer within 0.5 s" in str(e.value)


def test_an_error_status_is_reported_with_the_url_and_status(oxigraph, graphs):
    url = oxigraph.base + "/no-such-endpoint"
    with pytest.raises(StoreUnavailable, match=r"answered HTTP 4\d\d") as e:
        gsp.publish(url, graphs)
    assert url in str(e.value)


def test_a_url_that_is_not_http_is_refused(graphs):
    with pytest.raises(StoreUnavailable, match="not an http"):
        gsp.publish("127.0.0.1:7878/store", graphs)


def test_read_trig_refuses_what_the_protocol_cannot_carry(tmp_path):
    shared = tmp_path / "shared.trig"
    shared.write_text("<https://example.org/g1> { _:x <https://example.org/p> 1 . }\n"
                      "<https://example.org/g2> { _:x <https://example.org/p> 2 . }\n")
    with pytest.raises(SourceError, match="blank node is used in both"):
        gsp.read_trig(shared)
    default = tmp_path / "default.trig"
    default.write_text("<https://example.org/s> <https://example.org/p> 1 .\n")
    with pytest.raises(SourceError, match="in the default graph"):
        gsp.read_trig(default)


def test_missing_oxigraph_fails_saying_how_to_install_it(tmp_path):
    """(e) Not a skip: a suite that silently skipped these tests would pass untested."""
    with pytest.raises(pytest.fail.Exception, match="pip install oxigraph"):
        find_oxigraph(search_path=str(tmp_path))


# -- the competency queries at the store -----------------------------------------------

@pytest.mark.parametrize("path", QUERIES, ids=[q.stem for q in QUERIES])
def test_query_at_the_store_gives_the_agreed_answer_and_rdflibs(path, oxigraph, published,
                                                                local):
    """(c) The agreed rows, exactly, in order; and rdflib's answer over dist/gfd.trig, term
    for term, datatypes and languages included (blank node labels aside)."""
    header, rows, bindings = expected(path.stem)
    text = load_query(path).text
    remote = select_remote(oxigraph.query, text, bindings)
    assert remote.variables == header
    assert list(remote.rows) == rows
    here = select(local, text, bindings)
    assert here.variables == remote.variables
    ours = [tuple(map(shape, r)) for r in here.terms]
    theirs = [tuple(map(shape, r)) for r in remote.terms]
    if theirs != ours and theirs == [tuple(shape(fold(t)) for t in r) for r in here.terms]:
        pytest.fail(f"{path.stem}: Oxigraph answers with other datatypes than rdflib, "
                    f"because it stores {', '.join(map(str, FOLDED))} as "
                    f"{', '.join(map(str, FOLDED.values()))}", pytrace=False)
    assert theirs == ours


def test_every_query_asks_the_store_for_sparql_json(oxigraph, published):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for path in QUERIES:
            _, _, bindings = expected(path.stem)
            select_remote(oxigraph.query, load_query(path).text, bindings)
    fallbacks = [str(w.message) for w in caught if "Accept header '*/*'" in str(w.message)]
    assert fallbacks == []



# -- the embedded endpoint against the external store -------------------------------------

@pytest.fixture(scope="module")
def embedded(dist):
    from tests.server import running_server

    with running_server("--out", str(dist)) as base:
        yield base + "/sparql"


@pytest.mark.parametrize("path", QUERIES, ids=[q.stem for q in QUERIES])
def test_embedded_endpoint_and_oxigraph_server_give_identical_answers(
        path, embedded, oxigraph, published):
    """Through SPARQLWrapper, term for term: `gfd-kg serve` and the Oxigraph server loaded
    by `gfd-kg publish`-style Graph Store requests."""
    _, _, bindings = expected(path.stem)
    text = load_query(path).text
    ours = select_remote(embedded, text, bindings)
    theirs = select_remote(oxigraph.query, text, bindings)
    assert ours.variables == theirs.variables
    assert ([tuple(map(shape, r)) for r in ours.terms]
            == [tuple(map(shape, r)) for r in theirs.terms])
    assert len(ours.rows) > 0


def test_cli_publish_replaces_the_graphs(dist, oxigraph, local):
    from tests.test_cli import run_cli

    result = run_cli("publish", "--store", oxigraph.store, "--out", str(dist))
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("replaced ") == 4
    again = run_cli("publish", "--store", oxigraph.store, "--out", str(dist))
    assert again.stdout == result.stdout
    down = run_cli("publish", "--store", f"http://127.0.0.1:{free_port()}/store",
                   "--out", str(dist))
    assert down.returncode == 4 and "cannot be reached" in down.stderr
