"""The build, its SDMX import included, published to OpenLink Virtuoso (Debian's
virtuoso-opensource, the store DBpedia runs on) through its authenticated Graph Store
endpoint, /sparql-graph-crud-auth, with HTTP Digest credentials; then every competency
query and the SDMX join asked there, at the Oxigraph server and at `gfd-kg serve`, with
the same answers.

Virtuoso is started on 127.0.0.1 with a throw-away database: a temporary folder with its
own virtuoso.ini (free ports for the SQL and the HTTP listener, DirsAllowed that folder),
the dba password changed from the default through the SQL client, and a publishing user
granted SPARQL_UPDATE, the role Virtuoso's Graph Store endpoints check. The role goes to
that user, not to the anonymous SPARQL user, so the public /sparql stays read-only (a test
checks that the anonymous Graph Store endpoint refuses a PUT). The server is stopped and
its folder removed after the module.

**The default graph.** Every query is sent to the three stores alike with the SPARQL
protocol's ``default-graph-uri`` naming the published graphs, so the default graph is
their merge at each store, and the query files stay free of FROM clauses (which would
name graph IRIs under one base and one set of imports). Without the parameter, Virtuoso's
default graph is the union of every graph it holds, its own system graphs included
(virtrdf:, some 2,500 triples that describe its quad maps), the Oxigraph server's (run with
``--union-default-graph``) and `gfd-kg serve`'s the union of the named graphs: the tests
check that every query gives the same answer that way too, since that is what a user
typing a query into Virtuoso's /sparql page gets.

**What the stores change in a literal they store.** Oxigraph (and so `gfd-kg serve`, which
runs on pyoxigraph) and Virtuoso keep the value, not the lexical form, of an xsd:decimal:
the import's "68.0" comes back "68" (``store_form``). Virtuoso 7.2 keeps an xsd:duration as
its seconds too: "PT15M" comes back "900.0", no longer an xsd:duration lexical form at all
(``virtuoso_form``). No query can give those back as published; the tests compare answers
and graphs term for term, datatypes and languages included, after exactly those changes
and no other.
"""

from __future__ import annotations

import csv
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.request import Request, urlopen

import pytest
from rdflib import Graph, Literal
from rdflib.compare import isomorphic
from rdflib.namespace import XSD
from rdflib.term import Node

from gfd_kg import gsp
from gfd_kg.cli import PASSWORD_ENV
from gfd_kg.iris import IRIs
from gfd_kg.publish import dataset_files
from gfd_kg.query import Table, load_dataset, select, select_remote
from gfd_kg.resources import queries_dir
from gfd_kg.sdmx import import_sdmx
from tests.server import build_dist, free_port, running_server, stop, wait_until_up
from tests.test_cli import run_cli
from tests.test_external_store import Oxigraph, running_oxigraph, shape
from tests.test_queries import QUERIES, expected

SDMX_FIXTURE = Path(__file__).parent / "sdmx" / "oecd-made-up-v1.csv"
JOIN_QUERY = queries_dir() / "sdmx" / "join-indicator.rq"
JOIN_ANSWER = Path(__file__).parent / "sdmx" / "join-indicator.csv"
ALL_QUERIES = [*QUERIES, JOIN_QUERY]
STORES = ("serve", "oxigraph", "virtuoso")

COUNT_PER_GRAPH = "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"

VIRTUOSO_INI = """\
[Database]
DatabaseFile       = virtuoso.db
ErrorLogFile       = virtuoso.log
LockFile           = virtuoso.lck
TransactionFile    = virtuoso.trx
xa_persistent_file = virtuoso.pxa
TempStorage        = TempDatabase

[TempDatabase]
DatabaseFile       = virtuoso-temp.db
TransactionFile    = virtuoso-temp.trx

[Parameters]
ServerPort         = 127.0.0.1:{sql_port}
DisableUnixSocket  = 1
DirsAllowed        = .
NumberOfBuffers    = 10000
MaxDirtyBuffers    = 6000
CheckpointInterval = 0

[HTTPServer]
ServerPort         = 127.0.0.1:{http_port}
ServerRoot         = .
ServerThreads      = 4
"""

