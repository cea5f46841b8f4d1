"""Releases and what changed (gfd_kg/diff.py): one record corrected in a copy of data/ and
built again over the first build shows up as exactly that change, in the diff, in the
build's changes.ttl and changes.html and at /changes; the second build's void.ttl names
the first as its previous version; no change is an empty diff; a build of the same
records again is the same release; bad input exits 2 naming the file; blank nodes are
compared by content, not by label."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pyoxigraph as ox
import pytest
from rdflib import RDF, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDFS, XSD

from gfd_kg import __version__
from gfd_kg.diff import CS, Changes, content_version, diff, load_side, release_iri
from gfd_kg.iris import DCAT, SCHEMA, IRIs
from gfd_kg.resources import data_dir
from tests.server import CLIENT_LIMITS, running_server
from tests.test_cli import run_cli

TIME = "2026-12-01T00:00:00+00:00"
LATER = "2026-12-02T00:00:00+00:00"
PEOPLE = Path("records/gfd-2008-tunis/people.yaml")
PERSON = "khedija-zammouri"
OLD_TITLE = "Director General for E-Government"
# The correction: the title as a shorter part of what the agenda prints (so the build's
# check that every text is in its agenda lines still passes).
NEW_TITLE = "Director General"


@dataclass(frozen=True)
class Releases:
    first: Path  # a copy of the first build, as it was
    second: Path  # the build folder, rebuilt over the first after the correction
    data: Path


def _build(data: Path, out: Path, time: str = TIME) -> None:
    result = run_cli("build", "--data", str(data), "--out", str(out), "--build-time", time)
    assert result.returncode == 0, result.stderr


@pytest.fixture(scope="module")
def releases(tmp_path_factory) -> Releases:
    root = tmp_path_factory.mktemp("releases")
    data = root / "data"
    shutil.copytree(data_dir(), data)
    out = root / "dist"
    _build(data, out)
    first = root / "first"
    shutil.copytree(out, first)
    people = data / PEOPLE
    text = people.read_text(encoding="utf-8")
    line = f"      - title: {OLD_TITLE}\n"
    assert text.count(line) == 1  # the record corrected is Khedija Zammouri's position
    people.write_text(text.replace(line, f"      - title: {NEW_TITLE}\n"), encoding="utf-8")
    _build(data, out)
    return Releases(first, out, data)


def _expected(iris: IRIs) -> dict[tuple[str, str], tuple[set, set]]:
    """(resource, graph) -> (rows removed, rows added): the person's job title and the
    title of her position (the Role node the plain link stands beside, model.py). Nothing
    in the inferred graph (no axiom reads a title) nor in the provenance graph (the same
    build time; the position and the person cite the same agenda lines as before)."""
    data = str(iris.graph("data"))
    old, new = Literal(OLD_TITLE, lang="en"), Literal(NEW_TITLE, lang="en")
    person = str(iris.mint("person", PERSON))
    role = str(iris.mint("role", f"{PERSON}/position-1"))
    return {
        (person, data): ({(str(SCHEMA.jobTitle), old.n3())}, {(str(SCHEMA.jobTitle), new.n3())}),
        (role, data): ({(str(SCHEMA.roleName), old.n3())}, {(str(SCHEMA.roleName), new.n3())}),
    }


def _iri(term: object) -> str:
    return term.value if isinstance(term, ox.NamedNode) else str(term)


def _found(changes: Changes) -> dict[tuple[str, str], tuple[set, set]]:
    return {(_iri(r.subject), g.graph): ({(p.value, str(v)) for p, v in g.removed},
                                         {(p.value, str(v)) for p, v in g.added})
            for r in changes.resources for g in r.parts}


def test_a_corrected_record_is_exactly_that_change(releases, iris):
    changes = diff(load_side(releases.first, iris), load_side(releases.second, iris))
    found = _found(changes)
    assert found == _expected(iris)
    labels = {_iri(r.subject): r.label for r in changes.resources}
    assert labels == {str(iris.mint("person", PERSON)): "Khedija Zammouri",
                      str(iris.mint("role", f"{PERSON}/position-1")): None}
    assert changes.counts() == (2, 2)


def test_the_build_writes_the_change_as_turtle(releases, iris):
    g = Graph().parse(releases.second / "changes.ttl", format="turtle")
    found: dict[tuple[str, str], tuple[set, set]] = {}
    for cs in g.subjects(RDF.type, CS.ChangeSet):
        key = (str(g.value(cs, CS.subjectOfChange)), str(g.value(cs, DCTERMS.relation)))
        assert g.value(cs, CS.createdDate) == Literal(TIME, datatype=XSD.dateTime)
        sides = []
        for kind in (CS.removal, CS.addition):
            rows = set()
            for st in g.objects(cs, kind):
                assert (st, RDF.type, RDF.Statement) in g
                assert str(g.value(st, RDF.subject)) == key[0]
                rows.add((str(g.value(st, RDF.predicate)), g.value(st, RDF.object).n3()))
            sides.append(rows)
        found[key] = (sides[0], sides[1])
    assert found == _expected(iris)
    person = iris.mint("person", PERSON)
    assert g.value(person, RDFS.label) == Literal("Khedija Zammouri")
    doc = URIRef(iris.base + "changes")
    assert set(g.objects(doc, DCTERMS.hasPart)) == set(g.subjects(RDF.type, CS.ChangeSet))


class _Sections(HTMLParser):
    """The page's sections: heading text and link, and the text of each removed and added
    line."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: list[dict] = []
        self.where: str | None = None
        self.text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "section":
            self.sections.append({"heading": "", "href": None, "removed": [], "added": []})
        elif self.sections and tag == "h2":
            self.where, self.text = "heading", ""
        elif self.sections and tag == "a" and self.where == "heading":
            self.sections[-1]["href"] = a.get("href")
        elif self.sections and tag == "li":
            self.where, self.text = a.get("class"), ""

    def handle_data(self, data: str) -> None:
        if self.where:
            self.text += data

    def handle_endtag(self, tag: str) -> None:
        if tag in ("h2", "li") and self.where:
            key = self.where
            self.sections[-1][key if key != "heading" else "heading"] = (
                self.text.strip() if key == "heading"
                else [*self.sections[-1][key], " ".join(self.text.split())])
            self.where = None


