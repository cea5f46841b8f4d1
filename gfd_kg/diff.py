"""Releases, and what changed between two of them (``gfd-kg diff OLD NEW``, and the
build's ``dist/changes.ttl`` and ``dist/changes.html``).

**A release's version** (``dcat:version`` in ``void.ttl``) is ``{package}+{hash}``: the
package version, then the first 12 hex digits of the SHA-256 of the public graphs' sorted
N-Triples, the build's own time left out. A content hash, because the same records give
the same version wherever and whenever they are built, and any change of the data, the
ontology, the inferences or the provenance gives a new one; a build counter would depend
on which ``dist/`` a build happens to replace (two machines would number the same content
apart), and the build time changes when nothing else did. The package version in front
says which software made it (SemVer's ``+`` build metadata). ``dct:issued`` is the build
time's date (``--build-time``, ``SOURCE_DATE_EPOCH`` or the data's last commit: never the
clock), so the output stays byte-identical for the same input and build time.

**The previous release** is the ``dist/`` a build replaces, read from its ``void.ttl``:
``dcat:previousVersion`` points at it as ``{base}dataset/gfd-kg/release/{version}`` (a
``dcat:Dataset`` with its version and date). DCAT 3 defines ``dcat:previousVersion`` for
exactly this lineage of versions, beside the ``dcat:version`` the description already
has; ``prov:wasRevisionOf`` would say the new build was made by revising the old one,
and it is not: both are made from the records. A build whose version equals the one it
replaces is that release again: it keeps that release's ``previousVersion`` and its
change list, so rebuilding never makes a release its own predecessor.

**A diff** compares the quads of two builds graph by graph. Blank nodes are folded into
the resource that reaches them (their content, nested, is the object of that resource's
triple), so their labels never matter; the rest is grouped by subject, with the
subject's label (``schema:name``, ``rdfs:label``, ``skos:prefLabel``, ``dcterms:title``,
``foaf:name``; English first) from the new build, else the old.

**As Turtle** it uses the Changeset vocabulary (``cs:``,
http://purl.org/vocab/changeset/schema#): one ``cs:ChangeSet`` per resource and graph,
``cs:subjectOfChange`` the resource, ``cs:removal`` and ``cs:addition`` reified
``rdf:Statement``s, ``cs:createdDate`` the new release's time. The vocabulary has no
term for a named graph: ``dcterms:relation`` names the graph the statements are in. The
document ``{base}changes`` lists the change sets (``dcterms:hasPart``) and the two
releases (``prov:wasDerivedFrom``); the change sets and statements are its fragments.

The CLI's exit codes follow diff(1): 0 no change, 1 changes, 2 bad input.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph, Namespace, URIRef
from rdflib.namespace import DCTERMS

from . import __version__
from .errors import GfdError
from .iris import DCAT, VOID, IRIs
from .terms import XSD_STRING

CS = Namespace("http://purl.org/vocab/changeset/schema#")
VERSION_DIGITS = 12
_ENDED_AT = b"<http://www.w3.org/ns/prov#endedAtTime>"
_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_LABELS = ("http://schema.org/name", "http://www.w3.org/2000/01/rdf-schema#label",
           "http://www.w3.org/2004/02/skos/core#prefLabel", "http://purl.org/dc/terms/title",
           "http://xmlns.com/foaf/0.1/name")
FORMATS = {".nq": ox.RdfFormat.N_QUADS, ".trig": ox.RdfFormat.TRIG}


class DiffInputError(GfdError):
    """A side of a diff cannot be read: not a build folder, nor an N-Quads or TriG dump."""


# -- releases ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Release:
    """One release as its ``void.ttl`` describes it."""

    version: str
    issued: str | None = None  # xsd:date
    previous: Release | None = None


def content_version(graphs: Mapping[str, bytes], package: str = __version__) -> str:
    """The version of a build of these graphs (name -> sorted N-Triples)."""
    h = hashlib.sha256()
    for name in sorted(graphs):
        h.update(name.encode("utf-8") + b"\n")
        for line in graphs[name].splitlines(keepends=True):
            if line.split(b" ", 2)[1:2] != [_ENDED_AT]:  # the build's own time
                h.update(line)
    return f"{package}+{h.hexdigest()[:VERSION_DIGITS]}"


def release_iri(iris: IRIs, version: str) -> URIRef:
    return iris.mint("dataset", f"gfd-kg/release/{version}")


def read_release(folder: Path, iris: IRIs) -> Release | None:
    """The release a build folder holds, from its ``void.ttl``; None when there is none
    (no folder, no description, or one without ``dcat:version``)."""
    path = folder / "void.ttl"
    if not path.is_file():
        return None
    try:
        g = Graph().parse(path, format="turtle")
    except Exception as e:  # rdflib raises many kinds; any of them means unreadable
        raise DiffInputError(f"{path}: not readable as Turtle ({e})") from None
    ds = iris.mint("dataset", "gfd-kg")
    if g.value(ds, DCAT.version) is None:  # built with another base: the one with subsets
        ds = next((s for s in g.subjects(DCAT.version, None)
                   if isinstance(s, URIRef) and g.value(s, VOID.subset)),
                  ds)

    def described(node: URIRef, depth: int) -> Release | None:
        version = g.value(node, DCAT.version)
        if version is None:
            return None
        issued = g.value(node, DCTERMS.issued) or g.value(node, DCTERMS.created)
        prev = g.value(node, DCAT.previousVersion)
        return Release(str(version), str(issued) if issued is not None else None,
                       described(prev, depth + 1) if isinstance(prev, URIRef) and depth < 1
                       else None)

    return described(ds, 0)


# -- the two sides ---------------------------------------------------------------------------

Triple = tuple[ox.NamedNode | ox.BlankNode, ox.NamedNode, ox.NamedNode | ox.BlankNode | ox.Literal]


@dataclass
class Side:
    """One side of a diff: its triples by graph IRI ("" the default graph), where they were
    read from, and the release, when known."""

    where: str
    graphs: dict[str, set[Triple]]
    release: Release | None = None
    # triples kept only for the labels they give (``changed_sides``); None: ``graphs``
    labelled: dict[str, set[Triple]] | None = None


def _parse_into(graphs: dict[str, set[Triple]], quads: Iterable[ox.Quad]) -> None:
    for q in quads:
        if isinstance(q.subject, ox.Triple) or isinstance(q.object, ox.Triple):
            raise ValueError("RDF-star quoted triples are not compared")
        name = q.graph_name.value if isinstance(q.graph_name, ox.NamedNode) else ""
        graphs.setdefault(name, set()).add((q.subject, q.predicate, q.object))


def load_side(path: Path, iris: IRIs) -> Side:
    """A build folder (its ``gfd.nq``) or an N-Quads or TriG dump."""
    if path.is_dir():
        dump = path / "gfd.nq"
        if not dump.is_file():
            raise DiffInputError(f"{dump}: no such file; give a build folder (gfd-kg build "
                                 "--out) or an N-Quads (.nq) or TriG (.trig) dump")
        release = read_release(path, iris)
    elif path.is_file():
        dump, release = path, None
    else:
        raise DiffInputError(f"{path}: no such file or folder")
    fmt = FORMATS.get(dump.suffix.lower())
    if fmt is None:
        raise DiffInputError(f"{dump}: not an N-Quads (.nq) or TriG (.trig) file, nor a "
                             "build folder")
    graphs: dict[str, set[Triple]] = {}
    try:
        _parse_into(graphs, ox.parse(path=str(dump), format=fmt))
    except (SyntaxError, ValueError, OSError, UnicodeDecodeError) as e:
        raise DiffInputError(f"{dump}: cannot be read as {fmt.name} ({e})") from None
    return Side(str(dump), graphs, release)


def side_of(graphs: Mapping[str, bytes], iris: IRIs, release: Release | None,
            where: str = "this build") -> Side:
    """The graphs a build is writing (name -> sorted N-Triples) as a side."""
    parsed: dict[str, set[Triple]] = {}
    for name, nt in graphs.items():
        g = ox.NamedNode(str(iris.graph(name)))
        _parse_into(parsed, (ox.Quad(t.subject, t.predicate, t.object, g)
                             for t in ox.parse(nt, format=ox.RdfFormat.N_TRIPLES)))
    return Side(where, parsed, release)


class _Unsorted(Exception):
    """A dump's lines are not in sorted order (it was not written by gfd-kg build)."""


