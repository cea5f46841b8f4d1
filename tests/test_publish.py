"""dist/ as users download it: every file there, every RDF dump parsed by three parsers
that agree with the built graphs, JSON-LD that expands to the same graph, a VoID / DCAT
description that tells the truth about the files, and checksums that match."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pyoxigraph
import pytest
from rdflib import Dataset, Graph, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import RDF, XSD

from gfd_kg.iris import DCAT, PROV, VOID
from gfd_kg.model import DATA_GRAPH, INFERRED_GRAPH, ONTOLOGY_GRAPH
from gfd_kg.publish import PUBLIC_GRAPHS
from tests.test_cli import run_cli

EXPECTED_FILES = {
    "gfd.ttl", "gfd.nt", "gfd.jsonld", "context.jsonld", "gfd.trig", "gfd.nq",
    "gfd-all.ttl", "gfd-all.nt",
    "inferred.ttl", "provenance.ttl", "ontology.ttl", "shapes.ttl", "ontology.html",
    "shapes.html", "void.ttl", "SHA256SUMS",
}
TRIPLE_DUMPS = {"gfd.ttl": "turtle", "gfd.nt": "nt", "gfd-all.ttl": "turtle",
                "gfd-all.nt": "nt", "inferred.ttl": "turtle",
                "provenance.ttl": "turtle", "ontology.ttl": "turtle", "shapes.ttl": "turtle",
                "void.ttl": "turtle"}
QUAD_DUMPS = {"gfd.trig": "trig", "gfd.nq": "nquads"}
OXI = {"turtle": pyoxigraph.RdfFormat.TURTLE, "nt": pyoxigraph.RdfFormat.N_TRIPLES,
       "trig": pyoxigraph.RdfFormat.TRIG, "nquads": pyoxigraph.RdfFormat.N_QUADS}
RAPPER = {"turtle": "turtle", "nt": "ntriples", "trig": "trig", "nquads": "nquads"}


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("publish") / "dist"
    result = run_cli("build", "--out", str(out), "--build-time", "2026-11-27T00:00:00+00:00")
    assert result.returncode == 0, result.stderr
    return out


def test_dist_holds_every_file(dist):
    names = {p.name for p in dist.iterdir() if p.is_file()}
    assert names >= EXPECTED_FILES
    assert sorted(p.name for p in (dist / "embed").glob("*.jsonld"))


def test_checksums_list_every_file_and_match(dist):
    listed = {}
    for line in (dist / "SHA256SUMS").read_text(encoding="utf-8").splitlines():
        digest, name = line.split("  ", 1)
        listed[name] = digest
    on_disk = {str(p.relative_to(dist)) for p in dist.rglob("*") if p.is_file()} - {"SHA256SUMS"}
    assert set(listed) == on_disk
    for name, digest in listed.items():
        assert hashlib.sha256((dist / name).read_bytes()).hexdigest() == digest, name


def test_sha256sum_tool_agrees(dist):
    tool = shutil.which("sha256sum")
    if tool is None:
        pytest.skip("no sha256sum on this machine")
    result = subprocess.run([tool, "--check", "--quiet", "SHA256SUMS"], cwd=dist,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def _without_build_time(g: Graph) -> Graph:
    """The fixture ``reasoned`` records no build time; these dumps were built with one."""
    out = Graph()
    for t in g:
        if t[1] != PROV.endedAtTime:
            out.add(t)
    return out


def _public_union(reasoned, iris) -> Graph:
    union = Graph()
    for name in PUBLIC_GRAPHS:
        union += reasoned.provenance if name == "provenance" else reasoned.graph(name, iris)
    return union


def _expected_graph(name: str, reasoned, iris) -> Graph | None:
    from gfd_kg import artefacts

    return {
        "gfd-all.ttl": lambda: _public_union(reasoned, iris),
        "gfd-all.nt": lambda: _public_union(reasoned, iris),
        "gfd.ttl": lambda: reasoned.graph(DATA_GRAPH, iris),
        "gfd.nt": lambda: reasoned.graph(DATA_GRAPH, iris),
        "inferred.ttl": lambda: reasoned.graph(INFERRED_GRAPH, iris),
        "ontology.ttl": lambda: reasoned.graph(ONTOLOGY_GRAPH, iris),
        "provenance.ttl": lambda: reasoned.provenance,
        "shapes.ttl": lambda: artefacts.shapes(iris),
    }.get(name, lambda: None)()


@pytest.mark.parametrize("name", sorted(TRIPLE_DUMPS))
def test_triple_dumps_parse_with_rdflib_pyoxigraph_and_rapper_alike(name, dist, reasoned, iris):
    fmt = TRIPLE_DUMPS[name]
    path = dist / name
    g = Graph().parse(path, format=fmt)
    with open(path, "rb") as f:
        oxi = list(pyoxigraph.parse(f, format=OXI[fmt]))
    assert len(oxi) == len(g) > 0
    rapper = subprocess.run(["rapper", "-i", RAPPER[fmt], "-c", str(path)],
                            capture_output=True, text=True, timeout=60)
    assert rapper.returncode == 0, rapper.stderr
    assert f"returned {len(g)} triples" in rapper.stderr
    expected = _expected_graph(name, reasoned, iris)
    if expected is not None:
        assert isomorphic(_without_build_time(g), expected), name


@pytest.mark.parametrize("name", sorted(QUAD_DUMPS))
def test_quad_dumps_hold_the_four_public_graphs(name, dist, reasoned, iris):
    fmt = QUAD_DUMPS[name]
    path = dist / name
    ds = Dataset()
    ds.parse(path, format=fmt)
    with open(path, "rb") as f:
        oxi = list(pyoxigraph.parse(f, format=OXI[fmt]))
    rapper = subprocess.run(["rapper", "-i", RAPPER[fmt], "-c", str(path)],
                            capture_output=True, text=True, timeout=60)
    assert rapper.returncode == 0, rapper.stderr
    quads = list(ds.quads())
    assert len(oxi) == len(quads)
    assert f"returned {len(quads)} triples" in rapper.stderr
    names = {str(g.identifier) for g in ds.graphs() if len(g)}
    assert names == {str(iris.graph(n)) for n in PUBLIC_GRAPHS}
    for graph_name in PUBLIC_GRAPHS:
        got = _without_build_time(ds.graph(iris.graph(graph_name)))
        want = (reasoned.provenance if graph_name == "provenance"
                else reasoned.graph(graph_name, iris))
        assert isomorphic(got, want), graph_name
    # no personal contact detail in the default dumps
    assert not any(str(o).endswith("@pm.gov.tn") for _s, _p, o, _g in quads)


def test_jsonld_expands_with_pyld_to_the_data_graph(dist, reasoned, iris):
    from pyld import jsonld

    context = json.loads((dist / "context.jsonld").read_text(encoding="utf-8"))

    def loader(url, options=None):
        assert url.endswith("context.jsonld"), url  # nothing is fetched from the network
        return {"contextUrl": None, "documentUrl": url, "document": context}

    doc = json.loads((dist / "gfd.jsonld").read_text(encoding="utf-8"))
    options = {"documentLoader": loader, "base": (dist / "gfd.jsonld").as_uri()}
    expanded = jsonld.expand(doc, options)
    # no key silently dropped: every key of every node came back as an absolute IRI
    keys_in = sum(len([k for k in node if k not in ("@id",)]) for node in doc["@graph"])
    keys_out = sum(len([k for k in node if k not in ("@id",)]) for node in expanded)
    assert keys_in == keys_out
    assert all(k.startswith(("http://", "https://", "@")) for node in expanded for k in node)
    nquads = jsonld.to_rdf(doc, {**options, "format": "application/n-quads"})
    g = Graph().parse(data=nquads, format="nquads")
    assert isomorphic(g, reasoned.graph(DATA_GRAPH, iris))


def test_rdflib_reads_the_jsonld_too(dist, reasoned, iris):
    g = Graph().parse(dist / "gfd.jsonld", format="json-ld")
    assert isomorphic(g, reasoned.graph(DATA_GRAPH, iris))


# -- the dataset description ----------------------------------------------------------

@pytest.fixture(scope="module")
def void(dist) -> Graph:
    return Graph().parse(dist / "void.ttl", format="turtle")


def test_void_counts_the_triples_of_each_graph(void, dist, iris):
    ds = Dataset()
    ds.parse(dist / "gfd.trig", format="trig")
    for name in PUBLIC_GRAPHS:
        subset = iris.mint("dataset", f"gfd-kg/{name}")
        assert int(void.value(subset, VOID.triples)) == len(ds.graph(iris.graph(name))), name


def test_void_sizes_and_media_types_of_the_distributions(void, dist):
    dists = list(void.subjects(RDF.type, DCAT.Distribution))
    assert len(dists) >= 10
    for d in dists:
        name = str(void.value(d, URIRef("http://purl.org/dc/terms/title")))
        size = void.value(d, DCAT.byteSize)
        assert size.datatype == XSD.nonNegativeInteger
        assert int(size) == (dist / name).stat().st_size, name
        media = str(void.value(d, DCAT.mediaType))
        assert media.startswith("https://www.iana.org/assignments/media-types/")
        assert str(void.value(d, DCAT.downloadURL)).endswith("/download/" + name)


def test_void_describes_the_dataset(void, iris):
    ds = iris.mint("dataset", "gfd-kg")
    dct = "http://purl.org/dc/terms/"
    for p in ("title", "description", "license", "publisher", "source", "created"):
        assert void.value(ds, URIRef(dct + p)) is not None, p
    assert str(void.value(ds, URIRef(dct + "created"))) == "2026-11-27"
    assert void.value(ds, DCAT.version) is not None
    assert set(void.objects(ds, VOID.vocabulary)) >= {URIRef("http://schema.org/"),
                                                       URIRef(str(iris.ontology))}
    classes = {void.value(p, VOID["class"]) for p in void.objects(ds, VOID.classPartition)}
    assert URIRef("http://schema.org/Event") in classes
    assert len(list(void.objects(ds, VOID.exampleResource))) >= 3
    service = URIRef(iris.base + "sparql")
    assert (service, RDF.type, DCAT.DataService) in void
    assert (service, DCAT.servesDataset, ds) in void


def test_void_counts_every_class_of_the_data_graph(void, dist, iris):
    """Every class's instances, the kinds the OECD's pages brought in included."""
    data = Graph().parse(dist / "gfd.nt", format="nt")
    ds = iris.mint("dataset", "gfd-kg")
    counted = {void.value(p, VOID["class"]): int(void.value(p, VOID.entities))
               for p in void.objects(ds, VOID.classPartition)}
    expected = {c: len(set(data.subjects(RDF.type, c))) for c in set(data.objects(None, RDF.type))
                if isinstance(c, URIRef)}
    assert counted == expected
    o, schema = iris.ontology, "http://schema.org/"
    new_kinds = {o.WorkingGroupMeeting: 1, URIRef(schema + "EventSeries"): 2,
                 URIRef(schema + "WebPage"): 2}  # data/records: reported.yaml, series.yaml,
    assert {c: counted.get(c) for c in new_kinds} == new_kinds  # sources.yaml
    assert counted[o.ReportedParticipation] >= 1 and counted[o.ListedParticipant] >= 1


def test_void_names_every_source_and_an_example_of_each_kind_of_event(void, iris):
    ds = iris.mint("dataset", "gfd-kg")
    dct = "http://purl.org/dc/terms/"
    assert set(void.objects(ds, URIRef(dct + "source"))) == {
        iris.source(s) for s in ("gfd-2008-tunis-agenda", "oecd-2008-tunis-seminar-page",
                                 "oecd-2008-tunis-meeting-page")}
    examples = set(void.objects(ds, VOID.exampleResource))
    assert {iris.mint("event", "gfd-2008-tunis"), iris.mint("event", "wg-egovernment-2008-tunis"),
            iris.mint("series", "wg-egovernment-high-level-seminars")} <= examples


def test_the_meeting_has_its_embedding(dist, iris):
    doc = json.loads((dist / "embed" / "wg-egovernment-2008-tunis.jsonld").read_text("utf-8"))
    assert doc["@id"] == str(iris.mint("event", "wg-egovernment-2008-tunis"))


def test_void_records_the_release(void, dist, iris):
    """A first build: its version is the package's and a content hash, issued on the build
    time's date, with no previous version (tests/test_diff.py builds a second)."""
    from gfd_kg import __version__

    ds = iris.mint("dataset", "gfd-kg")
    version = str(void.value(ds, DCAT.version))
    assert version.startswith(__version__ + "+") and len(version) == len(__version__) + 13
    assert str(void.value(ds, URIRef("http://purl.org/dc/terms/issued"))) == "2026-11-27"
    assert void.value(ds, DCAT.previousVersion) is None
    assert (dist / "changes.ttl").is_file() and (dist / "changes.html").is_file()


