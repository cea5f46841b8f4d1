"""The query editor (YASGUI, gfd_kg/web/editor.py and templates/editor.js).

In process: the static route serves the editor's two built files and our script and
nothing else, and 404s cleanly when the files are absent; the pages keep the plain form
without them; parameterised example queries come bound to their example value.

In Debian's Chromium, headless (as tests/test_browser.py): on the landing page and on
/sparql YASGUI loads with no console error, a query typed into it runs and its table and
download hold the answer `gfd-kg query` prints; the examples list holds every query of
queries/; without JavaScript the plain form still runs a query; the pages do not overflow
at 390 px. Screenshots in tests/artifacts/."""

from __future__ import annotations

import csv
import http.client
import io
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest

from gfd_kg.errors import SourceError
from gfd_kg.query import load_query
from gfd_kg.resources import queries_dir
from gfd_kg.web import editor as editor_module
from gfd_kg.web.editor import BUILD, FILES, Assets, example_text, find_assets, parameters
from gfd_kg.web.pages import readable_time
from tests.chromium import shot
from tests.server import build_dist, free_port, running_server, wait_until_up

EXAMPLES = [load_query(p) for p in sorted(queries_dir().glob("*.rq"))]
PARAMETERISED = [q for q in EXAMPLES if "parameter ?" in q.text.lower()]
COUNT_PERSONS = ("PREFIX schema: <http://schema.org/> "
                 "SELECT (COUNT(DISTINCT ?p) AS ?persons) WHERE { ?p a schema:Person }")


# -- in process ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def assets() -> Assets:
    found = find_assets()
    assert found is not None, "no YASGUI build in node_modules: run bash scripts/npm-deps.sh"
    return found


def get(base: str, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict, bytes]:
    """A GET of ``path`` exactly as written (no client tidies its dots away)."""
    conn = http.client.HTTPConnection(urlsplit(base).netloc, timeout=30)
    try:
        conn.request("GET", path, headers=headers or {})
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


@pytest.mark.parametrize("name", sorted(FILES))
def test_the_static_route_serves_the_editor_files(server, assets, name):
    status, headers, body = get(server, f"/static/yasgui/{name}?v={assets.version}")
    assert status == 200
    assert body == (assets.folder / name).read_bytes()
    assert headers["content-type"] == FILES[name]
    assert "immutable" in headers["cache-control"]


def test_the_static_route_serves_our_script(server):
    status, headers, body = get(server, "/static/editor.js")
    assert status == 200 and b"new Yasgui(" in body
    assert headers["content-type"].startswith("text/javascript")


# names beside, above and inside the build folder: none is served
NOT_SERVED = ["yasgui/../../package.json", "yasgui/..%2F..%2Fpackage.json",
              "yasgui/%2e%2e/%2e%2e/package.json", "yasgui/../../../../../etc/passwd",
              "yasgui/yasgui.min.js.map", "yasgui/yasgui.esm.js", "yasgui/ts/src/index.d.ts",
              "yasgui/../package.json", "../package.json", "yasgui/", "yasgui", "",
              "editor.html", "site.css", "yasgui/editor.js", "yasqe/yasqe.min.js",
              "yasgui//yasgui.min.js", "yasgui/./yasgui.min.js"]


@pytest.mark.parametrize("name", NOT_SERVED)
def test_the_static_route_serves_nothing_else(server, name):
    status, _headers, body = get(server, "/static/" + name)
    assert status == 404
    assert b"@comunica" not in body and b"root:" not in body and b"Yasgui" not in body


def test_with_the_files_the_page_loads_them_and_its_configuration(server, assets, iris):
    _status, _headers, body = get(server, "/sparql", {"Accept": "text/html"})
    page = body.decode()
    for src in (f"/static/yasgui/yasgui.min.js?v={assets.version}",
                f"/static/editor.js?v={assets.version}"):
        assert f'<script src="{src}" defer></script>' in page
    assert f'<link rel="stylesheet" href="/static/yasgui/yasgui.min.css?v={assets.version}">' \
        in page
    assert 'id="run-query"' in page  # the plain form stays for a browser without script
    block = page[page.index('<script type="application/json" id="editor-config">'):]
    config = json.loads(block[block.index(">") + 1:block.index("</script>")])
    assert config["endpoint"] == "/sparql"
    assert config["prefixes"] == iris.prefixes_text()
    assert [e["title"] for e in config["examples"]] == [q.title for q in EXAMPLES]