_LABEL_PREDICATES = tuple(f" <{p}> ".encode() for p in _LABELS)


def changed_sides(old_path: Path, new_lines: Iterable[bytes]) -> tuple[Side, Side] | None:
    """The two sides of a diff, keeping only what can differ: the lines of one side that
    the other has not, every line with a blank node (which is compared by content), and
    the label lines (for the labels). Both must be sorted N-Quads, as ``gfd.nq`` is
    written; one pass over each, so a large build is never held twice in memory. None
    when the old file is not sorted (the caller compares the whole sides)."""
    keep: tuple[list[bytes], list[bytes]] = ([], [])
    labels: tuple[list[bytes], list[bytes]] = ([], [])
    end = b"\xff"

    def sorted_lines(lines: Iterable[bytes]) -> Iterable[bytes]:
        last = b""
        for line in lines:
            if not line.strip():
                continue
            if line < last:
                raise _Unsorted
            last = line
            yield line
        yield end

    def seen(side: int, line: bytes) -> None:
        if b"_:" in line:
            keep[side].append(line)
        elif any(p in line for p in _LABEL_PREDICATES):
            labels[side].append(line)

    try:
        with open(old_path, "rb") as f:
            old, new = iter(sorted_lines(f)), iter(sorted_lines(new_lines))
            o, n = next(old), next(new)
            while o is not end or n is not end:
                if o == n:
                    seen(0, o)
                    seen(1, n)
                    o, n = next(old), next(new)
                elif n is end or (o is not end and o < n):
                    keep[0].append(o)
                    o = next(old)
                else:
                    keep[1].append(n)
                    n = next(new)
    except _Unsorted:
        return None

    def side(i: int, where: str) -> Side:
        graphs: dict[str, set[Triple]] = {}
        labelled: dict[str, set[Triple]] = {}
        _parse_into(graphs, ox.parse(b"".join(keep[i]), format=ox.RdfFormat.N_QUADS))
        _parse_into(labelled, ox.parse(b"".join(labels[i]), format=ox.RdfFormat.N_QUADS))
        return Side(where, graphs, labelled=labelled)

    return side(0, str(old_path)), side(1, "this build")


