"""What search engines and crawlers find, read with extruct (as they read it): the landing
page's schema.org Dataset with every download, each event's page (talks included) and each
person's, organisation's and place's page with its JSON-LD, robots.txt and a sitemap whose
every address answers with a page."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import extruct
import httpx
import pytest
from rdflib import RDF, Graph, URIRef

from tests.server import CLIENT_LIMITS, build_dist, running_server

SCHEMA = "http://schema.org/"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    return build_dist(tmp_path_factory.mktemp("markup") / "dist")


@pytest.fixture(scope="module")
def client(dist):
    with running_server("--out", str(dist)) as base, \
            httpx.Client(limits=CLIENT_LIMITS, base_url=base, timeout=30) as c:
        yield c


def _json_ld(client: httpx.Client, path: str) -> list[dict]:
    r = client.get(path, headers={"Accept": "text/html"})
    assert r.status_code == 200, path
    return extruct.extract(r.text, base_url=str(client.base_url), syntaxes=["json-ld"])["json-ld"]


def test_the_landing_page_carries_the_dataset_with_every_download(client, dist):
    docs = [d for d in _json_ld(client, "/") if d.get("@type") == "Dataset"]
    assert len(docs) == 1
    ds = docs[0]
    for key in ("name", "description", "license", "creator", "publisher", "version"):
        assert ds.get(key), key
    assert ds["license"] == "https://creativecommons.org/licenses/by/4.0/"
    assert ds["temporalCoverage"] == "2008-05-27/2008-05-28"
    assert ds["spatialCoverage"]["name"] == "Tunis"
    listed = {line.partition("  ")[2] for line in
              (dist / "SHA256SUMS").read_text(encoding="utf-8").splitlines()} | {"SHA256SUMS"}
    downloads = {d["name"]: d for d in ds["distribution"]}
    assert set(downloads) == listed
    for name in ("gfd-all.ttl", "gfd.trig", "void.ttl"):
        d = downloads[name]
        assert d["@type"] == "DataDownload" and d["encodingFormat"]
        r = client.get(d["contentUrl"])
        assert r.status_code == 200 and r.headers["content-type"].startswith(d["encodingFormat"])


def _typed(dist: Path, cls: str) -> list[str]:
    g = Graph().parse(dist / "gfd.ttl", format="turtle")
    return sorted(str(s) for s in g.subjects(RDF.type, URIRef(SCHEMA + cls))
                  if isinstance(s, URIRef))


def _path(iri: str) -> str:
    return "/" + iri.removeprefix("https://w3id.org/gfd-kg/")


def test_every_event_page_carries_its_event(client, dist):
    events = _typed(dist, "Event")
    assert len(events) > 30 and any("/talk-" in e for e in events)
    for iri in events:
        docs = _json_ld(client, _path(iri))
        assert [d["@id"] for d in docs if _an_event(d.get("@type"))] == [iri], iri


def _an_event(types: object) -> bool:
    """schema:Event or one of its subtypes (SocialEvent, EducationEvent, ...)."""
    return any(str(t).endswith("Event") for t in (types if isinstance(types, list) else [types]))


@pytest.mark.parametrize("cls", ["Person", "Organization", "City", "Country", "Place"])
def test_people_organisations_and_places_carry_theirs(client, dist, cls):
    typed = _typed(dist, cls)
    assert typed, cls
    for iri in typed[:40]:
        ids = [d.get("@id") for d in _json_ld(client, _path(iri))]
        assert ids == [iri], iri


def _values(g: Graph, s: URIRef, p: str) -> set[str]:
    return {str(o) for o in g.objects(s, URIRef(SCHEMA + p))}


@pytest.mark.parametrize("path", ["/person/byung-chun-kim", "/person/salem-al-shair",
                                  "/organization/kaist-graduate-school-of-management",
                                  "/country/south-korea", "/place/tunis"])
def test_the_json_ld_of_a_person_organisation_or_place_says_what_the_graph_does(
        client, dist, path):
    """Names, job titles, affiliations, parents and Wikidata items, as the graph has them."""
    g = Graph().parse(dist / "gfd.ttl", format="turtle")
    iri = URIRef("https://w3id.org/gfd-kg" + path)
    [doc] = _json_ld(client, path)
    assert doc["@id"] == str(iri) and {doc["name"]} == _values(g, iri, "name")

    def ids(key: str) -> set[str]:
        v = doc.get(key, [])
        return {d["@id"] if isinstance(d, dict) else d for d in (v if isinstance(v, list) else [v])}

    def as_set(key: str) -> set[str]:
        v = doc.get(key, [])
        return set(v if isinstance(v, list) else [v])

    assert as_set("sameAs") == _values(g, iri, "sameAs") | _values(g, iri, "url")
    if path.startswith("/person/"):
        assert as_set("jobTitle") == _values(g, iri, "jobTitle") and doc["jobTitle"]
        orgs = {o for o in _values(g, iri, "affiliation") if "/organization/" in o}
        assert ids("affiliation") == orgs and orgs
    if path.startswith("/organization/"):
        assert ids("parentOrganization") == _values(g, iri, "parentOrganization")


def test_robots_txt_points_at_the_sitemap_and_every_address_in_it_is_a_page(client, dist):
    robots = client.get("/robots.txt")
    assert robots.status_code == 200
    assert f"Sitemap: {client.base_url}/sitemap.xml" in robots.text.replace("//sitemap", "/sitemap")
    r = client.get("/sitemap.xml")
    assert r.headers["content-type"].startswith("application/xml")
    locs = [e.text or "" for e in ET.fromstring(r.content).iter(f"{SITEMAP}loc")]
    assert f"{client.base_url}/" in locs
    events = _typed(dist, "Event")
    paths = {loc.removeprefix(str(client.base_url)) for loc in locs}
    assert {_path(e) for e in events} <= paths
    for path in sorted(paths):
        page = client.get(path, headers={"Accept": "text/html"})
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html"), \
            path
