"""The lists to browse, through the real server: each lists as many members as a SPARQL
COUNT finds on the built graph, a line each with its fact, sorted, as HTML and as JSON."""

from __future__ import annotations

import httpx
import pyoxigraph as ox
import pytest
from bs4 import BeautifulSoup

from gfd_kg.search import fold
from tests.server import CLIENT_LIMITS, build_dist, running_server

BASE = "https://w3id.org/gfd-kg/"
PREFIXES = ("PREFIX schema: <http://schema.org/> "
            "PREFIX skos: <http://www.w3.org/2004/02/skos/core#> ")
# path -> what a member is, counted on the graph
COUNTS = {
    "/person/": "?x a schema:Person",
    "/organization/": "?x a schema:Organization",
    "/country/": "?x a schema:Country",
    "/event/": "?x a schema:Event",
    "/scheme/": "?x a skos:ConceptScheme",
    "/scheme/ArrangementFormScheme": f"?x skos:inScheme <{BASE}ontology/ArrangementFormScheme>",
    "/scheme/ChallengeScheme": f"?x skos:inScheme <{BASE}ontology/ChallengeScheme>",
}
# path -> a member's name and the fact its line must show (from the records)
LINES = [
    ("/person/", "Khedija Zammouri", "Director General for E-Government"),
    ("/person/", "Khedija Zammouri", "Prime Minister’s Office"),
    ("/organization/", "Consip S.p.A", "Italy"),
    ("/country/", "Tunisia", "TN / TUN"),
    ("/event/", "Welcome Cocktail", "Tuesday 27 May 2008, 19:00"),
    ("/event/", "Welcome Cocktail", "Hotel les Berges du Lac"),
    ("/event/", "Fourth Regional Meeting of the GfD Working Group on e-government and "
     "Administrative Simplification", "Thursday 29 May 2008"),
    ("/scheme/ArrangementFormScheme", "Informal network", "Réseau informel"),
]


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    return build_dist(tmp_path_factory.mktemp("browse") / "dist")


@pytest.fixture(scope="module")
def store(dist):
    s = ox.Store()
    s.load(path=str(dist / "gfd.trig"), format=ox.RdfFormat.TRIG)
    return s


@pytest.fixture(scope="module")
def client(dist):
    with running_server("--out", str(dist)) as base, \
            httpx.Client(base_url=base, limits=CLIENT_LIMITS, timeout=30) as c:
        yield c


def count(store: ox.Store, pattern: str) -> int:
    rows = store.query(PREFIXES + f"SELECT (COUNT(DISTINCT ?x) AS ?n) WHERE {{ {pattern} }}",
                       use_default_graph_as_union=True)
    return int(next(iter(rows))["n"].value)  # type: ignore[arg-type]


def lines(html: str) -> list[tuple[str, str]]:
    soup = BeautifulSoup(html, "html.parser")
    found = []
    for li in soup.select("ul.members > li"):
        fact = li.select_one(".fact")
        found.append((li.a.get_text() if li.a else li.get_text(),
                      fact.get_text() if fact else ""))
    return found


@pytest.mark.parametrize("path", COUNTS)
def test_a_list_has_every_member_the_graph_counts(client, store, path):
    expected = count(store, COUNTS[path])
    assert expected > 0
    page = client.get(path)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert len(lines(page.text)) == expected
    doc = client.get(path, headers={"Accept": "application/json"}).json()
    assert doc["count"] == len(doc["members"]) == expected
    assert client.get(path, params={"format": "json"}).json() == doc
    assert len({m["iri"] for m in doc["members"]}) == expected


@pytest.mark.parametrize("path", [p for p in COUNTS if p != "/event/"])
def test_a_list_is_sorted_by_name(client, path):
    names = [m["name"] for m in client.get(path, params={"format": "json"}).json()["members"]]
    assert names == sorted(names, key=fold)


def test_events_are_in_time_order(client):
    members = client.get("/event/", params={"format": "json"}).json()["members"]
    names = [m["name"] for m in members]
    assert names.index("Welcome Cocktail") < names.index("Registration") \
        < names.index("Opening Session")


@pytest.mark.parametrize(("path", "name", "fact"), LINES)
def test_a_line_shows_the_fact_that_tells_members_apart(client, path, name, fact):
    found = dict(lines(client.get(path).text))
    assert fact in found[name]


@pytest.mark.parametrize("path", COUNTS)
def test_every_member_links_to_a_page_that_answers(client, path):
    members = client.get(path, params={"format": "json"}).json()["members"]
    for m in members[:5]:
        assert m["href"] == "/" + m["iri"][len(BASE):]
        assert client.get(m["href"]).status_code == 200, m["href"]


def test_an_unknown_scheme_or_format_is_refused(client):
    assert client.get("/scheme/NoSuchScheme").status_code == 404
    assert client.get("/scheme/ArrangementFormScheme", params={"format": "xml"}).status_code == 400


def test_the_sitemap_lists_the_lists_and_the_search_page(client):
    sitemap = client.get("/sitemap.xml").text
    for path in [*COUNTS, "/search"]:
        assert f"{client.base_url}{path}".replace("http://", "") in sitemap.replace("http://", "")