def test_the_page_has_a_section_per_resource(releases):
    parser = _Sections()
    parser.feed((releases.second / "changes.html").read_text(encoding="utf-8"))
    by_heading = {s["heading"]: s for s in parser.sections}
    assert set(by_heading) == {"Khedija Zammouri", "role:khedija-zammouri/position-1"}
    person = by_heading["Khedija Zammouri"]
    assert person["href"] == f"/person/{PERSON}"
    assert person["removed"] == [f'− schema:jobTitle "{OLD_TITLE}"@en']
    assert person["added"] == [f'+ schema:jobTitle "{NEW_TITLE}"@en']


def test_the_second_release_names_the_first_as_its_previous_version(releases, iris):
    first = Graph().parse(releases.first / "void.ttl", format="turtle")
    second = Graph().parse(releases.second / "void.ttl", format="turtle")
    ds = iris.mint("dataset", "gfd-kg")
    v1, v2 = str(first.value(ds, DCAT.version)), str(second.value(ds, DCAT.version))
    assert v1.startswith(__version__ + "+") and v2.startswith(__version__ + "+")
    assert v1 != v2
    assert first.value(ds, DCAT.previousVersion) is None  # the first release
    previous = second.value(ds, DCAT.previousVersion)
    assert previous == release_iri(iris, v1)
    assert str(second.value(previous, DCAT.version)) == v1
    assert second.value(previous, DCTERMS.issued) == Literal("2026-12-01", datatype=XSD.date)
    assert second.value(ds, DCTERMS.issued) == Literal("2026-12-01", datatype=XSD.date)


def test_the_version_is_the_content_hash_of_the_public_graphs(releases, iris):
    side = load_side(releases.second, iris)
    graphs = {}
    for name in ("data", "ontology", "inferred", "provenance"):
        triples = [ox.Triple(*t) for t in side.graphs[str(iris.graph(name))]]
        nt = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES) or b""
        graphs[name] = b"".join(sorted(nt.splitlines(keepends=True)))
    void = Graph().parse(releases.second / "void.ttl", format="turtle")
    assert str(void.value(iris.mint("dataset", "gfd-kg"), DCAT.version)) == \
        content_version(graphs)