# The SQL run as dba (password "dba" in a new database) once the server is up.
SETUP_SQL = """\
USER_SET_PASSWORD('dba', '{dba_password}');
DB.DBA.USER_CREATE('{user}', '{password}');
GRANT SPARQL_UPDATE TO "{user}";
DB.DBA.USER_CREATE('{reader}', '{reader_password}');
"""


# -- the server ------------------------------------------------------------------------

def find_virtuoso(search_path: str | None = None) -> tuple[str, str]:
    """Virtuoso's server and SQL client. Missing is a failure, not a skip."""
    found = [shutil.which(name, path=search_path) for name in ("virtuoso-t", "isql-vt")]
    if None in found:
        pytest.fail("OpenLink Virtuoso (`virtuoso-t`, `isql-vt`) is not installed; run "
                    "`bash scripts/system-deps.sh` as root (apt-get install "
                    "virtuoso-opensource-7-bin)", pytrace=False)
    server, client = found
    assert server is not None and client is not None
    return server, client


@dataclass(frozen=True)
class Virtuoso:
    base: str
    publisher: gsp.Credentials   # holds SPARQL_UPDATE
    reader: gsp.Credentials      # a user without it

    @property
    def sparql(self) -> str:
        return self.base + "/sparql"

    @property
    def store(self) -> str:
        """The authenticated Graph Store endpoint (HTTP Digest)."""
        return self.base + "/sparql-graph-crud-auth"

    @property
    def anonymous_store(self) -> str:
        """The Graph Store endpoint without authentication (the SPARQL user)."""
        return self.base + "/sparql-graph-crud"


def wait_for_port(port: int, process: subprocess.Popen, deadline: float = 60.0) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2):
                return
        except OSError:
            time.sleep(0.1)  # polling interval, not a wait for readiness
    raise TimeoutError(f"127.0.0.1:{port} did not accept a connection within {deadline:g} s")


