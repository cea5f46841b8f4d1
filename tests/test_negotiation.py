"""Every client gets what it asks for: the Accept headers real clients send (tests/accept.csv,
each with where it comes from) and the format= / output= parameters (tests/formats.csv), for
every query form, a resource and the service description; the answer is a format the client
accepts, never 406 while one exists. Then the resource twins, the prefixes of Turtle, the
page a browser gets for a graph, and SPARQLWrapper itself against the endpoint."""

from __future__ import annotations

import csv
import io
import json
import warnings
from pathlib import Path

import httpx
import pytest
from pyld import jsonld
from rdflib import Graph, URIRef
from rdflib.compare import isomorphic

from tests.server import CLIENT_LIMITS, build_dist, running_server

HERE = Path(__file__).resolve().parent
PERSON = "/person/khedija-zammouri"
QUERIES = {
    "select": "SELECT ?person ?name WHERE { ?person a <http://schema.org/Person> ; "
              "<http://schema.org/name> ?name } ORDER BY ?name LIMIT 3",
    "ask": "ASK { ?s a <http://schema.org/Person> }",
    "construct": "CONSTRUCT { ?s <http://schema.org/name> ?n } WHERE { ?s a "
                 "<http://schema.org/Person> ; <http://schema.org/name> ?n } LIMIT 3",
    "describe": f"DESCRIBE <https://w3id.org/gfd-kg{PERSON}>",
}
RDF_PARSERS = {"text/turtle": "turtle", "application/n-triples": "nt",
               "application/ld+json": "json-ld", "application/rdf+xml": "xml"}


def _rows(name: str) -> list[dict[str, str]]:
    with (HERE / name).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


ACCEPT = _rows("accept.csv")
FORMATS = _rows("formats.csv")


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    dist = build_dist(tmp_path_factory.mktemp("negotiation") / "dist")
    with running_server("--out", str(dist)) as base, \
            httpx.Client(limits=CLIENT_LIMITS, base_url=base, timeout=30) as c:
        yield c


def _ask(client: httpx.Client, form: str, headers: dict[str, str],
         params: dict[str, str] | None = None) -> httpx.Response:
    params = dict(params or {})
    if form == "resource":
        return client.get(PERSON, params=params, headers=headers)
    if form != "description":
        params["query"] = QUERIES[form]
    return client.get("/sparql", params=params, headers=headers)


def _check_body(r: httpx.Response, form: str, media: str) -> None:
    """The body is what its media type says, and not empty."""
    if media == "text/html":
        assert r.text.lstrip().lower().startswith("<!doctype html"), r.text[:200]
    elif media in RDF_PARSERS:
        g = Graph().parse(data=r.content, format=RDF_PARSERS[media],
                          publicID="https://w3id.org/gfd-kg/")
        assert len(g) > 0
    elif media == "application/sparql-results+json":
        doc = r.json()
        assert doc["boolean"] is True if form == "ask" else len(doc["results"]["bindings"]) == 3
    elif media == "application/sparql-results+xml":
        assert b"<sparql" in r.content
    elif media in ("text/csv", "text/tab-separated-values"):
        assert len(r.text.strip().splitlines()) == (2 if form == "ask" else 4), r.text


def _expect(r: httpx.Response, form: str, media: str) -> None:
    if media.isdigit():
        assert r.status_code == int(media), f"{r.status_code}: {r.text[:300]}"
        return
    assert r.status_code == 200, f"{r.status_code}: {r.text[:300]}"
    assert r.headers["content-type"].split(";")[0] == media
    _check_body(r, form, media)


@pytest.mark.parametrize("row", ACCEPT, ids=lambda r: f"{r['client']}-{r['form']}")
def test_what_each_client_sends_gets_what_it_accepts(client, row):
    r = _ask(client, row["form"], {"Accept": row["accept"]})
    _expect(r, row["form"], row["media"])


@pytest.mark.parametrize("row", FORMATS,
                         ids=lambda r: f"{r['form']}-{r['parameter']}={r['value']}")
