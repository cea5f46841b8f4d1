"""The W3C SPARQL 1.1 Protocol test suite, run against `gfd-kg serve`.

Every test of the manifest (w3c/rdf-tests, sparql/sparql11/protocol/manifest.ttl) is one
pytest test: the runner sends the HTTP requests it describes, in order, and checks the
status class, the result format and the boolean it expects. The data the tests assume (their
``ut:graphData``) is served as named graphs of one N-Quads file by one server for the module.

The endpoint is read-only, so the tests about updates are judged as the suite's README says
a read-only endpoint must be: every update request is refused with a 4xx, the queries that
follow it see nothing of it, and the data is unchanged afterwards."""

from __future__ import annotations

import csv
import io
import os
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from rdflib import RDF, RDFS, BNode, Dataset, Graph, Literal, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.term import Node

from tests.server import CLIENT_LIMITS

from .server import running_server

SUITE_ENV = "GFD_KG_W3C_PROTOCOL_TESTS"
# The suite is not ours to copy into the project: it is read where the workplace keeps it,
# in shared/ beside the checkout (CI lays a copy there too).
SUITE_CANDIDATES = (
    Path(__file__).resolve().parents[1].parent / "shared" / "peer-tests" / "w3c-sparql11-protocol",
    Path("/work/shared/peer-tests/w3c-sparql11-protocol"),
)

MF = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
HT = Namespace("http://www.w3.org/2011/http#")
HTS = Namespace("http://www.w3.org/2011/http-statusCodes#")
CNT = Namespace("http://www.w3.org/2011/content#")
UT = Namespace("http://www.w3.org/2009/sparql/tests/test-update#")
SRX = "{http://www.w3.org/2005/sparql-results#}"

MANIFEST_PATH_PREFIX = "/sparql/"  # every ht:absolutePath starts with it
ENDPOINT_PATH = "/sparql"  # where gfd-kg serves the endpoint (queries and refused updates)
UPDATE_PARAMS = ("update", "using-graph-uri", "using-named-graph-uri")

# media type of a response -> rdflib parser, for mf:expectedFormat "RDF"
RDF_PARSERS = {
    "text/turtle": "turtle",
    "application/x-turtle": "turtle",
    "application/n-triples": "nt",
    "text/plain": "nt",
    "application/rdf+xml": "xml",
    "application/ld+json": "json-ld",
    "text/n3": "n3",
    "application/n-quads": "nquads",
    "application/trig": "trig",
}
BOOLEAN_TYPES = ("application/sparql-results+json", "application/json",
                 "application/sparql-results+xml", "application/xml", "text/xml")
TABULAR_TYPES = (*BOOLEAN_TYPES, "text/csv", "text/tab-separated-values")

# -- the manifest ----------------------------------------------------------------------

@dataclass(frozen=True)
class HttpRequest:
    """One ht:Request of a test and the ht:Response it expects."""

    method: str
    path: str  # as in the manifest: /sparql/...
    headers: tuple[tuple[str, str], ...]
    body: bytes | None
    statuses: frozenset[int]  # the status classes allowed: 2, 3, 4, 5
    format: str | None  # "boolean", "tabular", "RDF"
    boolean: bool | None

    @property
    def content_type(self) -> str:
        for name, value in self.headers:
            if name.lower() == "content-type":
                return value.partition(";")[0].strip().lower()
        return ""

    def is_update(self) -> bool:
        """An update operation: direct (application/sparql-update) or by parameter, in the
        query string or in a form body."""
        if self.content_type == "application/sparql-update":
            return True
        params = parse_qs(urlsplit(self.path).query)
        if self.body is not None and self.content_type == "application/x-www-form-urlencoded":
            params.update(parse_qs(self.body.decode("utf-8")))
        return any(p in params for p in UPDATE_PARAMS)


@dataclass(frozen=True)
class ProtocolTest:
    id: str  # the local name in the manifest
    name: str  # mf:name
    requests: tuple[HttpRequest, ...]
    graph_data: tuple[tuple[str, Path], ...]  # (graph IRI, data file)

    @property
    def about_updates(self) -> bool:
        return (self.id.startswith(("update_", "bad_update_"))
                or any(r.is_update() for r in self.requests))


