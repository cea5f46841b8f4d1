"""The search, through the real server: every case of tests/search-cases.csv finds its
thing among the first hits, as JSON and as HTML; odd and hostile input never fails; a
build without the index says so; in Chromium, a search typed in the box of a page leads
to the thing found."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import httpx
import pytest
from bs4 import BeautifulSoup

from gfd_kg.search import INDEX_NAME, match_expressions, words
from tests.chromium import shot
from tests.server import CLIENT_LIMITS, build_dist, running_server

BASE = "https://w3id.org/gfd-kg/"
with (Path(__file__).parent / "search-cases.csv").open(encoding="utf-8", newline="") as f:
    CASES = list(csv.DictReader(f))
# what a person might paste or an attacker send: FTS5 syntax, quotes, markup, odd characters
ODD = ['"', '""', "*", "zammouri*", "NEAR(", "NEAR(a b, 2)", "a OR b", "NOT", "AND",
       "-", "'", "^zam", "col:zammouri", "names:zammouri", "(", ")", "{}", "\\", "%",
       "<script>alert(1)</script>", "\u0301", "zam\u0000mouri", "🙂", "ـــ", "a" * 3000,
       " ".join(["tunis"] * 100), "ﬁ", "İstanbul"]


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    return build_dist(tmp_path_factory.mktemp("search") / "dist")


@pytest.fixture(scope="module")
def base(dist):
    with running_server("--out", str(dist)) as url:
        yield url


@pytest.fixture(scope="module")
def client(base):
    with httpx.Client(base_url=base, limits=CLIENT_LIMITS, timeout=30) as c:
        yield c


def hit_iris(client: httpx.Client, q: str) -> list[str]:
    answer = client.get("/search", params={"q": q}, headers={"Accept": "application/json"})
    assert answer.status_code == 200, answer.text
    return [h["iri"] for h in answer.json()["hits"]]


@pytest.mark.parametrize("case", CASES, ids=[f"{c['query']}->{c['iri']}" for c in CASES])
def test_a_search_finds_its_thing_among_the_first_hits(client, case):
    iris = hit_iris(client, case["query"])
    within = int(case["within"])
    assert BASE + case["iri"] in iris[:within], (case["why"], iris[:within])


def test_every_kind_of_thing_is_found():
    kinds = {c["iri"].split("/")[0] for c in CASES}
    assert kinds >= {"person", "organization", "place", "country", "event", "question",
                     "document", "ontology"}
    assert any("/talk-" in c["iri"] for c in CASES)


def test_json_shape(client):
    doc = client.get("/search", params={"q": "zammouri", "format": "json"}).json()
    assert set(doc) == {"q", "count", "hits"}
    assert doc["q"] == "zammouri" and doc["count"] == len(doc["hits"]) == 1
    assert doc["hits"][0] == {
        "iri": BASE + "person/khedija-zammouri", "href": "/person/khedija-zammouri",
        "kind": "person", "name": "Khedija Zammouri",
        "detail": "Director General for E-Government"}


def test_html_keeps_the_query_in_the_box_and_links_the_hits(client):
    page = client.get("/search", params={"q": "M'Dhaffer"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    soup = BeautifulSoup(page.text, "html.parser")
    boxes = [i.get("value") for i in soup.select('input[name="q"]')]
    assert boxes and all(v == "M'Dhaffer" for v in boxes)
    links = [a["href"] for a in soup.select("ol.hits a")]
    assert links == ["/person/zouheir-mdhaffer"]


@pytest.mark.parametrize("q", ["", "   "])
def test_an_empty_query_gives_the_page_with_a_hint(client, q):
    page = client.get("/search", params={"q": q})
    assert page.status_code == 200
    soup = BeautifulSoup(page.text, "html.parser")
    assert soup.select_one("p.hint") is not None and not soup.select("ol.hits")
    assert client.get("/search").status_code == 200
    doc = client.get("/search", params={"q": q, "format": "json"}).json()
    assert doc["hits"] == [] and doc["count"] == 0


@pytest.mark.parametrize("q", ODD, ids=range(len(ODD)))
def test_odd_input_never_fails(client, q):
    for fmt in ("json", "html"):
        answer = client.get("/search", params={"q": q, "format": fmt})
        assert answer.status_code == 200, answer.text
    if "<script>" in q:
        assert "<script>alert" not in answer.text


def test_a_request_line_too_long_for_the_server_is_refused_not_failed(client):
    answer = client.get("/search", params={"q": "a" * 20_000})
    assert answer.status_code < 500


def test_a_query_is_only_quoted_words():
    assert match_expressions('"NEAR(a b)" * x') == ('"near" "a" "b" "x"', '"near" "a" "b" "x"*')
    assert match_expressions('"*()') is None
    assert words("Zouheir M’Dhaffer") == ["zouheir", "m", "dhaffer", "mdhaffer"]
    assert words("M'Dhaffer", joined_only=True) == ["mdhaffer"]
    assert words("Défis É-GOVERNMENT") == ["defis", "e", "government", "egovernment"]


def test_a_build_without_the_index_says_so(dist, tmp_path):
    old = tmp_path / "old-dist"
    shutil.copytree(dist, old)
    (old / INDEX_NAME).unlink()
    with running_server("--out", str(old)) as url, httpx.Client(base_url=url) as c:
        answer = c.get("/search", params={"q": "zammouri", "format": "json"})
        assert answer.status_code == 503
        assert "no search index" in answer.json()["error"]
        page = c.get("/search", params={"q": "zammouri"})
        assert page.status_code == 503 and "gfd-kg build" in page.text
        assert c.get("/search").status_code == 200  # the empty form still shows


def test_search_in_a_browser(base, browser):
    for width in (1280, 390):
            page = browser.new_page(viewport={"width": width, "height": 900})
            page.goto(base + "/country/")
            page.fill('header form.search input[name="q"]', "zammouri")
            page.press('header form.search input[name="q"]', "Enter")
            page.wait_for_url("**/search?q=zammouri")
            assert page.input_value('form.search-page input[name="q"]') == "zammouri"
            shot(page, f"search-{width}")
            overflow = page.evaluate("document.documentElement.scrollWidth > "
                                     "document.documentElement.clientWidth")
            assert not overflow, f"the search page overflows at {width} px"
            page.click("ol.hits a")
            page.wait_for_url("**/person/khedija-zammouri")
            assert "Khedija Zammouri" in page.title()
            page.goto(base + "/person/")
            shot(page, f"list-people-{width}")
            assert not page.evaluate("document.documentElement.scrollWidth > "
                                     "document.documentElement.clientWidth")
            page.close()
