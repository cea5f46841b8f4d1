"""What makes the endpoint fast must not make it less safe: results written by pyoxigraph
are held to the row limit, counted on their bytes however hostile the literals; the cheap
SERVICE screen sends every text that could name the keyword to the parse; a request head
stays bounded, with the status that says which part was too long."""

from __future__ import annotations

import socket

import pyoxigraph as ox
import pytest

from gfd_kg.web.store import NATIVE_RESULTS, may_use_service, more_rows_than, uses_service
from tests.server import running_server
from tests.test_fuzz import SERVICE_QUERIES

# literals that look like the structure of one format or another
TRICKY = ['},{"x":{"type":"uri","value":"a"}}', "line\nbreak\r\nand\ttab", '"quoted", too',
          "<result>", "{}", "[{},{}]", ",{", "\\", "}},{\"", "a,b\r\n\"c\"\r\n", "é ∑ 𝄞"]


@pytest.fixture(scope="module")
def store() -> ox.Store:
    s = ox.Store()
    for n, text in enumerate(TRICKY):
        s.add(ox.Quad(ox.NamedNode(f"urn:s{n}"), ox.NamedNode("urn:p"), ox.Literal(text)))
        s.add(ox.Quad(ox.NamedNode(f"urn:s{n}"), ox.NamedNode("urn:q"),
                      ox.Literal(text, language="en")))
    s.add(ox.Quad(ox.NamedNode("urn:e"), ox.NamedNode("urn:p"), ox.BlankNode("b")))
    return s


QUERIES = {
    "terms": "SELECT ?s ?p ?o WHERE { ?s ?p ?o }",
    "a variable named type": "SELECT ?type ?value WHERE { ?type ?p ?value }",
    "unbound": "SELECT ?x WHERE { ?s ?p ?o OPTIONAL { ?s <urn:none> ?x } }",
    "some unbound": "SELECT ?x ?o WHERE { ?s ?p ?o OPTIONAL { ?o <urn:none> ?x } }",
    "no variables": "SELECT * WHERE { ?s <urn:p> ?o . FILTER(false) } ",
    "empty rows": "SELECT * WHERE { VALUES ?x { UNDEF UNDEF UNDEF } }",
    "triple terms": "SELECT ?t WHERE { ?s ?p ?o BIND(TRIPLE(?s, ?p, ?o) AS ?t) }",
    "none": "SELECT ?s WHERE { ?s <urn:none> ?o }",
}


@pytest.mark.parametrize("media", sorted(NATIVE_RESULTS))
@pytest.mark.parametrize("name", sorted(QUERIES))
def test_rows_are_counted_on_the_bytes(store, name, media):
    """For each limit around the true count, the bytes say 'more' exactly when it is."""
    query = QUERIES[name]
    rows = len(list(store.query(query)))
    fmt = NATIVE_RESULTS[media]
    body = store.query(query).serialize(format=fmt) or b""
    for limit in range(max(0, rows - 2), rows + 3):
        assert more_rows_than(body, fmt, limit) == (rows > limit), (limit, rows, body[:300])


@pytest.mark.parametrize("shape", sorted(SERVICE_QUERIES))
def test_every_service_shape_goes_to_the_parse_and_is_found(shape):
    query = SERVICE_QUERIES[shape].format(url="http://127.0.0.1:1/probe")
    assert may_use_service(query)
    assert uses_service(query)


@pytest.mark.parametrize("query", [
    "SELECT * WHERE { \\u0053ERVICE <http://127.0.0.1:1/x> { ?s ?p ?o } }",
    "SELECT * WHERE { SeRvIcE <http://127.0.0.1:1/x> { ?s ?p ?o } }",
    "SELECT * WHERE { ?s ?p \"\\U00000053ervice\" }",
])
def test_escapes_and_any_case_go_to_the_parse(query):
    assert may_use_service(query)


@pytest.mark.parametrize("word", ["ſERVICE", "SERVİCE", "SERVıCE", "ＳERVICE", "S\u200bERVICE"])
def test_look_alike_keywords_are_not_keywords_to_pyoxigraph(word):
    """The screen folds ASCII case only; that is enough because pyoxigraph's parser does
    too: a keyword written with look-alike letters does not parse."""
    with pytest.raises(SyntaxError):
        ox.Store().query(f"SELECT * WHERE {{ {word} <urn:x:y> {{ ?s ?p ?o }} }}")