def suite_dir() -> Path | None:
    if os.environ.get(SUITE_ENV):
        return Path(os.environ[SUITE_ENV])
    return next((d for d in SUITE_CANDIDATES if (d / "manifest.ttl").is_file()), None)


def _status_class(node: Node) -> int:
    name = str(node).removeprefix(str(HTS))
    assert name.startswith("StatusCode") and name.endswith("xx"), f"unknown status {node}"
    return int(name[len("StatusCode")])


def _request(g: Graph, node: Node) -> HttpRequest:
    headers = []
    header_list = g.value(node, HT.headers)
    if header_list is not None:
        for h in Collection(g, header_list):
            headers.append((str(g.value(h, HT.fieldName)), str(g.value(h, HT.fieldValue))))
    body = None
    body_node = g.value(node, HT.body)
    if body_node is not None:
        encoding = str(g.value(body_node, CNT.characterEncoding) or "UTF-8")
        body = str(g.value(body_node, CNT.chars)).encode(encoding)
    resp = g.value(node, HT.resp)
    boolean = g.value(resp, MF.expectedBoolean)
    fmt = g.value(resp, MF.expectedFormat)
    return HttpRequest(
        method=str(g.value(node, HT.methodName)),
        path=str(g.value(node, HT.absolutePath)),
        headers=tuple(headers),
        body=body,
        statuses=frozenset(_status_class(s) for s in g.objects(resp, MF.expectedStatus)),
        format=None if fmt is None else str(fmt),
        boolean=None if boolean is None else bool(boolean.toPython()),
    )


def load_manifest(directory: Path) -> list[ProtocolTest]:
    """The tests in the manifest's mf:entries order."""
    path = directory / "manifest.ttl"
    g = Graph().parse(path, format="turtle", publicID=path.absolute().as_uri())
    manifest = g.value(predicate=RDF.type, object=MF.Manifest)
    tests = []
    for entry in Collection(g, g.value(manifest, MF.entries)):
        action = g.value(entry, MF.action)
        requests = tuple(_request(g, r) for r in Collection(g, g.value(action, HT.requests)))
        graph_data = tuple(sorted(
            (str(g.value(gd, RDFS.label)), Path(urlsplit(str(g.value(gd, UT.graph))).path))
            for gd in g.objects(entry, UT.graphData)))
        tests.append(ProtocolTest(id=str(entry).rpartition("#")[2],
                                  name=str(g.value(entry, MF.name)),
                                  requests=requests, graph_data=graph_data))
    return tests


SUITE = suite_dir()
TESTS = load_manifest(SUITE) if SUITE is not None else []


# -- the data and the server -----------------------------------------------------------

def write_dataset(tests: list[ProtocolTest], out: Path) -> Dataset:
    """Every data file the tests name, as the named graph its label gives, in one N-Quads
    file. (data0.rdf, which some tests name as a default graph, has no data: it is a graph
    that does not exist.)"""
    files: dict[str, Path] = {}
    for test in tests:
        for label, path in test.graph_data:
            assert files.setdefault(label, path) == path, f"{label} names two data files"
    ds = Dataset()
    for label, path in sorted(files.items()):
        ds.graph(URIRef(label)).parse(path, format="nt")
    out.write_bytes(ds.serialize(format="nquads", encoding="utf-8"))
    return ds


def quads_of(ds: Dataset) -> set[tuple[Node, Node, Node, Node]]:
    """The quads of the named graphs (rdflib gives the graph's name as the fourth term)."""
    quads = set(ds.quads((None, None, None, None)))
    assert all(g is not None for *_, g in quads), "the test data has no default graph"
    return quads


@dataclass(frozen=True)
class Endpoint:
    base: str  # http://127.0.0.1:PORT
    quads: frozenset  # what the store must hold, every quad in a named graph


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory) -> Iterator[Endpoint]:
    data = tmp_path_factory.mktemp("w3c-protocol") / "protocol-data.nq"
    ds = write_dataset(TESTS, data)
    with running_server(str(data)) as base:
        yield Endpoint(base, frozenset(quads_of(ds)))


# -- reading answers -------------------------------------------------------------------

def media_type(response: httpx.Response) -> str:
    return response.headers.get("content-type", "").partition(";")[0].strip().lower()