def test_format_and_output_override_the_accept_header(client, row):
    headers = {"Accept": row["accept"]} if row["accept"] else {}
    r = _ask(client, row["form"], headers, {row["parameter"]: row["value"]})
    _expect(r, row["form"], row["media"])
    if row["media"] == "400":
        assert "names no format" in r.text


def test_sparqlwrapper_style_format_parameters(client):
    """SPARQLWrapper repeats its return format as format=, output= and results=, and for
    some adds the media type as a second value: the one that names a format wins."""
    r = client.get("/sparql", params=[("query", QUERIES["construct"]), ("format", "json-ld"),
                                      ("format", "application/ld+json,application/x-json+ld"),
                                      ("output", "json-ld"), ("results", "json-ld")],
                   headers={"Accept": "application/ld+json,application/x-json+ld"})
    _expect(r, "construct", "application/ld+json")


def test_a_post_without_a_query_is_a_bad_request(client):
    for content, ctype in ((b"", "application/x-www-form-urlencoded"),
                           (b"default-graph-uri=urn%3Ax", "application/x-www-form-urlencoded"),
                           (b"", "application/sparql-query")):
        r = client.post("/sparql", content=content, headers={"Content-Type": ctype})
        assert r.status_code == 400 and "needs a query" in r.text, (ctype, r.text)


def test_a_browser_gets_a_page_of_triples_with_the_graph_one_click_away(client):
    browser = ACCEPT[0]["accept"]
    r = client.get("/sparql", params={"query": QUERIES["construct"]}, headers={"Accept": browser})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert r.text.count("<tr>") == 3 + 1  # the head and a row a triple
    assert "<p>3 triples.</p>" in r.text
    for fmt, media in (("ttl", "text/turtle"), ("jsonld", "application/ld+json")):
        start = r.text.index('rel="alternate">', r.text.index(f"format={fmt}") - 400)
        assert start > 0
        twin = client.get("/sparql", params={"query": QUERIES["construct"], "format": fmt})
        assert twin.headers["content-type"].startswith(media)
        assert len(Graph().parse(data=twin.content, format=RDF_PARSERS[media])) == 3


def test_construct_turtle_is_written_with_the_dataset_prefixes(client):
    r = client.get("/sparql", params={"query": QUERIES["describe"]},
                   headers={"Accept": "text/turtle"})
    assert "@prefix schema: <http://schema.org/> ." in r.text
    assert "schema:name" in r.text


TWINS = {"html": "text/html", "ttl": "text/turtle", "jsonld": "application/ld+json",
         "nt": "application/n-triples", "rdf": "application/rdf+xml"}


@pytest.mark.parametrize("suffix", sorted(TWINS))
def test_every_twin_links_to_all_the_others(client, suffix):
    for how in ("suffix", "accept"):
        r = client.get(f"{PERSON}.{suffix}") if how == "suffix" else \
            client.get(PERSON, headers={"Accept": TWINS[suffix]})
        assert r.status_code == 200 and r.headers["content-type"].startswith(TWINS[suffix])
        assert r.headers["content-location"] == f"{PERSON}.{suffix}"
        links = r.headers["link"]
        for other, media in TWINS.items():
            if other != suffix:
                assert f'<{PERSON}.{other}>; rel="alternate"; type="{media}"' in links, links


def test_the_twins_are_one_graph_and_the_json_ld_is_compacted(client):
    graphs = {s: Graph().parse(data=client.get(f"{PERSON}.{s}").content, format=fmt,
                               publicID="https://w3id.org/gfd-kg/")
              for s, fmt in (("ttl", "turtle"), ("nt", "nt"), ("rdf", "xml"))}
    doc = client.get(f"{PERSON}.jsonld").json()
    assert isinstance(doc["@context"], dict) and doc["@context"]["schema"] == "http://schema.org/"
    keys = {k for node in doc["@graph"] for k in node}
    assert "schema:name" in keys and not any(k.startswith("http") for k in keys), keys
    expanded = jsonld.to_rdf(doc, {"format": "application/n-quads"})
    graphs["jsonld"] = Graph().parse(data=expanded, format="nt")
    assert len(graphs["ttl"]) > 5
    for name, g in graphs.items():
        assert isomorphic(g, graphs["ttl"]), name


