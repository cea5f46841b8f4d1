"""`gfd-kg serve` as clients use it, over real HTTP on 127.0.0.1: the SPARQL endpoint's
negotiation, limits and refusals, and every IRI of the dataset dereferenced."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from rdflib import Graph, URIRef
from rdflib.compare import isomorphic

from gfd_kg.resources import queries_dir
from tests.server import (
    CLIENT_LIMITS,
    build_dist,
    free_port,
    running_server,
    store_folders,
    wait_until_up,
)

RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
SIMPLE = "ASK { ?s a <https://w3id.org/gfd-kg/ontology/Seminar> }"
JSON_ACCEPT = {"Accept": "application/sparql-results+json"}


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    return build_dist(tmp_path_factory.mktemp("serve") / "dist")


@pytest.fixture(scope="module")
def server(dist):
    with running_server("--out", str(dist), "--timeout", "2", "--max-rows", "1000",
                        "--max-query-bytes", "20000") as base:
        yield base


@pytest.fixture(scope="module")
def client(server):
    with httpx.Client(limits=CLIENT_LIMITS, base_url=server, timeout=30) as c:
        yield c


# -- the endpoint ------------------------------------------------------------------------

@pytest.mark.parametrize("accept,media", [
    ("application/sparql-results+json", "application/sparql-results+json"),
    ("application/sparql-results+xml", "application/sparql-results+xml"),
    ("text/csv", "text/csv"),
    ("text/tab-separated-values", "text/tab-separated-values"),
    ("text/csv;q=0.5, application/sparql-results+xml;q=0.9", "application/sparql-results+xml"),
    ("*/*", "application/sparql-results+json"),
])
def test_select_results_are_negotiated(client, accept, media):
    q = ("SELECT ?name WHERE { ?p a <http://schema.org/Person> ; <http://schema.org/name> ?name }"
         " ORDER BY ?name LIMIT 3")
    r = client.get("/sparql", params={"query": q}, headers={"Accept": accept})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].split(";")[0] == media
    assert "Abdel Razak Henni" in r.text
    assert "Accept" in r.headers.get("vary", "")


@pytest.mark.parametrize("accept,media,fmt", [
    ("text/turtle", "text/turtle", "turtle"),
    ("application/n-triples", "application/n-triples", "nt"),
    ("application/ld+json", "application/ld+json", "json-ld"),
    ("application/rdf+xml", "application/rdf+xml", "xml"),
])
def test_construct_results_are_negotiated(client, accept, media, fmt):
    q = ("CONSTRUCT { ?p <http://schema.org/name> ?n } WHERE { ?p a <http://schema.org/Person> ; "
         "<http://schema.org/name> ?n }")
    r = client.post("/sparql", content=q, headers={"Content-Type": "application/sparql-query",
                                                     "Accept": accept})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].split(";")[0] == media
    g = Graph().parse(data=r.content, format=fmt)
    assert len(g) == 32


def test_query_by_post_form_and_direct_agree(client):
    q = "SELECT (COUNT(*) AS ?n) WHERE { ?s a <http://schema.org/Person> }"
    a = client.post("/sparql", data={"query": q}, headers=JSON_ACCEPT)
    b = client.post("/sparql", content=q, headers={"Content-Type": "application/sparql-query",
                                                     "Accept": "application/sparql-results+json"})
    c = client.get("/sparql", params={"query": q}, headers=JSON_ACCEPT)
    values = [r.json()["results"]["bindings"][0]["n"]["value"] for r in (a, b, c)]
    assert values == ["32", "32", "32"]


def test_default_graph_uri_selects_the_graph(client):
    q = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    data = client.get("/sparql", params={"query": q, "default-graph-uri":
                                         "https://w3id.org/gfd-kg/graph/data"},
                      headers=JSON_ACCEPT)
    every = client.get("/sparql", params={"query": q}, headers=JSON_ACCEPT)
    n_data = int(data.json()["results"]["bindings"][0]["n"]["value"])
    n_all = int(every.json()["results"]["bindings"][0]["n"]["value"])
    assert 1000 < n_data < n_all


def test_malformed_query_gets_400_with_the_parser_message(client):
    r = client.get("/sparql", params={"query": "SELECT ?x WHERE { ?x ?y "})
    assert r.status_code == 400
    assert "does not parse" in r.text


@pytest.mark.parametrize("how", ["form", "direct", "get"])
def test_updates_are_refused_and_change_nothing(client, how):
    update = "INSERT DATA { <urn:x> <urn:y> <urn:z> }"
    if how == "form":
        r = client.post("/sparql", data={"update": update})
    elif how == "direct":
        r = client.post("/sparql", content=update,
                        headers={"Content-Type": "application/sparql-update"})
    else:
        r = client.get("/sparql", params={"update": update})
    assert 400 <= r.status_code < 500
    assert "read-only" in r.text
    ask = client.get("/sparql", params={"query": "ASK { <urn:x> ?p ?o }"},
                     headers=JSON_ACCEPT)
    assert ask.json()["boolean"] is False


def test_service_description_at_sparql_without_query(client):
    r = client.get("/sparql", headers={"Accept": "text/turtle"})
    assert r.status_code == 200
    g = Graph().parse(data=r.text, format="turtle")
    sd = "http://www.w3.org/ns/sparql-service-description#"
    assert (None, URIRef(sd + "endpoint"), None) in g
    names = {str(o) for o in g.objects(None, URIRef(sd + "name"))}
    assert "https://w3id.org/gfd-kg/graph/data" in names


def test_cors_for_browser_clients(client):
    r = client.get("/sparql", params={"query": SIMPLE}, headers={"Origin": "https://example.org"})
    assert r.headers.get("access-control-allow-origin") == "*"
    pre = client.options("/sparql", headers={"Origin": "https://example.org",
                                             "Access-Control-Request-Method": "POST",
                                             "Access-Control-Request-Headers": "content-type"})
    assert pre.status_code == 200
    assert "POST" in pre.headers.get("access-control-allow-methods", "")


def test_a_runaway_query_is_stopped_while_a_simple_one_is_answered(server):
    """The runaway query is stopped at the 2 s limit with a clear error; a query sent while
    it runs is answered in well under a second."""
    outcome: dict[str, object] = {}

    def runaway() -> None:
        started = time.monotonic()
        with httpx.Client(limits=CLIENT_LIMITS, base_url=server, timeout=60) as c:
            r = c.get("/sparql", params={"query": RUNAWAY})
        outcome["runaway"] = (r.status_code, r.text, time.monotonic() - started)

    t = threading.Thread(target=runaway)
    t.start()
    time.sleep(0.3)  # let the runaway query reach the store first (not a readiness wait)
    with other_client(server) as c:
        started = time.monotonic()
        r = c.get("/sparql", params={"query": SIMPLE},
                  headers=JSON_ACCEPT)
        simple_time = time.monotonic() - started
    t.join(timeout=60)
    assert r.status_code == 200 and r.json()["boolean"] is True
    assert simple_time < 1.0
    status, text, took = outcome["runaway"]
    assert status == 503
    assert "stopped after 2 s" in text
    assert took < 6
    # and the endpoint still answers afterwards
    with httpx.Client(limits=CLIENT_LIMITS, base_url=server, timeout=10) as c:
        assert c.get("/sparql", params={"query": SIMPLE}).status_code == 200


def other_client(server: str) -> httpx.Client:
    """A client from another loopback address (127.0.0.2): the server's per-client limits
    count it apart from the tests' usual 127.0.0.1."""
    return httpx.Client(limits=CLIENT_LIMITS, base_url=server, timeout=10,
                        transport=httpx.HTTPTransport(local_address="127.0.0.2"))