def _term(binding: dict) -> Node:
    kind, value = binding["type"], binding["value"]
    if kind == "uri":
        return URIRef(value)
    if kind == "bnode":
        return BNode(value)
    if "xml:lang" in binding:
        return Literal(value, lang=binding["xml:lang"])
    return Literal(value, datatype=URIRef(binding["datatype"]) if "datatype" in binding else None)


def read_boolean(response: httpx.Response) -> bool:
    """The boolean of a SPARQL results document (JSON or XML, the formats that have one)."""
    media = media_type(response)
    assert media in BOOLEAN_TYPES, (
        f"an ASK answer should be SPARQL results JSON or XML, got Content-Type {media!r}: "
        f"{response.text[:300]!r}")
    if "json" in media:
        doc = response.json()
        assert isinstance(doc.get("boolean"), bool), f"no boolean in {doc!r}"
        assert "results" not in doc, f"a boolean answer with results: {doc!r}"
        return doc["boolean"]
    root = ET.fromstring(response.content)
    assert root.tag == SRX + "sparql", f"not a SPARQL results document: {response.text[:300]!r}"
    element = root.find(SRX + "boolean")
    assert element is not None and element.text in ("true", "false"), response.text[:300]
    return element.text == "true"


def read_table(response: httpx.Response) -> tuple[list[str], list[dict[str, str]]]:
    """Variables and rows (values as text) of a SPARQL results table in any of its four
    formats."""
    media = media_type(response)
    assert media in TABULAR_TYPES, (
        f"a SELECT answer should be SPARQL results JSON, XML, CSV or TSV, got Content-Type "
        f"{media!r}: {response.text[:300]!r}")
    if "json" in media:
        doc = response.json()
        variables = doc["head"]["vars"]
        rows = [{v: str(_term(b)) for v, b in row.items()} for row in doc["results"]["bindings"]]
        return variables, rows
    if "xml" in media:
        root = ET.fromstring(response.content)
        assert root.tag == SRX + "sparql", response.text[:300]
        variables = [v.get("name") for v in root.iterfind(f"{SRX}head/{SRX}variable")]
        results = root.find(SRX + "results")
        assert results is not None, f"no <results> in {response.text[:300]!r}"
        rows = [{b.get("name"): "".join(b.itertext()).strip() for b in r.iterfind(SRX + "binding")}
                for r in results.iterfind(SRX + "result")]
        return variables, rows
    text = response.content.decode("utf-8")
    if media == "text/csv":
        lines = list(csv.reader(io.StringIO(text)))
        variables = lines[0]
        return variables, [dict(zip(variables, line, strict=True)) for line in lines[1:]]
    lines = text.rstrip("\n").split("\n")
    header = lines[0].split("\t")
    assert all(v.startswith("?") for v in header), f"a TSV header names ?variables: {header}"
    variables = [v[1:] for v in header]
    return variables, [dict(zip(variables, line.split("\t"), strict=True)) for line in lines[1:]]


def read_graph(response: httpx.Response) -> Graph:
    media = media_type(response)
    assert media in RDF_PARSERS, (
        f"a CONSTRUCT or DESCRIBE answer should be an RDF serialization, got Content-Type "
        f"{media!r}: {response.text[:300]!r}")
    return Graph().parse(data=response.content, format=RDF_PARSERS[media])


# -- the runner ------------------------------------------------------------------------

def url_for(base: str, manifest_path: str) -> str:
    """/sparql/?query=... -> BASE/sparql?query=...: the query string is kept as written."""
    assert manifest_path.startswith(MANIFEST_PATH_PREFIX), manifest_path
    return base + ENDPOINT_PATH + manifest_path[len(MANIFEST_PATH_PREFIX):]


def send(client: httpx.Client, base: str, request: HttpRequest, follow: bool) -> httpx.Response:
    """The request as the manifest writes it: its headers only (httpx's default
    ``Accept: */*`` is dropped, as the manifest sends no Accept header)."""
    built = client.build_request(request.method, url_for(base, request.path),
                                 headers=list(request.headers), content=request.body)
    if not any(name.lower() == "accept" for name, _ in request.headers):
        del built.headers["accept"]
    return client.send(built, follow_redirects=follow)


def describe(request: HttpRequest, response: httpx.Response) -> str:
    return (f"{request.method} {response.request.url} "
            f"[{', '.join(f'{n}: {v}' for n, v in request.headers)}] "
            f"-> {response.status_code} {response.headers.get('content-type', '')!r}: "
            f"{response.text[:300]!r}")