# -- folding blank nodes -------------------------------------------------------------------

@dataclass(frozen=True)
class Folded:
    """A blank node by its content: its (predicate, value) pairs, nested, sorted. Two
    blank nodes with the same content are the same value, whatever their labels."""

    text: str
    pairs: tuple[tuple[ox.NamedNode, Value], ...] = field(compare=False, hash=False)

    def __str__(self) -> str:
        return self.text


Value = ox.NamedNode | ox.Literal | Folded
Subject = ox.NamedNode | Folded
Row = tuple[ox.NamedNode, Value]  # a predicate and its value, of one subject


def _fold(given: Iterable[Triple]) -> dict[Subject, set[Row]]:
    triples = list(given)
    out: dict[ox.BlankNode, list[tuple[ox.NamedNode, object]]] = {}
    reached: set[ox.BlankNode] = set()
    for s, p, o in triples:
        if isinstance(s, ox.BlankNode):
            out.setdefault(s, []).append((p, o))
        if isinstance(o, ox.BlankNode):
            reached.add(o)
    memo: dict[ox.BlankNode, Folded] = {}

    def value(o: object, path: frozenset[ox.BlankNode]) -> Value:
        if not isinstance(o, ox.BlankNode):
            assert isinstance(o, (ox.NamedNode, ox.Literal))
            return o
        if o in memo:
            return memo[o]
        if o in path:  # a cycle of blank nodes: named by its place, not followed
            return Folded("[ ... ]", ())
        pairs = sorted(((p, value(v, path | {o})) for p, v in out.get(o, [])),
                       key=lambda pv: (str(pv[0]), str(pv[1])))
        folded = Folded("[ " + " ; ".join(f"{p} {v}" for p, v in pairs) + " ]", tuple(pairs))
        memo[o] = folded
        return folded

    rows: dict[Subject, set[Row]] = {}
    for s, p, o in triples:
        if isinstance(s, ox.NamedNode):
            rows.setdefault(s, set()).add((p, value(o, frozenset())))
        elif s not in reached:  # a blank node no IRI reaches: a resource of its own
            subject = value(s, frozenset())
            assert isinstance(subject, Folded)
            rows.setdefault(subject, set()).add((p, value(o, frozenset({s}))))
    return rows


# -- the diff ------------------------------------------------------------------------------

@dataclass(frozen=True)
class GraphChange:
    graph: str
    removed: tuple[Row, ...]
    added: tuple[Row, ...]


@dataclass(frozen=True)
class ResourceChange:
    subject: Subject
    label: str | None
    parts: tuple[GraphChange, ...]