def test_many_concurrent_slow_queries_are_stopped_or_refused(server):
    """Eight runaway queries at once from one client: each is stopped at the time limit
    (503) or refused at once (429: too many from one client), and a simple query from
    another client meanwhile is answered in well under a second."""
    results: list[tuple[int, str]] = []
    lock = threading.Lock()

    def slow() -> None:
        with httpx.Client(limits=CLIENT_LIMITS, base_url=server, timeout=60) as c:
            r = c.get("/sparql", params={"query": RUNAWAY})
        with lock:
            results.append((r.status_code, r.text))

    threads = [threading.Thread(target=slow) for _ in range(8)]
    for t in threads:
        t.start()
    time.sleep(0.5)  # let the slow queries arrive first (not a readiness wait)
    with other_client(server) as c:
        started = time.monotonic()
        r = c.get("/sparql", params={"query": SIMPLE},
                  headers=JSON_ACCEPT)
        took = time.monotonic() - started
    for t in threads:
        t.join(timeout=120)
    assert r.status_code == 200 and r.json()["boolean"] is True
    assert took < 1.0
    assert len(results) == 8
    assert {status for status, _ in results} <= {503, 429}
    assert any(status == 429 for status, _ in results)
    for status, text in results:
        assert ("stopped after 2 s" in text) if status == 503 else ("too many queries" in text)