def test_a_query_without_the_word_needs_no_parse_one_with_it_in_a_string_is_allowed():
    assert not may_use_service("SELECT ?s WHERE { ?s ?p ?o } LIMIT 3")
    assert not uses_service("SELECT ?s WHERE { ?s ?p ?o } LIMIT 3")
    text = 'SELECT ?s WHERE { ?s ?p "customer service" } # a service of ours'
    assert may_use_service(text) and not uses_service(text)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    trig = tmp_path_factory.mktemp("head") / "data.trig"
    trig.write_text("<urn:g> { <urn:s> <urn:p> <urn:o> . }\n", encoding="utf-8")
    with running_server(str(trig), "--max-query-bytes", "1000") as base:
        yield base


def _exchange(base: str, request: bytes) -> bytes:
    """Send the request (as far as the server reads it) and read the answer to the end."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as s:
        try:
            for start in range(0, len(request), 16_384):
                s.sendall(request[start:start + 16_384])
        except OSError:  # the server stopped reading: its answer is waiting
            pass
        answer = b""
        try:
            while chunk := s.recv(65536):
                answer += chunk
        except ConnectionResetError:
            pass
    return answer


@pytest.mark.parametrize("where,status", [("url", b"414"), ("header", b"431")])
def test_an_endless_request_head_is_refused(server, where, status):
    """--max-query-bytes 1000: the request line may have three times that and 16 KiB, a
    header 64 KiB; 2 MB is past either: 414 URI Too Long (RFC 9110, 15.5.15) or 431 Request
    Header Fields Too Large (RFC 6585, 5)."""
    endless = 2_000_000
    if where == "url":
        head = f"GET /sparql?query={'+' * endless}ASK%7B%7D HTTP/1.1\r\nHost: x\r\n"
    else:
        head = f"GET /health HTTP/1.1\r\nHost: x\r\nX-Long: {'a' * endless}\r\n"
    answer = _exchange(server, (head + "Connection: close\r\n\r\n").encode())
    assert answer.startswith(b"HTTP/1.1 " + status), answer[:200]


def test_heads_under_the_bound_on_one_connection_are_all_answered(server):
    """The bound is per request: many long heads on one kept-alive connection pass."""
    pad = "X-Pad: " + "a" * 40_000 + "\r\n"  # five of them are past the bound together
    one = f"GET /sparql?query=ASK%7B%7D HTTP/1.1\r\nHost: x\r\nAccept: text/csv\r\n{pad}\r\n"
    last = one.replace("\r\n\r\n", "\r\nConnection: close\r\n\r\n")
    answer = _exchange(server, (one * 5 + last).encode())
    assert answer.count(b"HTTP/1.1 200 OK") == 6, answer[:300]
    assert answer.count(b"_askResult\r\ntrue") == 6


@pytest.mark.parametrize("query,may", [
    ("# a shared service centre\nSELECT * WHERE { ?s ?p ?o }", False),
    ("  # SERVICE in an indented comment\nASK {}", False),
    ("SELECT * WHERE { ?s <http://x/#> ?o } # a service", True),  # not a whole-line comment
    ("SELECT * WHERE { <http://x/#a> ?p ?o SERVICE <http://127.0.0.1:1/x> { ?s ?p ?o } }", True),
    ('SELECT * WHERE { ?s ?p "#" SERVICE <http://127.0.0.1:1/x> { ?s ?p ?o } }', True),
    ('SELECT * WHERE { ?s ?p """\n# SERVICE\n""" }', False),  # the inside of a long string
    ("# a comment\nSELECT * WHERE { SERVICE <http://127.0.0.1:1/x> { ?s ?p ?o } }", True),
    # a carriage return ends a comment too
    ("# x\rASK { SERVICE <http://127.0.0.1:1/x> { ?s ?p ?o } }", True),
    # an escaped line break ends the comment: what follows it is code
    ("# x\\u000ASERVICE <http://127.0.0.1:1/x> { ?s ?p ?o }\nASK {}", True),
])
def test_only_whole_line_comments_are_left_out_of_the_scan(query, may):
    assert may_use_service(query) is may
    if "SERVICE <" in query and "\\u" not in query and "\r" not in query:
        assert uses_service(query)
