"""Hostile text in the records, end to end: a copy of data/ whose names, titles,
descriptions and questions carry markup, script, quotes, backslashes, bidi controls,
Arabic, combining marks, zero-width joiners and a 5,000-character name is built with
``gfd-kg build --data`` and served with ``gfd-kg serve``. Over HTTP every page must show
the text as text (escaped, no element or attribute made of it), every JSON-LD block must
parse and hold it intact without being able to close its ``<script>``, and every RDF and
SPARQL results format must carry it unchanged. In Debian's Chromium no script of the data
runs: no dialog, no ``alert``, no request for ``<img src=x>``, no console error.
Screenshots are kept in tests/artifacts/hostile-*.png."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.error import HTTPError
from urllib.parse import quote, urlencode, urlsplit
from urllib.request import Request, urlopen

import pytest
import yaml
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS, SH, SKOS
from rdflib.query import Result

from gfd_kg import artefacts
from gfd_kg.docs import ontology_html, shapes_html
from gfd_kg.iris import IRIs, base_from_env
from gfd_kg.resources import data_dir
from gfd_kg.settings import DataLayout
from tests.chromium import ARTIFACTS
from tests.server import running_server
from tests.test_cli import run_cli

SCHEMA = "http://schema.org/"
BASE = base_from_env()  # the base the build and the server mint IRIs under

# --- the hostile values ----------------------------------------------------------------

ARABIC = "الحكومة الإلكترونية"
PERSON_NAME = "Tim <script>alert(1)</script> \"Young\" 'O'Brien' back\\slash"
TALK_TITLE = ("Case \"><img src=x onerror=alert(2)> </script><script>alert(3)</script> "
              "'single' \"double\" \\back")
SESSION_NAME = f"Session <script>alert(1)</script> \"2\" 'two' \\ \u200f{ARABIC}"
SESSION_DESCRIPTION = (f"Arabic \u202egnirts\u202c \u200f{ARABIC}\u200f "
                       "<!--<script>alert(4)</script> e\u0301\u0301\u0301 "
                       "\U0001F469\u200d\U0001F4BB </script><script>alert(3)</script> end")
ORG_ALT_NAME = "ITA \"><img src=x onerror=alert(2)> 'q' \\"
QUESTION_TEXT = ("Why <script>alert(1)</script> and </script><script>alert(3)</script> "
                 f"a\u200db \u202eright-to-left\u202c {ARABIC} e\u0301\u0301\u0301?")
_UNIT = "Pe\u0301\u0301\u0301dro\u200dAndrés \u202eAmo\u202c "
LONG_NAME = (_UNIT * (5000 // len(_UNIT) + 1))[:4999] + "Z"
assert len(LONG_NAME) == 5000

HOSTILE = {
    "person-name": PERSON_NAME, "long-name": LONG_NAME, "talk-title": TALK_TITLE,
    "session-name": SESSION_NAME, "session-description": SESSION_DESCRIPTION,
    "org-alternate-name": ORG_ALT_NAME, "question-text": QUESTION_TEXT,
}

PERSON = "person/tim-young"
LONG_PERSON = "person/pedro-andres-amo"
TALK = "event/gfd-2008-tunis/session-2/talk-1"
SESSION = "event/gfd-2008-tunis/session-2"
SEMINAR = "event/gfd-2008-tunis"
ORG = "organization/om-information-technology-authority"
QUESTION = "question/gfd-2008-tunis/session-2/discussion/q1"

# (record file, list key, record id, field, value)
EDITS = [
    ("gfd-2008-tunis/people.yaml", "persons", "tim-young", "name", PERSON_NAME),
    ("gfd-2008-tunis/people.yaml", "persons", "pedro-andres-amo", "name", LONG_NAME),
    ("gfd-2008-tunis/talks.yaml", "talks", "gfd-2008-tunis/session-2/talk-1", "name", TALK_TITLE),
    ("gfd-2008-tunis/programme.yaml", "events", "gfd-2008-tunis/session-2", "name", SESSION_NAME),
    ("gfd-2008-tunis/programme.yaml", "events", "gfd-2008-tunis/session-2", "description",
     SESSION_DESCRIPTION),
    ("gfd-2008-tunis/organizations.yaml", "organizations", "om-information-technology-authority",
     "alternate_names", [ORG_ALT_NAME]),
    ("gfd-2008-tunis/questions.yaml", "questions", "gfd-2008-tunis/session-2/discussion/q1",
     "text", QUESTION_TEXT),
]

# (resource path, property, value): each hostile value where the graph holds it
TRIPLES = [
    (PERSON, "name", PERSON_NAME), (LONG_PERSON, "name", LONG_NAME), (TALK, "name", TALK_TITLE),
    (SESSION, "name", SESSION_NAME), (SESSION, "description", SESSION_DESCRIPTION),
    (ORG, "alternateName", ORG_ALT_NAME), (QUESTION, "text", QUESTION_TEXT),
]

# page -> (hostile values shown as text, hostile values in its JSON-LD block)
PAGES: dict[str, tuple[set[str], set[str]]] = {
    PERSON: ({PERSON_NAME}, {PERSON_NAME}),
    LONG_PERSON: ({LONG_NAME}, {LONG_NAME}),
    TALK: ({TALK_TITLE, PERSON_NAME}, set()),  # talks have no embedding of their own
    SESSION: ({SESSION_NAME, SESSION_DESCRIPTION, TALK_TITLE},
              {SESSION_NAME, SESSION_DESCRIPTION, TALK_TITLE, PERSON_NAME, LONG_NAME}),
    SEMINAR: ({SESSION_NAME},
              {SESSION_NAME, SESSION_DESCRIPTION, TALK_TITLE, PERSON_NAME, LONG_NAME}),
    ORG: ({ORG_ALT_NAME}, set()),
    QUESTION: ({QUESTION_TEXT}, set()),
}

# Every literal that holds a hostile value, and a comment that tries to end the textarea
# the results page shows the query in.
HOSTILE_QUERY = """SELECT DISTINCT ?s ?p ?o WHERE {
  ?s ?p ?o .
  FILTER(isLiteral(?o) && (CONTAINS(STR(?o), "alert(") || CONTAINS(STR(?o), "%s")
                           || STRLEN(STR(?o)) >= 5000))
} ORDER BY ?s ?p
# </textarea><script>alert(5)</script>
""" % ARABIC  # noqa: UP031 - a text of braces reads best with one %s

RESULT_TYPES = {
    "json": "application/sparql-results+json",
    "xml": "application/sparql-results+xml",
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
}

# markup the data must never become, outside a JSON-LD block
_RAW = ("<script", "</script", "<img", "<iframe", "<!--<script")
_LD_JSON = re.compile(r"<script\b([^>]*)>(.*?)</script\s*>", re.S | re.I)


# --- the hostile build and its server --------------------------------------------------

def _edit(data: Path, rel: str, key: str, ident: str, field: str, value: Any) -> None:
    """Give the record the hostile value, and the agenda a new last line that prints it,
    which the record cites too: the build checks that a record's text is in its lines."""
    agenda = DataLayout(data).agenda
    text = agenda.read_text(encoding="utf-8")
    printed = value[0] if isinstance(value, list) else value
    agenda.write_text(f"{text.rstrip(chr(10))}\n\n{printed}\n", encoding="utf-8")
    new_line = text.rstrip("\n").count("\n") + 3
    path = data / "records" / rel
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    [record] = [r for r in doc[key] if r["id"] == ident]
    record[field] = value
    record["lines"] = f"{record['lines']}, {new_line}"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=10**6),
                    encoding="utf-8")