@contextmanager
def running_virtuoso() -> Iterator[Virtuoso]:
    server, client = find_virtuoso()
    folder = Path(tempfile.mkdtemp(prefix="gfd-kg-test-virtuoso-"))
    sql_port, http_port = free_port(), free_port()
    (folder / "virtuoso.ini").write_text(
        VIRTUOSO_INI.format(sql_port=sql_port, http_port=http_port), encoding="utf-8")
    dba_password = secrets.token_urlsafe(12)
    publisher = gsp.Credentials("gfd-publisher", secrets.token_urlsafe(12))
    reader = gsp.Credentials("gfd-reader", secrets.token_urlsafe(12))
    log = folder / "virtuoso.out"
    cmd = [server, "+foreground", "+configfile", "virtuoso.ini"]
    with log.open("wb") as out:  # a file, not a pipe nobody reads: a full pipe blocks it
        process = subprocess.Popen(cmd, cwd=folder, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    process.log_path = str(log)  # type: ignore[attr-defined]  # for wait_until_up's message
    base = f"http://127.0.0.1:{http_port}"
    try:
        try:
            wait_until_up(base + "/sparql?query=ASK%7B%7D", process)
            wait_for_port(sql_port, process)
        except (RuntimeError, TimeoutError) as e:
            pytest.fail(f"{' '.join(cmd)} did not start: {e}\n"
                        f"{log.read_text(encoding='utf-8', errors='replace')}", pytrace=False)
        sql = SETUP_SQL.format(dba_password=dba_password, user=publisher.user,
                               password=publisher.password, reader=reader.user,
                               reader_password=reader.password)
        result = subprocess.run([client, f"127.0.0.1:{sql_port}", "dba", "dba"], input=sql,
                                capture_output=True, text=True, timeout=60)
        # isql exits 0 after a failed statement: its errors are in the output
        assert result.returncode == 0 and "*** Error" not in result.stdout, (
            result.stdout + result.stderr)
        yield Virtuoso(base, publisher, reader)
    finally:
        stop(process)
        shutil.rmtree(folder, ignore_errors=True)


# -- fixtures ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    out = build_dist(tmp_path_factory.mktemp("virtuoso") / "dist")
    import_sdmx(SDMX_FIXTURE, out, IRIs())
    return out


@pytest.fixture(scope="module")
def graphs(dist) -> dict[str, bytes]:
    return gsp.read_build(dist)


@pytest.fixture(scope="module")
def local(dist):
    """The build and the import as `gfd-kg query` reads them (rdflib)."""
    return load_dataset(dataset_files(dist))


@pytest.fixture(scope="module")
def virtuoso() -> Iterator[Virtuoso]:
    with running_virtuoso() as server:
        yield server


@pytest.fixture(scope="module")
def oxigraph(tmp_path_factory) -> Iterator[Oxigraph]:
    with running_oxigraph(tmp_path_factory.mktemp("oxigraph")) as server:
        yield server


@pytest.fixture(scope="module")
def published(virtuoso, graphs) -> list[tuple[str, int]]:
    return gsp.publish(virtuoso.store, graphs, credentials=virtuoso.publisher)


@pytest.fixture(scope="module")
def endpoints(dist, virtuoso, oxigraph, published, graphs) -> Iterator[dict[str, str]]:
    """The SPARQL endpoints of the three stores, each holding the build and the import."""
    gsp.publish(oxigraph.store, graphs)
    with running_server("--out", str(dist)) as base:
        yield {"serve": base + "/sparql", "oxigraph": oxigraph.query,
               "virtuoso": virtuoso.sparql}


# -- helpers ---------------------------------------------------------------------------

def store_form(t: Node | None) -> Node | None:
    """A term as a store gives it back (Oxigraph, and so `gfd-kg serve`, and Virtuoso
    alike): an xsd:decimal in its canonical form."""
    if isinstance(t, Literal) and t.datatype == XSD.decimal and "." in str(t):
        return Literal(str(t).rstrip("0").rstrip("."), datatype=XSD.decimal)
    return t


def virtuoso_form(t: Node | None) -> Node | None:
    """A term as Virtuoso 7.2 gives it back: ``store_form``, and an xsd:duration (of days,
    hours, minutes and seconds) as its seconds."""
    t = store_form(t)
    if isinstance(t, Literal) and t.datatype == XSD.duration \
            and isinstance(t.toPython(), timedelta):
        return Literal(str(t.toPython().total_seconds()), datatype=XSD.duration)
    return t


def terms(table: Table, form=lambda t: t) -> list[tuple]:
    return [tuple(shape(form(t)) for t in row) for row in table.terms]


def answer(path: Path) -> tuple[tuple[str, ...], list[tuple[str, ...]], dict]:
    """The agreed header, rows and bindings of a query."""
    if path == JOIN_QUERY:
        with JOIN_ANSWER.open(encoding="utf-8", newline="") as f:
            header, *rows = [tuple(r) for r in csv.reader(f)]
        return header, rows, {}
    return expected(path.stem)


def counts(table: Table) -> dict[str, int]:
    return {g: int(n) for g, n in table.rows}


def fetch_graph(store: str, graph: str) -> Graph:
    request = Request(gsp.graph_url(store, graph), headers={"Accept": gsp.NTRIPLES})
    with urlopen(request, timeout=30) as r:
        return Graph().parse(data=r.read(), format="nt")


# -- publishing ------------------------------------------------------------------------

def test_the_build_to_publish_is_the_four_public_graphs_and_the_import(graphs, iris):
    assert list(graphs) == [str(iris.graph(name)) for name in
                            ("data", "inferred", "ontology", "provenance",
                             "sdmx/oecd-made-up-v1")]


def test_publish_with_digest_credentials_sends_every_graph(virtuoso, published, graphs):
    assert published == [(g, gsp.count_triples(nt)) for g, nt in graphs.items()]
    theirs = counts(select_remote(virtuoso.sparql, COUNT_PER_GRAPH))
    assert {g: theirs.get(g) for g in graphs} == dict(published)


def test_virtuoso_gives_each_graph_back_as_sent_but_for_decimals_and_durations(
        virtuoso, published, graphs):
    changed: set[str] = set()
    for name, nt in graphs.items():
        sent = Graph().parse(data=nt, format="nt")
        folded = Graph()
        for s, p, o in sent:
            folded.add((s, p, virtuoso_form(o)))
            if virtuoso_form(o) != o:
                changed.add(str(o.datatype))  # type: ignore[attr-defined]
        back = fetch_graph(virtuoso.anonymous_store, name)
        assert isomorphic(back, folded), f"<{name}>: {len(back)} triples back, {len(sent)} sent"
    assert changed == {str(XSD.decimal), str(XSD.duration)}


def test_publishing_again_replaces_the_graphs(virtuoso, published, graphs):
    """The ontology graph's blank nodes would count twice if a PUT appended."""
    assert gsp.publish(virtuoso.store, graphs, credentials=virtuoso.publisher) == published
    theirs = counts(select_remote(virtuoso.sparql, COUNT_PER_GRAPH))
    assert {g: theirs.get(g) for g in graphs} == dict(published)


def test_without_credentials_the_store_is_refused_saying_what_to_give(virtuoso, published,
                                                                      graphs):
    with pytest.raises(gsp.StoreUnavailable, match="give them with --user and --password") as e:
        gsp.publish(virtuoso.store, graphs)
    assert e.value.replaced == ()


def test_a_wrong_password_is_refused_before_any_graph_is_sent(virtuoso, published, graphs):
    wrong = gsp.Credentials(virtuoso.publisher.user, "not-the-password")
    with pytest.raises(gsp.StoreUnavailable, match="refused the user 'gfd-publisher' with that "
                                                   "password") as e:
        gsp.publish(virtuoso.store, graphs, credentials=wrong)
    assert e.value.replaced == ()


def test_a_user_without_sparql_update_and_the_anonymous_endpoint_cannot_write(
        virtuoso, published, graphs):
    for store, credentials in ((virtuoso.store, virtuoso.reader),
                               (virtuoso.anonymous_store, None)):
        with pytest.raises(gsp.StoreUnavailable, match=r"HTTP 403.*Permission denied"):
            gsp.publish(store, graphs, credentials=credentials)
    theirs = counts(select_remote(virtuoso.sparql, COUNT_PER_GRAPH))
    assert {g: theirs.get(g) for g in graphs} == dict(published)


def test_missing_virtuoso_fails_saying_how_to_install_it(tmp_path):
    with pytest.raises(pytest.fail.Exception, match="virtuoso-opensource-7-bin"):
        find_virtuoso(search_path=str(tmp_path))


# -- the competency queries at the three stores --------------------------------------------

@pytest.mark.parametrize("path", ALL_QUERIES, ids=[q.stem for q in ALL_QUERIES])
def test_query_gives_the_same_answer_at_virtuoso_oxigraph_and_serve(path, endpoints, graphs,
                                                                   local):
    """The agreed rows from rdflib over the files; the same terms at `gfd-kg serve` and at
    the Oxigraph server but for the decimals' form; at Virtuoso but for its decimals and
    durations; and each store's own default graph (no default-graph-uri) gives each the
    same answer."""
    header, rows, bindings = answer(path)
    text = path.read_text(encoding="utf-8")
    here = select(local, text, bindings)
    assert (here.variables, list(here.rows)) == (header, rows)
    assert len(rows) > 0
    got = {store: select_remote(url, text, bindings, default_graphs=tuple(graphs))
           for store, url in endpoints.items()}
    for store in STORES:
        assert got[store].variables == header, store
    assert terms(got["serve"]) == terms(here, store_form)
    assert terms(got["oxigraph"]) == terms(got["serve"])
    assert terms(got["virtuoso"]) == terms(got["serve"], virtuoso_form)
    for store, url in endpoints.items():
        own = select_remote(url, text, bindings)
        assert terms(own) == terms(got[store]), f"{store}'s own default graph"


def test_the_stores_default_graphs(endpoints, graphs, published):
    """What the default graph is at each store without default-graph-uri: the merge of
    the published graphs, and at Virtuoso its own system graphs too."""
    count = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    union = sum(n for _, n in published)
    by_store = {store: int(select_remote(url, count).rows[0][0])
                for store, url in endpoints.items()}
    assert by_store["serve"] == by_store["oxigraph"] == union
    assert by_store["virtuoso"] > union
    assert all(int(select_remote(url, count, default_graphs=tuple(graphs)).rows[0][0]) == union
               for url in endpoints.values())


# -- the command line ------------------------------------------------------------------

def test_cli_publishes_to_virtuoso_and_the_join_answers_there(dist, virtuoso, graphs):
    env = {PASSWORD_ENV: virtuoso.publisher.password}
    result = run_cli("publish", "--store", virtuoso.store, "--user", virtuoso.publisher.user,
                     "--out", str(dist), env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"replaced  {g}  ({gsp.count_triples(nt)} triples)" for g, nt in graphs.items()]
    query = run_cli("query", str(JOIN_QUERY), "--endpoint", virtuoso.sparql, "--format", "csv")
    assert query.returncode == 0, query.stderr
    header, rows, _ = answer(JOIN_QUERY)
    got = [tuple(r) for r in csv.reader(query.stdout.splitlines())]
    assert got[0] == header
    assert [(*r[:4], float(r[4])) for r in got[1:]] == [(*r[:4], float(r[4])) for r in rows]


def test_cli_publish_to_oxigraph_includes_the_import_so_the_join_answers(dist, oxigraph):
    result = run_cli("publish", "--store", oxigraph.store, "--out", str(dist))
    assert result.returncode == 0, result.stderr
    assert "sdmx/oecd-made-up-v1  (449 triples)" in result.stdout
    query = run_cli("query", str(JOIN_QUERY), "--endpoint", oxigraph.query, "--format", "csv")
    assert query.returncode == 0, query.stderr
    header, rows, _ = answer(JOIN_QUERY)
    got = [tuple(r) for r in csv.reader(query.stdout.splitlines())]
    assert got[0] == header
    assert [(*r[:4], float(r[4])) for r in got[1:]] == [(*r[:4], float(r[4])) for r in rows]


@pytest.mark.parametrize("args", [["--user", "someone"], ["--password", "secret"]])
def test_cli_publish_wants_both_user_and_password(dist, args):
    result = run_cli("publish", "--store", "http://127.0.0.1:9/store", "--out", str(dist),
                     *args, env={PASSWORD_ENV: ""} if "--user" in args else None)
    assert result.returncode == 2
    assert "give both --user and --password" in result.stderr


def test_an_anonymous_put_refused_by_its_status_says_so(virtuoso):
    """A small graph's PUT without credentials gets the 401 itself (a large one gets the
    connection closed on it): the message names the options either way."""
    with pytest.raises(gsp.StoreUnavailable, match=r"HTTP 401.*give them with --user"):
        gsp.put_graph(virtuoso.store, "https://example.org/g",
                      b"<https://example.org/s> <https://example.org/p> 1 .\n")


def test_cli_query_prints_virtuosos_durations_as_it_answers_them(virtuoso, published):
    """As seconds, and without a traceback on stderr for each ill-typed literal."""
    result = run_cli("query", "queries/talk-durations.rq", "--endpoint", virtuoso.sparql,
                     "--format", "csv")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    rows = list(csv.DictReader(result.stdout.splitlines()))
    assert len(rows) == 17
    keynote = rows[0]
    assert (keynote["stated"], keynote["minimum"], keynote["maximum"]) == (
        "15-20 min", "900.0", "1200.0")