# -- determinism ------------------------------------------------------------------------

def test_two_builds_give_identical_bytes_for_every_file(dist, tmp_path):
    again = tmp_path / "again"
    result = run_cli("build", "--out", str(again), "--build-time", "2026-11-27T00:00:00+00:00",
                     env={"PYTHONHASHSEED": "4242"})
    assert result.returncode == 0, result.stderr
    first = {str(p.relative_to(dist)): p.read_bytes() for p in dist.rglob("*") if p.is_file()}
    second = {str(p.relative_to(again)): p.read_bytes() for p in again.rglob("*") if p.is_file()}
    assert sorted(first) == sorted(second)
    assert [n for n in first if first[n] != second[n]] == []


def test_a_failed_build_leaves_the_previous_dist_as_it_was(dist, tmp_path, data_copy):
    out = tmp_path / "kept"
    shutil.copytree(dist, out)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    (data_copy / "records" / "broken.yaml").write_text("persons: [", encoding="utf-8")
    result = run_cli("build", "--out", str(out), "--data", str(data_copy))
    assert result.returncode == 2
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".kept")] == []


def test_no_personal_contact_detail_in_any_default_file(dist, reasoned, iris):
    """Every e-mail address, telephone and fax number of the named contacts, as published
    in the contacts graph and as printed in the agenda, is absent from every file."""
    from gfd_kg.model import CONTACTS_GRAPH

    contacts = reasoned.graph(CONTACTS_GRAPH, iris)
    details = {str(o) for p in ("telephone", "faxNumber", "email")
               for o in contacts.objects(None, URIRef("http://schema.org/" + p))}
    assert len(details) >= 15
    printed = set()
    for c in reasoned.agenda.corrections:  # as the agenda prints them, before correction
        if any(c.corrected in d for d in details):
            printed.add(c.original)
    leaks = []
    for path in dist.rglob("*"):
        if path.is_file():
            text = path.read_bytes().decode("utf-8", errors="replace")  # the index is binary
            leaks += [(path.name, d) for d in details | printed if d in text]
            leaks += [(path.name, "e-mail") for _ in [1]
                      if "@pm.gov.tn" in text or "@oecd.org" in text]
    assert leaks == []