def test_find_assets(tmp_path, assets):
    assert find_assets(str(assets.folder)) == assets  # the build folder itself
    modules = assets.folder.parents[len(BUILD.parts) - 1]
    assert modules.name == "node_modules"
    assert find_assets(str(modules)) == assets  # a node_modules folder
    assert find_assets(str(modules.parent)) == assets  # the folder above it
    with pytest.raises(SourceError, match="no YASGUI build there"):
        find_assets(str(tmp_path))


def test_an_assets_folder_without_yasgui_stops_serve(tmp_path):
    r = subprocess.run([sys.executable, "-m", "gfd_kg", "serve", "--assets", str(tmp_path),
                        "--port", "0", "--out", str(tmp_path)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert "no YASGUI build there" in r.stderr and "npm-deps.sh" in r.stderr


def test_without_the_files_serve_says_so_once_and_the_pages_keep_the_form(tmp_path, dist):
    """A gfd-kg with no node_modules beside it (an installed package): the server starts,
    says once that the editor is off and how to get it; the editor's addresses are 404
    with that advice, and the pages have the plain form only."""
    script = ("import sys, pathlib; import gfd_kg.web.editor as e; "
              "e.CHECKOUT = pathlib.Path(sys.argv[1]); "
              "from gfd_kg.cli import main; sys.argv[1:2] = []; sys.exit(main())")
    env_port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", script, str(tmp_path / "nowhere"), "serve",
                             "--out", str(dist), "--port", str(env_port), "--workers", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    lines = []
    base = f"http://127.0.0.1:{env_port}"
    try:
        assert proc.stdout is not None
        for line in proc.stdout:  # ends when the server has said it serves
            lines.append(line)
            if line.startswith("serving"):
                break
        wait_until_up(base + "/health", proc)
        for name in sorted(FILES):
            status, _headers, body = get(base, f"/static/yasgui/{name}")
            assert status == 404
            assert b"scripts/npm-deps.sh" in body and b"--assets" in body
        for path in ("/", "/sparql"):
            page = get(base, path, {"Accept": "text/html"})[2].decode()
            assert 'id="run-query"' in page and 'name="query"' in page
            assert "editor-config" not in page and "<script src=" not in page
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    off = [line for line in lines if line.startswith("editor")]
    assert len(off) == 1, lines
    assert "off" in off[0] and "npm-deps.sh" in off[0] and "--assets" in off[0]


@pytest.mark.parametrize(("text", "datatype", "readable"), [
    ("2008-05-28T18:30:00+02:00", "dateTime", "Wednesday 28 May 2008, 18:30"),
    ("2008-05-27T19:00:00Z", "dateTime", "Tuesday 27 May 2008, 19:00"),
    ("2008-05-29", "date", "Thursday 29 May 2008"),
    ("09:30:00", "time", "09:30"),
    ("PT25M", "duration", "25 min"),
    ("PT1H30M", "duration", "1 h 30 min"),
    ("PT15M", "dayTimeDuration", "15 min"),
    ("P1D", "duration", "1 day"),
    ("P2DT1H", "duration", "2 days 1 h"),
    ("PT", "duration", None),
    ("25 minutes", "duration", None),
    ("28 May", "date", None),
    ("42", "integer", None),
])
def test_readable_times(text, datatype, readable):
    from rdflib.namespace import XSD

    assert readable_time(text, XSD[datatype]) == readable


@pytest.mark.parametrize("q", PARAMETERISED, ids=lambda q: q.name)
def test_a_parameterised_example_comes_with_its_value(q, dist, iris):
    """The editor's copy of a query that declares a parameter binds it to the example
    value its comment gives, says where to change it, and answers on the data."""
    params = parameters(q)
    assert params, f"{q.name}: declares a parameter but gives no 'e.g. NAME=VALUE'"
    text = example_text(q, iris.prefixes_text())
    assert text != q.text and "VALUES (" in text and "put your value here" in text
    [(name, value)] = params.items()
    assert cli_query(dist, text) == cli_query(dist, q.text, f"{name}={value}") != []


def test_the_examples_of_the_config_are_the_query_files(iris):
    config = editor_module.editor_config(EXAMPLES, iris.prefixes_text(), "/sparql")
    assert [(e["name"], e["title"], e["why"]) for e in config["examples"]] == \
        [(q.name, q.title, q.why) for q in EXAMPLES]
    unbound = [e for e, q in zip(config["examples"], EXAMPLES, strict=True)
               if e["query"] == q.text]
    assert len(unbound) == len(EXAMPLES) - len(PARAMETERISED)


# -- in the browser --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    return build_dist(tmp_path_factory.mktemp("editor") / "dist")


@pytest.fixture(scope="module")
def server(dist):
    with running_server("--out", str(dist)) as base:
        yield base


def new_page(browser, width: int = 1280, javascript: bool = True):
    context = browser.new_context(viewport={"width": width, "height": 900},
                                  java_script_enabled=javascript, accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("requestfailed", lambda r: errors.append(f"failed: {r.url}"))
    page.errors = errors  # type: ignore[attr-defined]
    return context, page


def cli_query(dist: Path, text: str, *bind: str) -> list[dict[str, str]]:
    """What `gfd-kg query` prints for ``text`` (as JSON results), as plain values. The text
    goes in a .rq file: given as an argument, a long one is taken for a file name and
    fails its stat (ENAMETOOLONG) before it is read as a query."""
    if not text.startswith("# title:"):
        text = "# title: a test's query\n" + text
    args = [a for b in bind for a in ("--bind", b)]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "q.rq"
        path.write_text(text, encoding="utf-8")
        r = subprocess.run([sys.executable, "-m", "gfd_kg", "query", str(path), "--out",
                            str(dist), "--format", "json", *args],
                           capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    return [{k: v["value"] for k, v in b.items()} for b in doc["results"]["bindings"]]


def fits(page) -> None:
    width = page.viewport_size["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def type_query(page, text: str) -> None:
    """Into YASGUI's editor, by keyboard: select what is there, delete it, type."""
    page.click(".yasqe .CodeMirror")
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.type(text)


@pytest.mark.parametrize("width", [1280, 390])
@pytest.mark.parametrize("path", ["/", "/sparql"])
def test_a_query_typed_into_yasgui_runs_and_downloads(server, browser, dist, path, width):
    [expected] = cli_query(dist, COUNT_PERSONS)
    assert int(expected["persons"]) > 0
    context, page = new_page(browser, width)
    try:
        page.goto(server + path)
        page.wait_for_selector(".yasqe .CodeMirror")
        assert page.locator("form.query").is_hidden()  # YASGUI took the form's place
        endpoint = page.input_value(".yasgui .autocomplete")
        assert endpoint == server + "/sparql"  # the site's own endpoint, on this port
        type_query(page, COUNT_PERSONS)
        assert page.evaluate("window.gfdEditor.getTab().getQuery()") == COUNT_PERSONS
        page.keyboard.press("Control+Enter")
        cell = page.locator(".yasr table.dataTable tbody tr").first.locator("td").nth(1)
        cell.wait_for()
        assert cell.inner_text().split('"')[1] == expected["persons"]
        with page.expect_download() as info:
            page.click(".yasr .yasr_downloadIcon")
        download = info.value
        rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text())))
        assert rows == [expected]
        fits(page)
        shot(page, f"editor-{'landing' if path == '/' else 'sparql'}-{width}")
        assert page.errors == []  # type: ignore[attr-defined]
    finally:
        context.close()


def test_the_examples_list_holds_every_query(server, browser, dist, iris):
    context, page = new_page(browser)
    try:
        page.goto(server + "/")
        page.wait_for_selector(".yasqe .CodeMirror")
        options = page.locator("#editor-examples option").all_inner_texts()
        assert options[1:] == [q.title for q in EXAMPLES]
        why = page.locator("#editor-examples option").nth(1).get_attribute("title")
        assert why == EXAMPLES[0].why
        # a parameterised one opens in a new tab, bound to its example value: it answers
        # as `gfd-kg query --bind` does
        q = next(q for q in EXAMPLES if q.name == "person-roles")
        page.select_option("#editor-examples", q.name)
        assert page.inner_text("#editor-why") == q.why
        text = page.evaluate("window.gfdEditor.getTab().getQuery()")
        assert "put your value here" in text and "VALUES (?person)" in text
        [(name, value)] = parameters(q).items()
        expected = cli_query(dist, q.text, f"{name}={value}")
        page.locator(".yasqe_queryButton:visible").click()  # in the new tab
        page.locator(".yasr table.dataTable tbody tr:visible").first.wait_for()
        summary = page.locator(".yasr_response_chip:visible").inner_text()
        assert summary.startswith(f"{len(expected)} results")
        # the page's own "Run this query" links open in the editor too
        page.click(f"a[data-example='{EXAMPLES[0].name}']")
        assert page.evaluate("window.gfdEditor.getTab().getQuery()") == EXAMPLES[0].text
        assert page.errors == []  # type: ignore[attr-defined]
    finally:
        context.close()


def test_without_javascript_the_form_runs_a_query(server, browser, dist):
    [expected] = cli_query(dist, COUNT_PERSONS)
    context, page = new_page(browser, javascript=False)
    try:
        page.goto(server + "/")
        assert page.locator(".yasgui").count() == 0
        page.fill("textarea[name='query']", "")
        page.click("textarea[name='query']")
        page.keyboard.type(COUNT_PERSONS)
        page.click("#run-query")
        page.wait_for_selector("table#results")
        cell = page.locator("table#results tbody td")
        assert cell.inner_text() == expected["persons"] + cell.locator(".meta").inner_text()
        assert cell.locator(".meta").inner_text() == "xsd:integer"
        shot(page, "editor-nojs-results-1280")
    finally:
        context.close()


@pytest.mark.parametrize("width", [1280, 390])
def test_the_results_page_reads_dates_and_fits(server, browser, dist, width):
    q = next(q for q in EXAMPLES if q.name == "day-timeline")
    expected = cli_query(dist, q.text)
    context, page = new_page(browser, width)
    try:
        page.goto(server + "/sparql?query=" + quote(q.text))
        page.wait_for_selector("table#results")
        heads = page.locator("table#results thead th").all_inner_texts()
        column = heads.index("?start") + 1  # the column of the items' starts
        starts = page.locator(f"table#results tbody tr td:nth-child({column}) time")
        assert starts.count() == len(expected)
        first = starts.first
        assert first.get_attribute("datetime") == expected[0]["start"]
        assert expected[0]["start"] in (first.get_attribute("title") or "")
        assert first.inner_text() == readable_time(expected[0]["start"], _xsd("dateTime"))
        fits(page)
        shot(page, f"editor-results-{width}")
        assert page.errors == []  # type: ignore[attr-defined]
    finally:
        context.close()


def _xsd(name: str):
    from rdflib.namespace import XSD

    return XSD[name]


def test_a_shared_link_opens_the_query_in_yasgui_on_this_endpoint(server, browser, dist):
    """YASGUI's own shareable link (its URL state) opens the query in the editor and runs
    it there, on this site's endpoint even when the link names another."""
    [expected] = cli_query(dist, COUNT_PERSONS)
    context, page = new_page(browser)
    try:
        page.goto(server + "/sparql")
        page.wait_for_selector(".yasqe .CodeMirror")
        type_query(page, COUNT_PERSONS)
        link = page.evaluate("window.gfdEditor.getTab().getShareableLink()")
        assert urlsplit(link).path == "/sparql" and "endpoint=" in link
        elsewhere = link.replace(quote(server + "/sparql", safe=""),
                                 quote("http://example.org/sparql", safe=""))
        assert elsewhere != link
        for url in (link, elsewhere):
            page.goto("about:blank")  # a new load, not a change of the fragment
            page.goto(url)
            cell = page.locator(".yasr table.dataTable tbody tr").first.locator("td").nth(1)
            cell.wait_for()
            assert cell.inner_text().split('"')[1] == expected["persons"]
            assert page.evaluate("window.gfdEditor.getTab().getQuery()") == COUNT_PERSONS
            assert page.evaluate("window.gfdEditor.getTab().getEndpoint()") == \
                server + "/sparql"
            assert page.locator("table#results").is_hidden()  # the editor's answer only
        assert page.errors == []  # type: ignore[attr-defined]
    finally:
        context.close()
