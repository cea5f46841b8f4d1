"""The web pages in a real browser: Debian's Chromium, headless, driven by Playwright.
A person opens the landing page, follows a link to a person, runs an example query from
the form and reads the results table. Screenshots are kept in tests/artifacts/."""

from __future__ import annotations

import pytest

from tests.chromium import shot
from tests.server import build_dist, running_server


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    dist = build_dist(tmp_path_factory.mktemp("browser") / "dist")
    with running_server("--out", str(dist)) as base:
        yield base


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    pg = context.new_page()
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    pg.errors = errors  # type: ignore[attr-defined]
    yield pg
    context.close()


def test_landing_to_person_to_query_results(server, page):
    page.goto(server + "/")
    assert "GfD" in page.title() or "gfd-kg" in page.title()
    shot(page, "1-landing")

    # follow the seminar link, then a person from the seminar's programme
    page.click("a[href='/event/gfd-2008-tunis']")
    page.wait_for_load_state()
    assert "6th High Level Seminar" in page.inner_text("h1")
    assert page.locator("svg").count() >= 1  # the day's timeline
    shot(page, "2-seminar")

    page.goto(server + "/event/gfd-2008-tunis/session-2")
    page.click("a[href='/person/byung-chun-kim']")
    page.wait_for_load_state()
    assert page.inner_text("h1").strip() == "Byung-Chun Kim"
    assert "Associate Dean and CIO" in page.content()
    shot(page, "3-person")

    # run the first example query from the landing page's links: its results page, the
    # query in the editor that took the form's place
    page.goto(server + "/")
    page.wait_for_selector(".yasqe .CodeMirror")
    href = page.locator("a[href^='/sparql?query=']").first.get_attribute("href")
    page.goto(server + str(href))
    page.wait_for_selector(".yasqe .CodeMirror")
    query_text = page.evaluate("window.gfdEditor.getTab().getQuery()")
    assert "SELECT" in query_text
    assert query_text == page.input_value("textarea[name='query']")  # the form's query
    page.wait_for_selector("table#results")
    rows = page.locator("table#results tbody tr")
    assert rows.count() > 0
    header = [h.strip() for h in page.locator("table#results thead th").all_inner_texts()]
    assert header and all(header)
    shot(page, "4-results")
    assert page.errors == []  # type: ignore[attr-defined]


def test_query_form_with_a_typed_query(server, browser):
    """The plain form, as a browser without JavaScript has it (YASGUI replaces it when
    script runs: tests/test_editor.py types into that)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900},
                                  java_script_enabled=False)
    page = context.new_page()
    page.goto(server + "/sparql")
    page.fill("textarea[name='query']",
              "SELECT ?name WHERE { ?p a <http://schema.org/Person> ; "
              "<http://schema.org/name> ?name } ORDER BY ?name LIMIT 3")
    page.click("#run-query")
    page.wait_for_selector("table#results")
    cells = page.locator("table#results tbody td").all_inner_texts()
    assert [c.strip() for c in cells] == ["Abdel Razak Henni", "Abdellatif Hmam", "Abu Bakr Hamad"]
    shot(page, "5-typed-query")
    context.close()


def test_no_script_from_the_data_runs(server, page):
    """Pages run no script at all: the only <script> elements are JSON-LD data blocks."""
    page.goto(server + "/event/gfd-2008-tunis/session-4")
    kinds = page.eval_on_selector_all("script", "els => els.map(e => e.type)")
    assert kinds and set(kinds) == {"application/ld+json"}
    import json

    for text in page.eval_on_selector_all("script", "els => els.map(e => e.textContent)"):
        json.loads(text)


# -- resource pages, each kind at a desktop's and a phone's width (piece: resource pages) ----
RESOURCE_PAGES = {
    "person": ("/person/byung-chun-kim", "Byung-Chun Kim"),
    "session": ("/event/gfd-2008-tunis/session-2", "Partnering with the private sector"),
    "meeting": ("/event/wg-egovernment-2008-tunis", "Fourth Regional Meeting"),
    "organisation": ("/organization/kaist-graduate-school-of-management",
                     "Graduate School of Management"),
    "country": ("/country/south-korea", "South Korea"),
    "place": ("/place/maison-de-l-entreprise", "Maison de l'Entreprise"),
}


@pytest.mark.parametrize("width", [1280, 390])
@pytest.mark.parametrize("kind", list(RESOURCE_PAGES))
def test_resource_pages_fit_their_width(server, browser, kind, width):
    """Each kind of resource page, its top part first, nothing wider than the window."""
    path, heading = RESOURCE_PAGES[kind]
    context = browser.new_context(viewport={"width": width, "height": 900})
    try:
        pg = context.new_page()
        pg.goto(server + path)
        pg.wait_for_load_state("load")
        assert pg.inner_text("h1").startswith(heading)
        shot(pg, f"resource-{kind}-{width}")
        overflow = pg.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} is {overflow} px wider than {width} px"
        # the readable part comes before the raw table
        assert pg.evaluate("document.querySelector('#summary').getBoundingClientRect().top"
                           " < document.querySelector('#data').getBoundingClientRect().top")
    finally:
        context.close()