@dataclass(frozen=True)
class Changes:
    old: Side
    new: Side
    resources: tuple[ResourceChange, ...]

    @property
    def empty(self) -> bool:
        return not self.resources

    def counts(self) -> tuple[int, int]:
        """Triples removed and added, over every graph."""
        removed = sum(len(g.removed) for r in self.resources for g in r.parts)
        added = sum(len(g.added) for r in self.resources for g in r.parts)
        return removed, added

    def summary(self) -> str:
        removed, added = self.counts()
        if self.empty:
            return f"no change from {self.old.where} to {self.new.where}"
        n = len(self.resources)
        return (f"{n} resource{'s' if n != 1 else ''} changed from {self.old.where} to "
                f"{self.new.where}: {removed} triple{'s' if removed != 1 else ''} removed, "
                f"{added} added")


def _row_key(row: Row) -> tuple[str, str]:
    return (str(row[0]), str(row[1]))


def _labels(side: Side) -> dict[ox.NamedNode, str]:
    """Each IRI's label: the first of ``_LABELS`` it has, English (or no language) first."""
    best: dict[ox.NamedNode, tuple[int, int, str]] = {}
    rank = {p: i for i, p in enumerate(_LABELS)}
    for triples in (*side.graphs.values(), *(side.labelled or {}).values()):
        for s, p, o in triples:
            if (isinstance(s, ox.NamedNode) and p.value in rank and isinstance(o, ox.Literal)):
                key = (rank[p.value], 0 if o.language in (None, "en") else 1, o.value)
                if s not in best or key < best[s]:
                    best[s] = key
    return {s: k[2] for s, k in best.items()}


def diff(old: Side, new: Side) -> Changes:
    """What changed from ``old`` to ``new``: per resource, per graph, the rows removed and
    added."""
    by_subject: dict[Subject, list[GraphChange]] = {}
    for graph in sorted(set(old.graphs) | set(new.graphs)):
        before = _fold(old.graphs.get(graph, set()))
        after = _fold(new.graphs.get(graph, set()))
        for s in set(before) | set(after):
            removed = before.get(s, set()) - after.get(s, set())
            added = after.get(s, set()) - before.get(s, set())
            if removed or added:
                by_subject.setdefault(s, []).append(GraphChange(
                    graph, tuple(sorted(removed, key=_row_key)),
                    tuple(sorted(added, key=_row_key))))
    new_labels, old_labels = _labels(new), _labels(old)

    def label(s: Subject) -> str | None:
        if isinstance(s, Folded):
            return None
        return new_labels.get(s) or old_labels.get(s)

    resources = [ResourceChange(s, label(s), tuple(parts)) for s, parts in by_subject.items()]
    resources.sort(key=lambda r: (r.label is None, (r.label or "").casefold(), str(r.subject)))
    return Changes(old, new, tuple(resources))


# -- as RDF --------------------------------------------------------------------------------

def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:16]