def test_no_change_is_an_empty_diff(releases):
    result = run_cli("diff", str(releases.second), str(releases.second / "gfd.trig"))
    assert result.returncode == 0, result.stderr
    g = Graph().parse(data=result.stdout, format="turtle")
    assert list(g.subjects(RDF.type, CS.ChangeSet)) == []
    assert "no change" in result.stderr


def test_the_cli_diff_exits_1_and_prints_the_change(releases):
    result = run_cli("diff", str(releases.first), str(releases.second), "--format", "text")
    assert result.returncode == 1, result.stderr
    assert result.stdout.splitlines() == [
        "person:khedija-zammouri (Khedija Zammouri) in data graph",
        f'- schema:jobTitle "{OLD_TITLE}"@en',
        f'+ schema:jobTitle "{NEW_TITLE}"@en',
        "role:khedija-zammouri/position-1 in data graph",
        f'- schema:roleName "{OLD_TITLE}"@en',
        f'+ schema:roleName "{NEW_TITLE}"@en',
    ]
    assert "2 resources changed" in result.stderr


def test_a_new_build_time_is_a_change_of_the_provenance(releases, iris, tmp_path):
    out = tmp_path / "dist"
    shutil.copytree(releases.second, out)
    _build(releases.data, out, LATER)
    changes = diff(load_side(releases.second, iris), load_side(out, iris))
    found = _found(changes)
    ended = "http://www.w3.org/ns/prov#endedAtTime"
    xsd = "<http://www.w3.org/2001/XMLSchema#dateTime>"
    assert found == {(str(iris.mint("activity", "build")), str(iris.graph("provenance"))): (
        {(ended, f'"{TIME}"^^{xsd}')}, {(ended, f'"{LATER}"^^{xsd}')})}
    # the same records: the same release, which keeps its predecessor and its changes
    again = Graph().parse(out / "void.ttl", format="turtle")
    before = Graph().parse(releases.second / "void.ttl", format="turtle")
    ds = iris.mint("dataset", "gfd-kg")
    assert again.value(ds, DCAT.version) == before.value(ds, DCAT.version)
    assert again.value(ds, DCAT.previousVersion) == before.value(ds, DCAT.previousVersion)
    assert again.value(ds, DCTERMS.issued) == Literal("2026-12-02", datatype=XSD.date)
    for name in ("changes.ttl", "changes.html"):
        assert (out / name).read_bytes() == (releases.second / name).read_bytes(), name


def test_a_first_release_says_so(releases, iris):
    g = Graph().parse(releases.first / "changes.ttl", format="turtle")
    label = str(g.value(URIRef(iris.base + "changes"), RDFS.label))
    assert "is the first release" in label
    assert list(g.subjects(RDF.type, CS.ChangeSet)) == []
    assert "is the first release" in (releases.first / "changes.html").read_text("utf-8")