def test_a_resource_that_is_not_there_is_404_in_rdf_xml_too(client):
    r = client.get("/person/nobody.rdf")
    assert r.status_code == 404
    assert len(Graph().parse(data=r.content, format="xml")) == 0


SPARQLWRAPPER_CASES = [("select", "json"), ("select", "xml"), ("select", "csv"),
                       ("select", "tsv"), ("ask", "json"), ("ask", "xml"),
                       ("construct", "turtle"), ("construct", "xml"), ("construct", "json-ld"),
                       ("construct", "rdf+xml"), ("construct", "n3"), ("describe", "turtle"),
                       ("describe", "json-ld")]


@pytest.mark.parametrize("form,fmt", SPARQLWRAPPER_CASES)
def test_sparqlwrapper_gets_each_format_it_asks_for(client, form, fmt):
    """SPARQLWrapper 2 itself, as a script would use it: the answer converts."""
    from SPARQLWrapper import SPARQLWrapper

    w = SPARQLWrapper(str(client.base_url).rstrip("/") + "/sparql")
    w.setQuery(QUERIES[form])
    w.setReturnFormat(fmt)
    with warnings.catch_warnings():
        # SPARQLWrapper warns (RuntimeWarning) when the answer is not what it asked for
        warnings.simplefilter("error", RuntimeWarning)
        result = w.query().convert()
    if isinstance(result, Graph):
        assert len(result) > 0
    elif isinstance(result, dict):
        assert result.get("boolean") is True or len(result["results"]["bindings"]) == 3
    elif isinstance(result, bytes):
        text = result.decode("utf-8")
        if fmt in ("csv", "tsv"):
            assert len(text.strip().splitlines()) == 4
        else:  # Turtle or N3, which SPARQLWrapper gives as bytes
            assert len(Graph().parse(data=text, format="turtle")) > 0
    else:  # an XML document
        assert result.getElementsByTagName("sparql") or result.documentElement is not None


def test_csv_and_tsv_parse(client):
    r = client.get("/sparql", params={"query": QUERIES["select"], "format": "csv"})
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0] == ["person", "name"] and len(rows) == 4
    r = client.get("/sparql", params={"query": QUERIES["select"], "format": "json"})
    assert json.loads(r.text)["head"]["vars"] == ["person", "name"]
    assert URIRef(json.loads(r.text)["results"]["bindings"][0]["person"]["value"])


STAR = ("PREFIX schema: <http://schema.org/>\n"
        "SELECT * WHERE { ?zperson a schema:Person ; schema:name ?name . "
        "OPTIONAL { ?zperson schema:affiliation ?an_organisation } } ORDER BY ?name LIMIT 2")


@pytest.mark.parametrize("fmt", ["json", "xml", "csv", "tsv"])
def test_select_star_columns_come_in_the_order_the_pattern_binds_them(client, fmt):
    r = client.get("/sparql", params={"query": STAR, "format": fmt})
    assert r.status_code == 200, r.text
    wanted = ["zperson", "name", "an_organisation"]  # not alphabetical
    if fmt == "json":
        doc = r.json()
        assert doc["head"]["vars"] == wanted and len(doc["results"]["bindings"]) == 2
    elif fmt == "xml":
        assert r.text.index('name="zperson"') < r.text.index('name="name"') < \
            r.text.index('name="an_organisation"')
    else:
        rows = list(csv.reader(io.StringIO(r.text), delimiter="," if fmt == "csv" else "\t"))
        assert [c.lstrip("?") for c in rows[0]] == wanted and len(rows) == 3
        assert rows[1][0].strip("<>").startswith("https://w3id.org/gfd-kg/person/")