def test_result_size_is_capped(client):
    r = client.get("/sparql", params={"query": "SELECT * WHERE { ?s ?p ?o }"})
    assert r.status_code == 413
    assert "more than 1000 rows" in r.text
    ok = client.get("/sparql", params={"query": "SELECT * WHERE { ?s ?p ?o } LIMIT 1000"})
    assert ok.status_code == 200


def test_query_size_is_capped(client):
    big = "SELECT * WHERE { ?s ?p ?o } #" + "x" * 30_000
    r = client.post("/sparql", content=big, headers={"Content-Type": "application/sparql-query"})
    assert r.status_code == 413
    assert "longer than 20000 bytes" in r.text


# -- dereferencing -------------------------------------------------------------------------

def _subjects(dist: Path) -> list[str]:
    g = Graph().parse(dist / "gfd.ttl", format="turtle")
    return sorted({str(s) for s in g.subjects() if isinstance(s, URIRef)})


def test_every_subject_iri_dereferences_in_html_turtle_and_jsonld(client, dist):
    base = "https://w3id.org/gfd-kg/"
    data = Graph().parse(dist / "gfd.ttl", format="turtle")
    subjects = _subjects(dist)
    assert len(subjects) > 200
    failures = []
    for iri in subjects:
        path = "/" + iri[len(base):]
        html = client.get(path, headers={"Accept": "text/html"})
        ttl = client.get(path, headers={"Accept": "text/turtle"})
        jsonld = client.get(path + ".jsonld")
        if html.status_code != 200 or "text/html" not in html.headers["content-type"]:
            failures.append((iri, "html", html.status_code))
            continue
        if ttl.status_code != 200 or jsonld.status_code != 200:
            failures.append((iri, "rdf", ttl.status_code, jsonld.status_code))
            continue
        got = Graph().parse(data=ttl.text, format="turtle")
        # every asserted triple about the resource is in its description
        missing = [t for t in data.triples((URIRef(iri), None, None)) if t not in got]
        if missing:
            failures.append((iri, "missing", missing[:2]))
        if not isomorphic(Graph().parse(data=jsonld.text, format="json-ld"), got):
            failures.append((iri, "jsonld differs"))
    assert failures == []