@pytest.mark.parametrize("make, named", [
    (lambda d: d / "missing", "missing"),
    (lambda d: d, "gfd.nq"),  # a folder that is not a build
    (lambda d: _write(d / "x.ttl", "<a:b> <a:c> <a:d> .\n"), "x.ttl"),
    (lambda d: _write(d / "broken.nq", "<a:b> <a:c> .\n"), "broken.nq"),
    (lambda d: _write(d / "broken.trig", "<a:g> { <a:b> <a:c> "), "broken.trig"),
])
def test_bad_input_exits_2_naming_the_file(make, named, releases, tmp_path):
    bad = make(tmp_path)
    for args in ((str(bad), str(releases.second)), (str(releases.second), str(bad))):
        result = run_cli("diff", *args)
        assert result.returncode == 2, result.stderr
        assert named in result.stderr and str(tmp_path) in result.stderr, result.stderr
        assert result.stdout == ""


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_blank_nodes_are_compared_by_content(tmp_path, iris):
    """Two labellings of the same list are no change; an item changed inside it is a
    change of the resource that holds the list."""
    g = "<http://example.org/g>"
    head = "<http://example.org/c> <http://www.w3.org/2002/07/owl#unionOf>"
    first = rf"""{head} _:a {g} .
_:a <{RDF.first}> <http://example.org/x> {g} .
_:a <{RDF.rest}> _:b {g} .
_:b <{RDF.first}> <http://example.org/y> {g} .
_:b <{RDF.rest}> <{RDF.nil}> {g} .
"""
    relabelled = first.replace("_:a", "_:q1").replace("_:b", "_:q2")
    changed = relabelled.replace("<http://example.org/y>", "<http://example.org/z>")
    paths = {}
    for name, text in (("first", first), ("relabelled", relabelled), ("changed", changed)):
        paths[name] = _write(tmp_path / f"{name}.nq", text)
    same = diff(load_side(paths["first"], iris), load_side(paths["relabelled"], iris))
    assert same.empty
    changes = diff(load_side(paths["first"], iris), load_side(paths["changed"], iris))
    assert [str(r.subject) for r in changes.resources] == ["<http://example.org/c>"]
    (part,) = changes.resources[0].parts
    assert [str(v) for _p, v in part.removed] == [
        f"[ <{RDF.first}> <http://example.org/x> ; <{RDF.rest}> [ <{RDF.first}> "
        f"<http://example.org/y> ; <{RDF.rest}> <{RDF.nil}> ] ]"]
    assert len(part.added) == 1 and "<http://example.org/z>" in str(part.added[0][1])


def test_the_server_shows_the_changes(releases, iris):
    with running_server("--out", str(releases.second)) as base, \
            httpx.Client(limits=CLIENT_LIMITS, base_url=base, timeout=30) as c:
        page = c.get("/changes", headers={"Accept": "text/html"})
        assert page.status_code == 200
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        assert page.text == (releases.second / "changes.html").read_text(encoding="utf-8")
        for r in (c.get("/changes", headers={"Accept": "text/turtle"}), c.get("/changes.ttl")):
            assert r.status_code == 200
            assert r.headers["content-type"] == "text/turtle; charset=utf-8"
            assert r.content == (releases.second / "changes.ttl").read_bytes()


def test_a_server_of_plain_files_has_no_changes(releases):
    with running_server(str(releases.second / "gfd.trig")) as base, \
            httpx.Client(limits=CLIENT_LIMITS, base_url=base, timeout=30) as c:
        r = c.get("/changes")
        assert r.status_code == 404
        assert "no list of changes" in r.text


def test_the_page_escapes_what_the_data_says(tmp_path, iris):
    """A label and a value that are markup stay text; a javascript: IRI is no link."""
    from gfd_kg.diff import page_context
    from gfd_kg.render import render

    s = "<https://w3id.org/gfd-kg/person/x>"
    name = f"{s} <http://schema.org/name> \"<script>alert(1)</script>\" <http://example.org/g> .\n"
    old = _write(tmp_path / "old.nq", name)
    new = _write(tmp_path / "new.nq", name + f"{s} <http://schema.org/sameAs> "
                 "<javascript:alert(2)> <http://example.org/g> .\n")
    page = render("changes.html", **page_context(
        diff(load_side(old, iris), load_side(new, iris)), iris))
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert 'href="javascript:' not in page and "javascript:alert(2)" in page
    assert 'href="/person/x"' in page


def test_the_builds_line_by_line_pass_finds_the_same_change(releases, iris, tmp_path):
    """The build compares only the lines that differ (changed_sides); the CLI parses the
    whole of both sides: the same change. Lines out of order fall back to the whole."""
    from gfd_kg.diff import changed_sides

    with open(releases.second / "gfd.nq", "rb") as f:
        sides = changed_sides(releases.first / "gfd.nq", f)
    assert sides is not None
    assert _found(diff(*sides)) == _expected(iris)
    assert sum(len(t) for t in sides[1].graphs.values()) < 100  # not the whole build
    lines = (releases.first / "gfd.nq").read_bytes().splitlines(keepends=True)
    unsorted = _write(tmp_path / "unsorted.nq", b"".join(reversed(lines)).decode("utf-8"))
    with open(releases.second / "gfd.nq", "rb") as f:
        assert changed_sides(unsorted, f) is None
