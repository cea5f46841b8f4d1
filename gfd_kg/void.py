"""The dataset's description in VoID and DCAT 3 (``void.ttl``): what it is, its licence and
sources, its named graphs with their sizes, the classes and properties it uses, its
downloads with media types and byte sizes, and its SPARQL endpoint as a data service."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from rdflib import RDF, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, FOAF, OWL, XSD

from .diff import Release, release_iri
from .iris import DCAT, SCHEMA, VOID, IRIs
from .provenance import AGENDA_SOURCE, BuildInfo

IANA = Namespace("https://www.iana.org/assignments/media-types/")
CC_BY = URIRef("https://creativecommons.org/licenses/by/4.0/")
SPARQL_PROTOCOL = URIRef("https://www.w3.org/TR/sparql11-protocol/")

# file suffix -> media type
MEDIA_TYPES: dict[str, str] = {
    ".ttl": "text/turtle",
    ".nt": "application/n-triples",
    ".nq": "application/n-quads",
    ".trig": "application/trig",
    ".jsonld": "application/ld+json",
    ".html": "text/html",
}

TITLE = "The GfD 2008 Tunis seminar on partnerships for e-government, as linked data"
DESCRIPTION = (
    "The agenda of the OECD Good Governance for Development (GfD) in Arab Countries 6th High "
    "Level Seminar on Partnerships and Frameworks for Collaboration on E-Government (Tunis, "
    "27-28 May 2008): its sessions, talks, chairs, moderators and speakers, their "
    "organisations and countries, the questions put to the floor, the background documents, "
    "the venues and the contacts' roles, with what each talk says about public-private "
    "partnerships and public-public collaboration; and what the OECD's web pages report "
    "after it: the seminar as held, the 4th Regional Meeting of the Working Group that "
    "followed it on 29 May 2008 with its chair and co-chairs, the two events' series, and "
    "the delegates, experts and countries the pages list."
)


def _slug(iris: IRIs, term: URIRef) -> str:
    for prefix, ns in iris.prefixes().items():
        if str(term).startswith(str(ns)):
            return f"{prefix}-{str(term)[len(str(ns)):]}"
    return str(term).rsplit("/", 1)[-1].rsplit("#", 1)[-1]


@dataclass(frozen=True)
class GraphStats:
    """What the description counts: triples per named graph, and in the data graph the
    instances per class and the triples per property (IRIs as text)."""

    triples: Mapping[str, int]
    classes: Counter[str]
    properties: Counter[str]
    first: Mapping[str, str]  # class -> its first instance, in IRI order: the examples
    pages: tuple[str, ...] = ()  # the web pages the data cites besides the agenda


def void_graph(stats: GraphStats, dumps: Mapping[str, int], iris: IRIs,
               info: BuildInfo, data_graph: str = "data",
               release: Release | None = None) -> Graph:
    """``stats``: the published named graphs' counts; ``dumps``: file name -> byte size;
    ``release``: the build's version, date and previous release (gfd_kg/diff.py), else
    the package version alone."""
    g = Graph()
    ds = iris.mint("dataset", "gfd-kg")
    publisher = iris.mint("agent", "gfd-kg-project")
    endpoint = URIRef(iris.base + "sparql")

    g.add((ds, RDF.type, VOID.Dataset))
    g.add((ds, RDF.type, DCAT.Dataset))
    g.add((ds, DCTERMS.title, Literal(TITLE, lang="en")))
    g.add((ds, DCTERMS.description, Literal(DESCRIPTION, lang="en")))
    g.add((ds, DCTERMS.license, CC_BY))
    g.add((ds, DCTERMS.publisher, publisher))
    g.add((ds, DCTERMS.creator, publisher))
    g.add((ds, DCTERMS.source, iris.source(AGENDA_SOURCE)))
    for page in stats.pages:  # what the OECD reported (data/records/common/sources.yaml)
        g.add((ds, DCTERMS.source, URIRef(page)))
    g.add((ds, DCTERMS.spatial, iris.mint("place", "tunis")))
    g.add((ds, DCAT.keyword, Literal("e-government", lang="en")))
    g.add((ds, DCAT.keyword, Literal("public-private partnership", lang="en")))
    g.add((ds, DCAT.keyword, Literal("OECD", lang="en")))
    version = release.version if release is not None else info.version
    g.add((ds, DCAT.version, Literal(version)))
    g.add((ds, OWL.versionInfo, Literal(version)))
    if info.time is not None:
        g.add((ds, DCTERMS.created, Literal(info.time.date().isoformat(), datatype=XSD.date)))
    if release is not None and release.issued is not None:
        g.add((ds, DCTERMS.issued, Literal(release.issued, datatype=XSD.date)))
    previous = release.previous if release is not None else None
    if previous is not None:
        prev = release_iri(iris, previous.version)
        g.add((ds, DCAT.previousVersion, prev))
        g.add((prev, RDF.type, DCAT.Dataset))
        g.add((prev, DCAT.version, Literal(previous.version)))
        if previous.issued is not None:
            g.add((prev, DCTERMS.issued, Literal(previous.issued, datatype=XSD.date)))
    g.add((ds, VOID.uriSpace, Literal(iris.base)))
    g.add((ds, VOID.sparqlEndpoint, endpoint))
    for cls in (iris.ontology.Seminar, iris.ontology.Session, iris.ontology.WorkingGroupMeeting,
                SCHEMA.EventSeries, SCHEMA.Person, SCHEMA.Organization, SCHEMA.Country):
        if str(cls) in stats.first:
            g.add((ds, VOID.exampleResource, URIRef(stats.first[str(cls)])))
    g.add((publisher, RDF.type, FOAF.Organization))
    g.add((publisher, FOAF.name, Literal("gfd-kg project")))

    g.add((ds, VOID.triples, Literal(sum(stats.triples.values()), datatype=XSD.integer)))
    vocabularies = set()
    for name, count in sorted(stats.triples.items()):
        subset = iris.mint("dataset", f"gfd-kg/{name}")
        g.add((ds, VOID.subset, subset))
        g.add((subset, RDF.type, VOID.Dataset))
        g.add((subset, DCTERMS.title, Literal(f"{name} graph", lang="en")))
        g.add((subset, SCHEMA.identifier, iris.graph(name)))
        g.add((subset, VOID.triples, Literal(count, datatype=XSD.integer)))
    classes = Counter({URIRef(c): n for c, n in stats.classes.items()})
    for cls, n in sorted(classes.items()):
        part = iris.mint("dataset", f"gfd-kg/{data_graph}/class/{_slug(iris, cls)}")
        g.add((ds, VOID.classPartition, part))
        g.add((part, VOID["class"], cls))
        g.add((part, VOID.entities, Literal(n, datatype=XSD.integer)))
    properties = Counter({URIRef(p): n for p, n in stats.properties.items()})
    for prop, n in sorted(properties.items()):
        part = iris.mint("dataset", f"gfd-kg/{data_graph}/property/{_slug(iris, prop)}")
        g.add((ds, VOID.propertyPartition, part))
        g.add((part, VOID.property, prop))
        g.add((part, VOID.triples, Literal(n, datatype=XSD.integer)))
    for term in list(classes) + list(properties):
        for prefix, ns in iris.prefixes().items():
            if str(term).startswith(str(ns)) and prefix not in ("rdf",):
                vocabularies.add(URIRef(str(ns)))
    for vocab in sorted(vocabularies):
        g.add((ds, VOID.vocabulary, vocab))

    for name, size in sorted(dumps.items()):
        suffix = "." + name.rsplit(".", 1)[-1]
        dist = iris.mint("dataset", f"gfd-kg/distribution/{name}")
        url = URIRef(f"{iris.base}download/{name}")
        g.add((ds, DCAT.distribution, dist))
        if (suffix in (".ttl", ".nt", ".nq", ".trig", ".jsonld")
                and name.startswith(("gfd.", "gfd-all."))):
            g.add((ds, VOID.dataDump, url))
        g.add((dist, RDF.type, DCAT.Distribution))
        g.add((dist, DCTERMS.title, Literal(name)))
        g.add((dist, DCAT.downloadURL, url))
        g.add((dist, DCAT.mediaType, IANA[MEDIA_TYPES[suffix]]))
        g.add((dist, DCAT.byteSize, Literal(size, datatype=XSD.nonNegativeInteger)))
        g.add((dist, DCTERMS.license, CC_BY))

    g.add((endpoint, RDF.type, DCAT.DataService))
    g.add((endpoint, DCTERMS.title, Literal("SPARQL endpoint of gfd-kg", lang="en")))
    g.add((endpoint, DCAT.endpointURL, endpoint))
    g.add((endpoint, DCAT.servesDataset, ds))
    g.add((endpoint, DCTERMS.conformsTo, SPARQL_PROTOCOL))
    return g