@pytest.fixture(scope="module")
def hostile_dist(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("hostile")
    data = root / "data"
    shutil.copytree(data_dir(), data)
    for edit in EDITS:
        _edit(data, *edit)
    out = root / "dist"
    result = run_cli("build", "--data", str(data), "--out", str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "asserted graph: 0 violations" in result.stdout
    assert "reasoned graph: 0 violations" in result.stdout
    return out


@pytest.fixture(scope="module")
def server(hostile_dist: Path) -> Iterator[str]:
    with running_server("--out", str(hostile_dist)) as base:
        yield base


def get(url: str, accept: str | None = None) -> tuple[int, str, bytes]:
    request = Request(url, headers={"Accept": accept} if accept else {})
    try:
        with urlopen(request, timeout=30) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read()
    except HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read()


def _iri(path: str) -> URIRef:
    return URIRef(BASE + path)


# --- reading a page as a browser's parser would ----------------------------------------

class _Page(HTMLParser):
    """The text nodes (character references resolved), the elements and their attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self.elements: list[tuple[str, list[tuple[str, str | None]]]] = []
        self._raw = 0  # inside <script> or <style>

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, attrs))
        if tag in ("script", "style"):
            self._raw += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, attrs))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._raw -= 1

    def handle_data(self, data: str) -> None:
        if not self._raw:
            self.texts.append(data)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def _is_hostile_copy(s: str) -> bool:
    return "alert(" in s or ARABIC in s or "\u202e" in s or len(s) >= 5000


# the query editor's scripts (served by the app from /static/) and its JSON configuration
_EDITOR_SCRIPT = re.compile(r' src="/static/[a-z/.]+\?v=[0-9A-Za-z.-]+" defer')
_EDITOR_CONFIG = ' type="application/json" id="editor-config"'


def check_page(html_text: str) -> tuple[list[str], list[Any]]:
    """Assert the page cannot run the data; return its text nodes and its JSON-LD docs."""
    blocks = list(_LD_JSON.finditer(html_text))
    docs = []
    for m in blocks:
        if _EDITOR_SCRIPT.fullmatch(m.group(1)) and not m.group(2):
            continue  # YASGUI's script or ours (gfd_kg/web/editor.py), by address
        if m.group(1) == _EDITOR_CONFIG:  # the editor's configuration: no text of the data
            config = json.loads(m.group(2))
            assert not any(_is_hostile_copy(s) for s in _strings(config))
            continue
        assert re.search(r'\btype="application/ld\+json"', m.group(1)), m.group(0)[:200]
        body = m.group(2)
        # the element ends at the first "</script": inside, no string may contain it,
        # nor open a comment (a later "<script" would then swallow the page)
        assert "</script" not in body.lower()
        assert "<!--" not in body
        docs.append(json.loads(body))
    rest = _LD_JSON.sub("", html_text)
    lowered = rest.lower()
    for raw in _RAW:
        assert raw not in lowered, (raw, rest[max(0, lowered.find(raw) - 200):][:400])
    parser = _Page()
    parser.feed(html_text)
    parser.close()
    for tag, attrs in parser.elements:
        assert tag not in ("img", "iframe", "object", "embed"), (tag, attrs)
        assert tag != "script" or dict(attrs).get("type") == "application/ld+json" or \
            str(dict(attrs).get("src")).startswith("/static/") or \
            dict(attrs) == {"type": "application/json", "id": "editor-config"}, attrs
        for name, value in attrs:
            assert not name.startswith("on"), (tag, attrs)
            if name in ("href", "src", "action") and value:
                assert not value.strip().lower().startswith(("javascript:", "data:text")), value
    # every JSON string that carries hostile text is one of the values, whole
    for doc in docs:
        for s in _strings(doc):
            if _is_hostile_copy(s):
                assert s in HOSTILE.values(), s[:300]
    return parser.texts, docs


# The checks themselves catch what they are for: a page that let the data through.
_LEAKS = {
    "raw script": "<p>Tim <script>alert(1)</script></p>",
    "attribute breakout": '<a title="x"><img src=x onerror=alert(2)>">x</a>',
    "json closes its script": '<script type="application/ld+json">'
                              '{"name": "</script><script>alert(3)</script>"}</script>',
    "json opens a comment": '<script type="application/ld+json">{"name": "<!--<script>"}</script>',
    "mangled copy in json": '<script type="application/ld+json">'
                            '{"name": "Tim <script>alert(1)"}</script>',
    "event handler": '<p onmouseover="alert(1)">x</p>',
}


@pytest.mark.parametrize("name", list(_LEAKS))
def test_check_page_catches_a_leak(name):
    with pytest.raises((AssertionError, ValueError)):  # ValueError: JSON cut short
        check_page(_LEAKS[name])


# --- over HTTP -------------------------------------------------------------------------

def test_the_hostile_copy_is_built_and_keeps_every_value(hostile_dist):
    g = Graph().parse(hostile_dist / "gfd.nt", format="nt")
    for path, prop, value in TRIPLES:
        assert value in {str(o) for o in g.objects(_iri(path), URIRef(SCHEMA + prop))}, path
    assert len(LONG_NAME) == 5000


@pytest.mark.parametrize("path", list(PAGES))
def test_page_shows_hostile_text_as_text(server, path):
    status, ctype, body = get(f"{server}/{path}", "text/html")
    assert status == 200 and ctype.startswith("text/html")
    html_text = body.decode("utf-8")
    texts, docs = check_page(html_text)
    shown, embedded = PAGES[path]
    for value in shown:
        assert any(value in t for t in texts), (path, value[:80])
    strings = {s for doc in docs for s in _strings(doc)}
    for value in embedded:
        assert value in strings, (path, value[:80])
    if embedded:
        assert len(docs) == 1


def test_escaped_forms_are_in_the_html(server):
    """The markup characters as references, quotes too (html.escape writes &quot; and
    &#x27;, Jinja2's escaping &#34; and &#39;)."""
    html_text = get(f"{server}/{PERSON}", "text/html")[2].decode("utf-8")
    assert "Tim &lt;script&gt;alert(1)&lt;/script&gt; &quot;Young&quot; &#39;O&#39;Brien" \
        in html_text.replace("&#x27;", "&#39;").replace("&#34;", "&quot;")
    talk = get(f"{server}/{TALK}", "text/html")[2].decode("utf-8")
    assert "&quot;&gt;&lt;img src=x onerror=alert(2)&gt;" in talk.replace("&#34;", "&quot;")


def test_seminar_timeline_shows_the_session_name_as_text(server):
    html_text = get(f"{server}/{SEMINAR}", "text/html")[2].decode("utf-8")
    svg = html_text[html_text.index("<svg"):html_text.index("</svg>")]
    parser = _Page()
    parser.feed(svg)
    assert any(SESSION_NAME in t for t in parser.texts)
    assert "<script" not in svg.lower()


@pytest.mark.parametrize("suffix,fmt,accept", [
    ("ttl", "turtle", "text/turtle"),
    ("jsonld", "json-ld", "application/ld+json"),
    ("nt", "nt", "application/n-triples"),
])
def test_rdf_answers_carry_the_exact_strings(server, suffix, fmt, accept):
    for path, prop, value in TRIPLES:
        for url, asked in ((f"{server}/{path}.{suffix}", None), (f"{server}/{path}", accept)):
            status, ctype, body = get(url, asked)
            assert status == 200 and ctype.startswith(accept), (url, status, ctype)
            g = Graph().parse(data=body.decode("utf-8"), format=fmt)
            objects = list(g.objects(_iri(path), URIRef(SCHEMA + prop)))
            assert value in {str(o) for o in objects}, (url, prop)
            assert all(isinstance(o, Literal) for o in objects)


@pytest.mark.parametrize("name,fmt", [("gfd.ttl", "turtle"), ("gfd.nt", "nt"),
                                      ("gfd.jsonld", "json-ld")])
def test_downloads_carry_the_exact_strings(server, name, fmt):
    url = f"{server}/download/{name}"
    status, _ctype, body = get(url)
    assert status == 200
    # gfd.jsonld names its context relatively ("context.jsonld"), served beside it
    g = Graph().parse(data=body.decode("utf-8"), format=fmt, publicID=url)
    for path, prop, value in TRIPLES:
        assert value in {str(o) for o in g.objects(_iri(path), URIRef(SCHEMA + prop))}, (name, path)


def _sparql_url(server: str, query: str = HOSTILE_QUERY) -> str:
    return f"{server}/sparql?" + urlencode({"query": query})


@pytest.mark.parametrize("fmt", list(RESULT_TYPES))
def test_sparql_results_carry_the_exact_strings(server, fmt):
    status, ctype, body = get(_sparql_url(server), RESULT_TYPES[fmt])
    assert status == 200 and ctype.startswith(RESULT_TYPES[fmt]), (status, ctype)
    rows = {(str(s), str(p), o) for s, p, o in Result.parse(io.BytesIO(body), format=fmt)}
    found = {(s, p, str(o)) for s, p, o in rows}
    expected = {(str(_iri(path)), SCHEMA + prop, value) for path, prop, value in TRIPLES}
    assert expected <= found
    # no other, mangled copy of a hostile value: each row is one of the values, whole
    assert {v for _s, _p, v in found} == set(HOSTILE.values())
    if fmt in ("json", "xml", "tsv"):  # these keep the literal's language
        langs = {(s, p): o.language for s, p, o in rows}
        assert langs[(str(_iri(PERSON)), SCHEMA + "name")] is None
        assert langs[(str(_iri(SESSION)), SCHEMA + "description")] == "en"
        assert langs[(str(_iri(QUESTION)), SCHEMA + "text")] == "en"
    text = body.decode("utf-8")
    if fmt == "json":
        values = {b["o"]["value"] for b in json.loads(text)["results"]["bindings"]}
        assert values == set(HOSTILE.values())
    elif fmt == "xml":
        import xml.etree.ElementTree as ET

        ET.fromstring(body)  # well-formed
        assert "<script" not in text and "<img" not in text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    elif fmt == "csv":
        table = list(csv.reader(io.StringIO(text, newline="")))
        assert table[0] == ["s", "p", "o"]
        assert {r[2] for r in table[1:]} == set(HOSTILE.values())
    elif fmt == "tsv":
        lines = text.rstrip("\n").split("\n")
        assert lines[0].split("\t") == ["?s", "?p", "?o"]
        # no value broke a line (each is in a data triple and in the quote of its agenda line)
        assert len(lines) == 1 + len(rows) == 1 + 2 * len(HOSTILE)
        assert all(line.count("\t") == 2 for line in lines)


def test_sparql_results_page_escapes_values_and_query(server):
    status, _ctype, body = get(_sparql_url(server), "text/html")
    assert status == 200
    texts, docs = check_page(body.decode("utf-8"))
    assert docs == []
    for value in HOSTILE.values():
        assert any(value in t for t in texts), value[:80]
    # the query comes back whole in the textarea: its "</textarea>" did not end it
    assert any(HOSTILE_QUERY.strip() in t for t in texts)


def test_sparql_error_page_escapes_the_query(server):
    bad = "SELECT * WHERE { <script>alert(1)</script> \"><img src=x onerror=alert(2)> }"
    status, ctype, body = get(_sparql_url(server, bad), "text/html")
    assert status == 400 and ctype.startswith("text/html"), status
    texts, _ = check_page(body.decode("utf-8"))
    assert any(bad in t for t in texts)


def test_not_found_page_escapes_the_path(server):
    """An unknown IRI is named on its 404 page: as text (these characters are all allowed
    in an IRI, so the store can be asked about it)."""
    hostile = "x'onmouseover=alert(1)&y=\u202e\u0301(" + ARABIC.replace(" ", "_") + ")"
    path = "/person/" + quote(hostile, safe="")
    status, ctype, body = get(server + path, "text/html")
    assert status == 404 and ctype.startswith("text/html")
    texts, _ = check_page(body.decode("utf-8"))
    assert any(BASE + "person/" + hostile in t for t in texts)
    status, _ctype, body = get(server + path + ".jsonld")
    assert status == 404
    assert BASE + "person/" + hostile in json.loads(body)["error"]


# Characters an IRI cannot hold: the server answers 404 for such a path and 400 for such
# a graph parameter, and reflects nothing executable.
_NOT_AN_IRI = "<script>alert(1)</script>\"><img src=x onerror=alert(2)>"


@pytest.mark.parametrize("suffix,accept", [("", "text/html"), (".ttl", None),
                                           (".jsonld", None)])
def test_a_path_that_is_no_iri_is_not_found(server, suffix, accept):
    path = "/person/" + quote(_NOT_AN_IRI, safe="") + suffix
    status, ctype, body = get(server + path, accept)
    assert status in (400, 404), (status, body[:200])
    if ctype.startswith("text/html"):
        check_page(body.decode("utf-8"))


@pytest.mark.parametrize("param", ["default-graph-uri", "named-graph-uri"])
def test_a_graph_uri_that_is_no_iri_is_a_bad_request(server, param):
    url = f"{server}/sparql?" + urlencode({"query": "ASK {}", param: _NOT_AN_IRI})
    status, _ctype, body = get(url, RESULT_TYPES["json"])
    assert status == 400, (status, body[:200])


# --- in the browser --------------------------------------------------------------------

# Defined before any script of the page runs: a script of the data that ran would mark it.
_PROBE = """
(() => {
  const mark = (what) => (...args) => {
    window.__pwned = (window.__pwned || []).concat([what + ':' + args.join(',')]);
  };
  window.alert = mark('alert');
  window.confirm = mark('confirm');
  window.prompt = mark('prompt');
})();
"""

# A path that names no resource, and a query the store refuses, each with markup
NOT_FOUND_PATH = "/person/" + quote("x'onmouseover=alert(1)&y=\u202e(" + ARABIC + ")", safe="")
BAD_QUERY = "SELECT * WHERE { <script>alert(1)</script> \"><img src=x onerror=alert(2)> }"

BROWSER_PAGES = {
    "landing": ("/", set()),
    "country": ("/country/united-states", {TALK_TITLE}),
    "not-found": (NOT_FOUND_PATH, set()),
    "sparql-error": ("/sparql?" + urlencode({"query": BAD_QUERY}), {BAD_QUERY}),
    "person": (f"/{PERSON}", {PERSON_NAME}),
    "long-name": (f"/{LONG_PERSON}", {LONG_NAME}),
    "talk": (f"/{TALK}", {TALK_TITLE, PERSON_NAME}),
    "session": (f"/{SESSION}", {SESSION_NAME, SESSION_DESCRIPTION, TALK_TITLE}),
    "seminar": (f"/{SEMINAR}", {SESSION_NAME}),
    "organization": (f"/{ORG}", {ORG_ALT_NAME}),
    "question": (f"/{QUESTION}", {QUESTION_TEXT}),
}


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(_PROBE)
    pg = context.new_page()
    pg.errors, pg.dialogs, pg.requests = [], [], []  # type: ignore[attr-defined]
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    pg.on("console", lambda m: pg.errors.append(m.text) if m.type == "error" else None)

    def on_dialog(d) -> None:
        pg.dialogs.append(d.message)
        d.dismiss()

    pg.on("dialog", on_dialog)
    # pages load nothing but themselves and the query editor's files: any other request
    # (<img src=x>...) is the data's
    pg.on("request", lambda r: pg.requests.append(r.url) if r.resource_type != "document"
          and not _editor_request(r) else None)
    yield pg
    context.close()


def _editor_request(request) -> bool:
    """The editor's files, or a query the editor sends to the site's own endpoint."""
    parts = urlsplit(request.url)
    return parts.hostname == "127.0.0.1" and (parts.path.startswith("/static/") or (
        parts.path == "/sparql" and request.resource_type in ("fetch", "xhr")))


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"hostile-{name}.png"), full_page=True)


def assert_nothing_ran(page) -> None:
    assert page.evaluate("window.__pwned") is None
    assert page.dialogs == []  # type: ignore[attr-defined]
    assert page.errors == []  # type: ignore[attr-defined]
    assert page.requests == []  # type: ignore[attr-defined]
    assert page.evaluate("""() => [...document.querySelectorAll('*')].filter(e =>
        ['IMG', 'IFRAME', 'OBJECT', 'EMBED'].includes(e.tagName)
        || [...e.attributes].some(a => a.name.startsWith('on'))).length""") == 0
    scripts = page.eval_on_selector_all("script", "els => els.map(e => [e.type, e.textContent])")
    for kind, text in scripts:
        if kind == "" and text == "":  # the editor's, by address (checked by check_page)
            continue
        assert kind in ("application/ld+json", "application/json")
        for s in _strings(json.loads(text)):
            if _is_hostile_copy(s):
                assert s in HOSTILE.values(), s[:300]


def test_the_probe_sees_a_script_that_runs(page):
    page.set_content("<p>x</p><img src=x onerror=alert(2)><script>confirm(1)</script>")
    page.wait_for_function("(window.__pwned || []).length == 2")
    assert sorted(page.evaluate("window.__pwned")) == ["alert:2", "confirm:1"]
    assert page.dialogs == []  # type: ignore[attr-defined]  # the probe answered them


@pytest.mark.parametrize("name", list(BROWSER_PAGES))
def test_browser_shows_hostile_text_and_runs_none(server, page, name):
    path, shown = BROWSER_PAGES[name]
    response = page.goto(server + path)
    page.wait_for_load_state("load")
    shot(page, name)
    status = response.status if response is not None else 0
    assert status == {"not-found": 404, "sparql-error": 400}.get(name, 200)
    if status >= 400:  # Chromium logs the page's own status as an error
        page.errors.remove("Failed to load resource: the server responded with a status of "
                           f"{status} ({response.status_text})")
    assert_nothing_ran(page)
    text = page.inner_text("body")
    content = page.text_content("body") or ""
    for value in shown:
        assert value in content, value[:80]
    if name == "person":
        assert page.text_content("h1") == PERSON_NAME
        assert "<script>alert(1)</script>" in page.inner_text("h1")
        assert "<script>alert(1)</script>" in text
    if name == "long-name":
        assert page.text_content("h1") == LONG_NAME
    if name == "talk":
        assert page.text_content("h1") == TALK_TITLE
        assert '"><img src=x onerror=alert(2)>' in text
    if name == "question":
        assert page.text_content("h1") == QUESTION_TEXT
    if name == "session":
        assert page.text_content("h1") == SESSION_NAME
        assert "</script><script>alert(3)</script>" in text
    if name == "not-found":
        assert "onmouseover=alert(1)" in content
    if shown and path.lstrip("/") in PAGES:
        embedded = PAGES[path.lstrip("/")][1]
        scripts = page.eval_on_selector_all("script", "els => els.map(e => e.textContent)")
        strings = {s for t in scripts for s in _strings(json.loads(t))}
        assert embedded <= strings


def _result_values(page) -> set[str]:
    """The cells' texts; a language-tagged literal is shown as its text in a span[lang]
    followed by "@en"."""
    return set(page.eval_on_selector_all("table#results tbody td", """tds => tds.map(td => {
        const text = td.querySelector('span[lang]');
        return (text || td).textContent;
    })"""))


def test_browser_sparql_results_show_hostile_values(server, page):
    page.goto(_sparql_url(server))
    page.wait_for_selector("table#results")
    shot(page, "results")
    assert_nothing_ran(page)
    assert set(HOSTILE.values()) <= _result_values(page)
    assert "<script>alert(1)</script>" in page.inner_text("table#results")
    assert page.input_value("textarea[name='query']") == HOSTILE_QUERY
    # and run again in the editor that took the form's place, as a person would: YASGUI's
    # table shows the values as text too, and runs none of them
    page.wait_for_selector(".yasqe .CodeMirror")
    assert page.evaluate("window.gfdEditor.getTab().getQuery()") == HOSTILE_QUERY
    page.click(".yasqe_queryButton")
    page.locator(".yasr table.dataTable tbody tr").first.wait_for()
    assert page.locator("table#results").is_hidden()  # the page's answer gave way
    assert_nothing_ran(page)
    assert "<script>alert(1)</script>" in page.inner_text(".yasr table.dataTable")
    shot(page, "results-editor")


# --- the documentation pages, made from hostile graphs ----------------------------------

JS_IRI = URIRef("javascript:alert(1)")


def hostile_ontology(iris: IRIs) -> Graph:
    """The project's ontology with hostile labels, definitions and a javascript: link on a
    class, a property and a concept, and a class of its own with a hostile name."""
    g = artefacts.ontology(iris)
    gfdo = iris.ontology
    for term in (gfdo.Seminar, gfdo.withinOrganization, gfdo.SharedServiceCentre):
        g.add((term, RDFS.label, Literal(PERSON_NAME, lang="en")))
        g.add((term, SKOS.definition, Literal(SESSION_DESCRIPTION, lang="fr")))
        g.add((term, RDFS.comment, Literal(TALK_TITLE)))
        g.add((term, RDFS.seeAlso, JS_IRI))
    g.add((gfdo.Hostile, RDF.type, OWL.Class))
    g.add((gfdo.Hostile, SKOS.prefLabel, Literal(QUESTION_TEXT, lang="en")))
    g.add((gfdo.Hostile, RDFS.subClassOf, JS_IRI))
    return g


def hostile_shapes(iris: IRIs) -> Graph:
    """The project's shapes with a blank node shape whose name, messages, pattern and SPARQL
    constraint carry markup, and a javascript: target."""
    g = artefacts.shapes(iris)
    shape, prop, sparql = BNode(), BNode(), BNode()
    g.add((shape, RDF.type, SH.NodeShape))
    g.add((shape, SH.name, Literal(PERSON_NAME)))
    g.add((shape, SH.description, Literal(SESSION_DESCRIPTION, lang="en")))
    g.add((shape, SH.targetNode, JS_IRI))
    g.add((shape, SH.message, Literal(TALK_TITLE)))
    g.add((shape, SH.property, prop))
    g.add((prop, SH.path, URIRef(SCHEMA + "name")))
    g.add((prop, SH.pattern, Literal(QUESTION_TEXT)))
    g.add((prop, SH.message, Literal(QUESTION_TEXT, lang="en")))
    g.add((shape, SH.sparql, sparql))
    g.add((sparql, SH.message, Literal(PERSON_NAME)))
    g.add((sparql, SH.select, Literal("SELECT $this WHERE { $this ?p ?o } # " + TALK_TITLE)))
    return g


@pytest.fixture(scope="module")
def docs_pages(tmp_path_factory) -> dict[str, Path]:
    iris = IRIs(BASE)
    folder = tmp_path_factory.mktemp("hostile-docs")
    pages = {"ontology": ontology_html(hostile_ontology(iris), iris.base),
             "shapes": shapes_html(hostile_shapes(iris), iris.base)}
    out = {}
    for name, text in pages.items():
        texts, docs = check_page(text)  # as the HTTP tests read a page
        assert docs == []
        for value in DOCS_SHOWN[name]:
            assert any(value in t for t in texts), (name, value[:80])
        out[name] = folder / f"{name}.html"
        out[name].write_text(text, encoding="utf-8")
    return out


DOCS_SHOWN = {
    "ontology": {PERSON_NAME, SESSION_DESCRIPTION, TALK_TITLE, QUESTION_TEXT},
    "shapes": {PERSON_NAME, SESSION_DESCRIPTION, TALK_TITLE, QUESTION_TEXT},
}


@pytest.mark.parametrize("name", list(DOCS_SHOWN))
def test_browser_docs_page_shows_hostile_text_and_runs_none(docs_pages, page, name):
    page.goto(docs_pages[name].as_uri())
    page.wait_for_load_state("load")
    shot(page, name)
    assert_nothing_ran(page)
    content = page.text_content("body") or ""
    for value in DOCS_SHOWN[name]:
        assert value in content, value[:80]
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))")
    assert hrefs and not [h for h in hrefs if h.strip().lower().startswith("javascript")]
    assert "javascript:alert(1)" in content  # the IRI, as text