@pytest.mark.parametrize("how,media", [
    ({"headers": {"Accept": "text/turtle;q=0.9, application/ld+json"}}, "application/ld+json"),
    ({"headers": {"Accept": "application/n-triples"}}, "application/n-triples"),
    ({"headers": {"Accept": "text/html;q=0.1, text/turtle;q=0.2"}}, "text/turtle"),
    ({"params": {"format": "nt"}}, "application/n-triples"),
    ({"suffix": ".ttl"}, "text/turtle"),
    ({"suffix": ".html"}, "text/html"),
])
def test_resource_negotiation(client, how, media):
    path = "/person/khedija-zammouri" + how.get("suffix", "")
    r = client.get(path, headers=how.get("headers"), params=how.get("params"))
    assert r.status_code == 200
    assert r.headers["content-type"].split(";")[0] == media
    assert "Khedija Zammouri" in r.text


@pytest.mark.parametrize("accept", ["text/html", "text/turtle", "application/ld+json"])
def test_unknown_iri_is_404_in_the_asked_format(client, accept):
    r = client.get("/person/nobody-at-all", headers={"Accept": accept})
    assert r.status_code == 404
    assert r.headers["content-type"].split(";")[0] == accept


def test_ontology_terms_dereference(client):
    r = client.get("/ontology/PublicPrivatePartnership", headers={"Accept": "text/turtle"})
    assert r.status_code == 200
    g = Graph().parse(data=r.text, format="turtle")
    labels = {str(o) for o in g.objects(None, URIRef("http://www.w3.org/2000/01/rdf-schema#label"))}
    assert "Partenariat public-privé" in labels or any("public-priv" in label for label in labels)
    docs = client.get("/ontology/", headers={"Accept": "text/html"})
    assert docs.status_code == 200 and 'id="PublicPrivatePartnership"' in docs.text


def test_void_and_downloads(client, dist):
    r = client.get("/.well-known/void", headers={"Accept": "text/turtle"})
    assert r.status_code == 200
    assert "http://rdfs.org/ns/void#" in r.text
    for name in ("gfd.ttl", "gfd.trig", "SHA256SUMS"):
        d = client.get(f"/download/{name}")
        assert d.status_code == 200
        assert d.content == (dist / name).read_bytes()


@pytest.mark.parametrize("path", ["/download/../pyproject.toml", "/download/%2e%2e/pyproject.toml",
                                  "/download/..%2fpyproject.toml", "/download//etc/passwd",
                                  "/download/embed/../../gfd.ttl"])
def test_downloads_serve_nothing_outside_the_published_files(client, path):
    r = client.get(path)
    assert r.status_code == 404
    assert "[project]" not in r.text and "root:" not in r.text


def test_landing_page_links_downloads_and_examples(client):
    r = client.get("/", headers={"Accept": "text/html"})
    assert r.status_code == 200
    assert "/download/gfd.ttl" in r.text and "/sparql?query=" in r.text
    assert "CC BY 4.0" in r.text


# -- personal contact details ---------------------------------------------------------------

PERSONAL = ("khedija.zammouri@pm.gov.tn", "marco.daglio@oecd.org", "+216 71 56 30 21",
            "+33 1 45 24 98 76", "71 560 072")
CONTACT = "/contact/gfd-2008-tunis/khedija-zammouri"


def _every_route(c: httpx.Client) -> str:
    """Everything a client can get about the contacts, by every route, as one text."""
    texts = []
    for q in ("SELECT * WHERE { ?s ?p ?o }",
              "SELECT * WHERE { GRAPH ?g { ?s ?p ?o } }",
              f"DESCRIBE <https://w3id.org/gfd-kg{CONTACT}>",
              "DESCRIBE <https://w3id.org/gfd-kg/person/khedija-zammouri>"):
        r = c.post("/sparql", content=q, headers={
            "Content-Type": "application/sparql-query",
            "Accept": "application/sparql-results+json, text/turtle"})
        texts.append(r.text)
    for path in (CONTACT, CONTACT + ".ttl", "/person/khedija-zammouri",
                 "/person/marco-daglio.jsonld", "/source/gfd-2008-tunis-agenda/L418-L432"):
        texts.append(c.get(path).text)
    for name in ("gfd.ttl", "gfd.nq", "gfd.trig", "gfd.jsonld", "provenance.ttl", "contacts.ttl"):
        texts.append(c.get(f"/download/{name}").text)
    return "\n".join(texts)