def check_response(test: ProtocolTest, request: HttpRequest, response: httpx.Response) -> None:
    """The expectations the manifest states for this request."""
    what = describe(request, response)
    assert response.status_code // 100 in request.statuses, (
        f"expected a {'/'.join(f'{c}xx' for c in sorted(request.statuses))} status: {what}")
    if request.format == "boolean":
        value = read_boolean(response)
        if request.boolean is not None:
            assert value is request.boolean, f"expected {request.boolean}: {what}"
    elif request.format == "tabular":
        variables, rows = read_table(response)
        if test.id == "query_content_type_select":  # SELECT (1 AS ?value) {}
            assert variables == ["value"] and [r["value"] for r in rows] == ["1"], what
    elif request.format == "RDF":
        graph = read_graph(response)
        if test.id == "query_content_type_construct":  # CONSTRUCT { <s> <p> 1 } WHERE {}
            assert [o for _s, _p, o in graph] == [Literal(1)], what
        if test.id == "query_content_type_describe":  # nothing is known of it
            assert len(graph) == 0, what
    else:
        assert request.format is None, f"unknown mf:expectedFormat {request.format!r}"


def check_read_only(test: ProtocolTest, request: HttpRequest, response: httpx.Response) -> None:
    """An update test against a read-only endpoint: the update is refused with a 4xx; the
    query that would see its effect sees none (every ASK that follows an update in the
    manifest looks in a graph only that update creates, so it must answer false)."""
    what = describe(request, response)
    if request.is_update() or not test.id.startswith("update_"):
        assert response.status_code // 100 == 4, f"a read-only endpoint refuses updates: {what}"
        return
    assert response.status_code // 100 == 2, what
    assert request.format == "boolean", f"{test.id}: only ASK queries follow updates"
    assert read_boolean(response) is False, f"a refused update must change nothing: {what}"


def stored_quads(client: httpx.Client, base: str) -> set[tuple[Node, Node, Node, Node]]:
    response = client.post(base + ENDPOINT_PATH, content=b"SELECT ?s ?p ?o ?g "
                           b"{ GRAPH ?g { ?s ?p ?o } }",
                           headers={"Content-Type": "application/sparql-query",
                                    "Accept": "application/sparql-results+json"})
    assert response.status_code == 200, response.text[:300]
    return {(_term(b["s"]), _term(b["p"]), _term(b["o"]), _term(b["g"]))
            for b in response.json()["results"]["bindings"]}


def test_the_manifest_is_found_and_read():
    assert SUITE is not None, (
        f"the W3C protocol tests are not in {' or '.join(map(str, SUITE_CANDIDATES))}; "
        f"put them there or name their folder in ${SUITE_ENV}")
    assert len(TESTS) == 34 and all(t.requests for t in TESTS)


@pytest.mark.parametrize("test", TESTS, ids=[t.id for t in TESTS])
def test_protocol(test: ProtocolTest, endpoint: Endpoint):
    with httpx.Client(limits=CLIENT_LIMITS, timeout=30) as client:
        for request in test.requests:
            if test.about_updates:
                response = send(client, endpoint.base, request, follow=False)
                check_read_only(test, request, response)
            else:
                response = send(client, endpoint.base, request, follow=3 in request.statuses)
                check_response(test, request, response)
        if test.about_updates:
            assert stored_quads(client, endpoint.base) == endpoint.quads, (
                f"{test.id} changed the data of a read-only endpoint")


def test_the_data_is_unchanged_after_every_update_test(endpoint: Endpoint):
    """Run after the manifest's tests: all the updates together changed nothing, in the
    named graphs or in the default graph (their union)."""
    with httpx.Client(limits=CLIENT_LIMITS, timeout=30) as client:
        assert stored_quads(client, endpoint.base) == endpoint.quads
        response = client.get(endpoint.base + ENDPOINT_PATH,
                              params={"query": "SELECT ?s ?p ?o { ?s ?p ?o }"},
                              headers={"Accept": "application/sparql-results+json"})
        assert response.status_code == 200, response.text[:300]
        triples = {(_term(b["s"]), _term(b["p"]), _term(b["o"]))
                   for b in response.json()["results"]["bindings"]}
        assert triples == {(s, p, o) for s, p, o, _g in endpoint.quads}