def changes_ntriples(changes: Changes, iris: IRIs, created: str | None = None) -> bytes:
    """The changes as sorted N-Triples in the Changeset vocabulary (see the module's
    docstring); ``created``: the new release's time (xsd:dateTime), when known."""
    doc = ox.NamedNode(iris.base + "changes")
    rdf_type = ox.NamedNode(_RDF + "type")
    out: list[ox.Triple] = []

    def node(v: Value | Subject) -> ox.NamedNode | ox.BlankNode | ox.Literal:
        if not isinstance(v, Folded):
            return v
        b = ox.BlankNode("f" + _digest(v.text))
        for p, inner in v.pairs:
            out.append(ox.Triple(b, p, node(inner)))
        return b

    def lit(text: str, lang: str | None = None) -> ox.Literal:
        return ox.Literal(text, language=lang) if lang else ox.Literal(text)

    out.append(ox.Triple(doc, rdf_type, ox.NamedNode("http://www.w3.org/ns/prov#Entity")))
    out.append(ox.Triple(doc, ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label"),
                         lit(title(changes), "en")))
    for side in (changes.old, changes.new):
        if side.release is not None:
            out.append(ox.Triple(doc, ox.NamedNode("http://www.w3.org/ns/prov#wasDerivedFrom"),
                                 ox.NamedNode(str(release_iri(iris, side.release.version)))))
    for r in changes.resources:
        subject = node(r.subject)
        assert not isinstance(subject, ox.Literal)  # a subject is an IRI or a blank node
        if r.label is not None:
            out.append(ox.Triple(subject, ox.NamedNode(
                "http://www.w3.org/2000/01/rdf-schema#label"), lit(r.label)))
        for part in r.parts:
            cs = ox.NamedNode(f"{doc.value}#cs-{_digest(str(r.subject), part.graph)}")
            out.append(ox.Triple(doc, ox.NamedNode(str(DCTERMS.hasPart)), cs))
            out.append(ox.Triple(cs, rdf_type, ox.NamedNode(str(CS.ChangeSet))))
            out.append(ox.Triple(cs, ox.NamedNode(str(CS.subjectOfChange)), subject))
            if part.graph:
                out.append(ox.Triple(cs, ox.NamedNode(str(DCTERMS.relation)),
                                     ox.NamedNode(part.graph)))
            if created:
                out.append(ox.Triple(cs, ox.NamedNode(str(CS.createdDate)), ox.Literal(
                    created, datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#dateTime"))))
            for kind, rows in ((CS.removal, part.removed), (CS.addition, part.added)):
                for p, v in rows:
                    digest = _digest(str(r.subject), part.graph, str(p), str(v))
                    st = ox.NamedNode(f"{doc.value}#st-{digest}")
                    out.append(ox.Triple(cs, ox.NamedNode(str(kind)), st))
                    out.append(ox.Triple(st, rdf_type, ox.NamedNode(_RDF + "Statement")))
                    out.append(ox.Triple(st, ox.NamedNode(_RDF + "subject"), subject))
                    out.append(ox.Triple(st, ox.NamedNode(_RDF + "predicate"), p))
                    out.append(ox.Triple(st, ox.NamedNode(_RDF + "object"), node(v)))
    nt = ox.serialize(out, format=ox.RdfFormat.N_TRIPLES) or b""
    return b"".join(sorted(set(nt.splitlines(keepends=True))))


def title(changes: Changes) -> str:
    old, new = changes.old.release, changes.new.release
    if old is not None and new is not None:
        return f"What changed from release {old.version} to release {new.version}"
    return f"What changed from {changes.old.where} to {changes.new.where}"


def changes_text(changes: Changes, iris: IRIs) -> str:
    """One line per triple: ``- `` removed, ``+ `` added, under a line naming the
    resource and the graph."""
    prefixes = iris.prefixes_text()
    lines = []
    for r in changes.resources:
        name = _compact(r.subject.value, prefixes) if isinstance(r.subject, ox.NamedNode) \
            else str(r.subject)
        for part in r.parts:
            lines.append(f"{name}" + (f" ({r.label})" if r.label else "")
                         + f" in {_graph_name(part.graph, iris)}")
            lines += [f"- {_compact(p.value, prefixes)} {_shown(v, prefixes)}"
                      for p, v in part.removed]
            lines += [f"+ {_compact(p.value, prefixes)} {_shown(v, prefixes)}"
                      for p, v in part.added]
    return "".join(line + "\n" for line in lines)


# -- as a page -----------------------------------------------------------------------------

def _compact(iri: str, prefixes: Mapping[str, str]) -> str:
    for prefix, ns in sorted(prefixes.items(), key=lambda x: -len(x[1])):
        if iri.startswith(ns) and len(iri) > len(ns):
            return f"{prefix}:{iri[len(ns):]}"
    return f"<{iri}>"


def _shown(v: Value, prefixes: Mapping[str, str]) -> str:
    if isinstance(v, ox.NamedNode):
        return _compact(v.value, prefixes)
    if isinstance(v, Folded):
        return "[ " + " ; ".join(f"{_compact(p.value, prefixes)} {_shown(o, prefixes)}"
                                 for p, o in v.pairs) + " ]"
    if v.language or v.datatype.value == XSD_STRING:
        return str(v)
    return str(ox.Literal(v.value)) + "^^" + _compact(v.datatype.value, prefixes)


def _href(iri: str, base: str) -> str:
    return "/" + iri[len(base):] if iri.startswith(base) else iri


def _graph_name(graph: str, iris: IRIs) -> str:
    """``data graph`` for ``{base}graph/data``; any other graph by its IRI."""
    prefix = str(iris.graph("x"))[:-1]
    if graph.startswith(prefix):
        return f"{graph[len(prefix):]} graph"
    return f"graph <{graph}>" if graph else "default graph"


def page_context(changes: Changes, iris: IRIs) -> dict:
    """What ``templates/changes.html`` shows."""
    prefixes = iris.prefixes_text()

    def row(r: Row) -> dict:
        p, v = r
        return {"predicate": _compact(p.value, prefixes), "value": _shown(v, prefixes),
                "href": _href(v.value, iris.base) if isinstance(v, ox.NamedNode) else None}

    sections = []
    for r in changes.resources:
        iri = r.subject.value if isinstance(r.subject, ox.NamedNode) else None
        sections.append({
            "label": r.label or (_compact(iri, prefixes) if iri else str(r.subject)),
            "iri": iri, "href": _href(iri, iris.base) if iri else None,
            "graphs": [{"name": _graph_name(g.graph, iris), "removed": [row(x) for x in g.removed],
                        "added": [row(x) for x in g.added]} for g in r.parts]})
    removed, added = changes.counts()
    return {"heading": title(changes), "old": changes.old.release, "new": changes.new.release,
            "sections": sections, "removed": removed, "added": added, "first": False}


def first_release_context(release: Release) -> dict:
    return {"heading": "First release", "old": None, "new": release, "sections": [],
            "removed": 0, "added": 0, "first": True}


def first_release_ntriples(release: Release, iris: IRIs) -> bytes:
    doc = ox.NamedNode(iris.base + "changes")
    out = [ox.Triple(doc, ox.NamedNode(_RDF + "type"),
                     ox.NamedNode("http://www.w3.org/ns/prov#Entity")),
           ox.Triple(doc, ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label"),
                     ox.Literal(f"Release {release.version} is the first release: there is "
                                "no earlier one to compare it with", language="en")),
           ox.Triple(doc, ox.NamedNode("http://www.w3.org/ns/prov#wasDerivedFrom"),
                     ox.NamedNode(str(release_iri(iris, release.version))))]
    nt = ox.serialize(out, format=ox.RdfFormat.N_TRIPLES) or b""
    return b"".join(sorted(nt.splitlines(keepends=True)))


# -- a build's release notes -----------------------------------------------------------------

@dataclass(frozen=True)
class ReleaseNotes:
    """What a build says of its release: the release (for ``void.ttl``), and what changed
    since the previous one, as N-Triples (``changes.ttl``) and as the context of
    ``templates/changes.html``; or, when the build is the release it replaces, that
    release's own files, kept as they are (``kept``: name -> bytes)."""

    release: Release
    ntriples: bytes
    page: dict
    kept: Mapping[str, bytes] = field(default_factory=dict)


CHANGE_FILES = ("changes.ttl", "changes.html")


def release_notes(replaced: Path, graphs: Mapping[str, bytes], iris: IRIs,
                  time: str | None, issued: str | None,
                  nquads: Callable[[], Iterable[bytes]] | None = None) -> ReleaseNotes:
    """The notes of a build of ``graphs`` (the public graphs: name -> sorted N-Triples)
    that replaces the build folder ``replaced`` (which may not exist). ``time``: the build
    time (xsd:dateTime), ``issued`` its date; ``nquads``: the build's ``gfd.nq`` lines,
    sorted, so that only the lines that differ are compared. Raises ``DiffInputError``
    when ``replaced`` holds a release that cannot be read."""
    version = content_version(graphs)
    old = read_release(replaced, iris)
    if old is None:
        release = Release(version, issued)
        return ReleaseNotes(release, first_release_ntriples(release, iris),
                            first_release_context(release))
    if old.version == version:  # the same release, built again
        release = Release(version, issued, old.previous)
        kept = {name: (replaced / name).read_bytes() for name in CHANGE_FILES
                if (replaced / name).is_file()}
        if len(kept) == len(CHANGE_FILES):
            return ReleaseNotes(release, b"", {}, kept)
        if old.previous is None:
            return ReleaseNotes(release, first_release_ntriples(release, iris),
                                first_release_context(release))
    else:
        release = Release(version, issued, Release(old.version, old.issued))
    sides = None
    if nquads is not None and (replaced / "gfd.nq").is_file():
        try:
            sides = changed_sides(replaced / "gfd.nq", nquads())
        except (SyntaxError, ValueError) as e:
            raise DiffInputError(f"{replaced / 'gfd.nq'}: cannot be read as N-Quads ({e})") \
                from None
    before, after = sides or (load_side(replaced, iris), side_of(graphs, iris, release))
    before.release, after.release = Release(old.version, old.issued), release
    changes = diff(before, after)
    return ReleaseNotes(release, changes_ntriples(changes, iris, time),
                        page_context(changes, iris))