def test_no_personal_contact_detail_by_any_route(dist):
    with running_server("--out", str(dist), "--max-rows", "100000") as base, \
            httpx.Client(limits=CLIENT_LIMITS, base_url=base, timeout=30) as c:
        everything = _every_route(c)
        assert c.get(CONTACT).status_code == 200  # the contact point itself is public
    assert "Seminar programme" in everything
    assert [d for d in PERSONAL if d in everything] == []
    assert "@pm.gov.tn" not in everything and "@oecd.org" not in everything


def test_personal_contact_details_with_the_option(tmp_path):
    from tests.test_cli import run_cli

    out = tmp_path / "dist"
    assert run_cli("build", "--out", str(out), "--include-personal-contacts").returncode == 0
    with running_server("--out", str(out), "--include-personal-contacts",
                        "--max-rows", "100000") as base, \
            httpx.Client(limits=CLIENT_LIMITS, base_url=base, timeout=30) as c:
        everything = _every_route(c)
    assert [d for d in PERSONAL if d not in everything] == []


# -- the store folder ------------------------------------------------------------------------
# The server loads the data into a store in a temporary folder; it must go however the
# server ends. A server stopped by TERM once up is checked by every test (tests/server.py).

def _serve(tmp: Path, *args: str) -> subprocess.Popen:
    """`gfd-kg serve` with ``tmp`` as its TMPDIR, where its store folder goes."""
    return subprocess.Popen([sys.executable, "-m", "gfd_kg", "serve", "--host", "127.0.0.1",
                             *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "TMPDIR": str(tmp)}, start_new_session=True)


@pytest.fixture(scope="module")
def big_data(tmp_path_factory) -> Path:
    """N-Triples the server takes a second or so to load."""
    path = tmp_path_factory.mktemp("big") / "big.nt"
    with path.open("w", encoding="utf-8") as f:
        for n in range(400_000):
            f.write(f'<urn:s{n}> <urn:p{n % 50}> "value {n}" .\n')
    return path


STOPPING = [signal.SIGTERM, signal.SIGINT, signal.SIGHUP]


def _stopped_by(process: subprocess.Popen, signum: int) -> tuple[str, float]:
    """Send the server's session the signal; its output and the seconds it took to end
    (KILLed after a minute, so that a test never leaves it behind)."""
    if process.poll() is None:
        os.killpg(process.pid, signum)
    sent = time.monotonic()
    try:
        out, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=15)
    return out, time.monotonic() - sent


@pytest.mark.parametrize("signum", STOPPING)
def test_a_server_stopped_while_it_loads_removes_its_store(big_data, tmp_path, signum):
    """A service manager's TERM, Ctrl-C, or a closed terminal's HUP, before the server is
    up: it ends at once, with the signal's exit code, its store folder gone, no traceback."""
    process = _serve(tmp_path, "--port", "0", "--store", "disk", str(big_data))
    try:
        deadline = time.monotonic() + 60
        while not store_folders(tmp_path):  # the load has begun
            assert process.poll() is None and time.monotonic() < deadline, process.stdout.read()
            time.sleep(0.005)  # polling interval, not a wait for readiness
    finally:
        out, took = _stopped_by(process, signum)
    assert "serving" not in out, "the load ended before the signal: make the data bigger"
    assert process.returncode in (128 + signum, -signum), out
    assert took < 5, f"{took:.1f} s to stop"
    assert "Traceback" not in out, out
    assert store_folders(tmp_path) == []


@pytest.mark.parametrize("store", ["memory", "disk"])
@pytest.mark.parametrize("signum", STOPPING)
def test_a_server_stopped_while_it_serves_ends_cleanly(dist, tmp_path, signum, store):
    """Up and answering, with a connection kept open: stopped by any of the three within
    5 s (a worker has 3 s to finish what it has), its store folder gone, no traceback."""
    port = free_port()
    process = _serve(tmp_path, "--port", str(port), "--store", store, "--out", str(dist))
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_up(base + "/health", process)
        # a kept-alive connection
        with httpx.Client(limits=CLIENT_LIMITS, base_url=base, timeout=10) as c:
            assert c.get("/sparql", params={"query": SIMPLE}).status_code == 200
    finally:
        out, took = _stopped_by(process, signum)
    assert process.returncode == 0, out
    assert took < 5, f"{took:.1f} s to stop"
    assert "Traceback" not in out, out
    assert store_folders(tmp_path) == []


def test_a_port_in_use_is_said_before_the_store_loads(tmp_path):
    """A clear error and exit code 2 at once, not a traceback after the load: the data
    file given does not even exist, and it is the port that is reported."""
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        process = _serve(tmp_path, "--port", str(port), str(tmp_path / "missing.nt"))
        out, _ = process.communicate(timeout=60)
    assert process.returncode == 2, out
    assert out.startswith(f"gfd-kg: error: cannot serve on 127.0.0.1:{port}: "
                          "Address already in use"), out
    assert "Traceback" not in out
    assert store_folders(tmp_path) == []


# -- the two stores ------------------------------------------------------------------------

def _answers(c: httpx.Client, query: str) -> tuple[int, list[str]]:
    """Status and rows (in no particular order: each store may list them in its own)."""
    r = c.get("/sparql", params={"query": query},
              headers=JSON_ACCEPT)
    if r.status_code != 200:
        return r.status_code, [r.text]
    doc = r.json()
    if "boolean" in doc:
        return 200, [str(doc["boolean"])]
    return 200, sorted(json.dumps(b, sort_keys=True) for b in doc["results"]["bindings"])


def test_the_store_on_disk_answers_as_the_one_in_memory(dist, client, tmp_path):
    """The default store is in memory, loaded once and shared by the forked server
    processes; --store disk serves the same data from a temporary on-disk store: the same
    quads, every competency query's answer, the same IRI pages, and nothing left behind."""
    queries = [SIMPLE] + [p.read_text(encoding="utf-8") for p in sorted(queries_dir().glob("*.rq"))]
    with running_server("--out", str(dist), "--timeout", "2", "--max-rows", "1000",
                        "--max-query-bytes", "20000", "--store", "disk") as base, \
            httpx.Client(limits=CLIENT_LIMITS, base_url=base, timeout=30) as disk:
        assert disk.get("/health").json() == client.get("/health").json()
        for query in queries:
            assert _answers(disk, query) == _answers(client, query), query[:200]
        for path in ("/person/hasan-hourani", "/event/gfd-2008-tunis"):
            turtle = [Graph().parse(data=c.get(path, headers={"Accept": "text/turtle"}).text,
                                    format="turtle") for c in (disk, client)]
            assert len(turtle[0]) > 5 and isomorphic(*turtle), path


def test_a_store_that_is_neither_memory_nor_disk_is_refused(dist, tmp_path):
    process = _serve(tmp_path, "--port", "0", "--store", "ram", "--out", str(dist))
    out, _ = process.communicate(timeout=60)
    assert process.returncode == 2, out
    assert out.strip() == "gfd-kg: error: --store is memory or disk, not 'ram'"


def test_the_landing_page_says_which_download_to_take(client):
    """The one file that answers every query first, and each download with what it is for."""
    html = client.get("/", headers={"Accept": "text/html"}).text
    table = html[html.index('id="downloads"'):]
    files = re.findall(r'<a href="/download/([^"]+)">', table)
    assert files[:2] == ["gfd-all.ttl", "gfd-all.nt"], files
    assert "every example query gives the same rows on it as here" in table
    assert "the triples of the SPARQL endpoint&#39;s default graph" in table  # as Jinja2 escapes
    assert "The asserted data only" in table
