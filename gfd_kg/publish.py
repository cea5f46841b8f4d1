"""Dumps: the only module that writes bytes.

The stages before hand each graph over as sorted N-Triples (``ntriples_bytes``): one line
per triple, blank nodes labelled from their content, no duplicates. ``render`` turns those
into the files of ``dist/`` (name -> bytes), all deterministic, with pyoxigraph's writers
for Turtle and TriG (a million triples a second; rdflib's writers manage some tens of
thousands) and an own compact JSON-LD writer. ``gfd-all.ttl`` and ``gfd-all.nt`` hold the
union of the public graphs as plain triples, the endpoint's default graph, for a tool that
loads one file. ``write_tree`` writes the files into a fresh folder next to the output
folder and swaps it in whole, so a failed or interrupted build never leaves half a
``dist/``: the previous one stays as it was.
"""

from __future__ import annotations

import hashlib
import heapq
import io
import itertools
import json
import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, BinaryIO, cast

import pyoxigraph as ox
from rdflib import BNode, Graph
from rdflib.compare import to_canonical_graph

from .diff import CHANGE_FILES, CS, Changes, ReleaseNotes, changes_ntriples
from .docs import ontology_html, shapes_html
from .errors import OutputError
from .iris import IRIs
from .jsontext import indented
from .model import CONTACTS_GRAPH, DATA_GRAPH, INFERRED_GRAPH, ONTOLOGY_GRAPH
from .provenance import BuildInfo
from .terms import XSD_STRING
from .void import GraphStats, void_graph
from .workers import forked_map

PROVENANCE_GRAPH = "provenance"
# The named graphs of gfd.trig / gfd.nq, in this order.
PUBLIC_GRAPHS = (DATA_GRAPH, ONTOLOGY_GRAPH, INFERRED_GRAPH, PROVENANCE_GRAPH)
# Their union as plain triples: what the endpoint's default graph holds, in one file that
# any RDF tool loads as it is and every query of queries/ answers on.
ALL_TURTLE, ALL_NTRIPLES = "gfd-all.ttl", "gfd-all.nt"
CHECKSUMS = "SHA256SUMS"
CONTEXT = "context.jsonld"
_RDF_TYPE = b"<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"
_RDF_LANG_STRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"


def _canonical(graph: Graph) -> Graph:
    """The graph with blank nodes labelled from their content, so output is stable.
    (A graph already canonical keeps its labels: they all start with "cb".)"""
    bnodes = {t for triple in graph for t in triple if isinstance(t, BNode)}
    if all(str(b).startswith("cb") for b in bnodes):
        return graph
    return to_canonical_graph(graph)


def ntriples_bytes(graph: Graph) -> bytes:
    """The graph as sorted N-Triples: what one stage hands the next, and ``gfd.nt``."""
    lines = _canonical(graph).serialize(format="nt", encoding="utf-8").splitlines(keepends=True)
    return b"".join(sorted(line for line in lines if line.strip()))


def merge_ntriples(parts: Iterable[bytes]) -> bytes:
    """Sorted N-Triples of several graphs as one graph: lines merged, duplicates dropped."""
    lines: set[bytes] = set()
    for part in parts:
        lines.update(part.splitlines(keepends=True))
    return b"".join(sorted(lines))


def _union_lines(parts: Iterable[bytes]) -> Iterator[bytes]:
    """The lines of several sorted N-Triples graphs as one sorted graph, each line once
    (a triple in two graphs is one triple of their union), read and merged as they come:
    a large corpus's union is never held in memory."""
    previous = None
    for line in heapq.merge(*(iter(io.BytesIO(part)) for part in parts)):
        if line != previous:
            yield line
        previous = line


def _triples_in_chunks(lines: Iterable[bytes], chunk: int = 1 << 20) -> Iterator[ox.Quad]:
    """N-Triples lines parsed about ``chunk`` bytes at a time, each subject's lines in one
    chunk (blank node labels are kept across chunks)."""
    buffer: list[bytes] = []
    size = 0
    for _subject, group in itertools.groupby(lines, key=lambda line: line.split(b" ", 1)[0]):
        for line in group:
            buffer.append(line)
            size += len(line)
        if size >= chunk:
            yield from _triples(b"".join(buffer))
            buffer, size = [], 0
    if buffer:
        yield from _triples(b"".join(buffer))


def _triples(nt: bytes) -> Iterator[ox.Quad]:
    return ox.parse(nt, format=ox.RdfFormat.N_TRIPLES)


def _subject_first_type(nt: bytes) -> bytes:
    """The lines grouped by subject (as sorted), each subject's ``rdf:type`` lines first:
    the order Turtle is easiest to read in."""
    return b"".join(_subject_first_type_lines(nt.splitlines(keepends=True)))


def _subject_first_type_lines(lines: Iterable[bytes]) -> Iterator[bytes]:
    for _subject, group in itertools.groupby(lines, key=lambda line: line.split(b" ", 1)[0]):
        kept = list(group)
        yield from (line for line in kept if line.split(b" ", 2)[1] == _RDF_TYPE)
        yield from (line for line in kept if line.split(b" ", 2)[1] != _RDF_TYPE)


def turtle_bytes(nt: bytes, iris: IRIs, more_prefixes: Mapping[str, str] | None = None) -> bytes:
    """Turtle with the dataset's prefixes (and ``more_prefixes``), subject by subject; the
    same graph gives the same bytes."""
    buffer = io.BytesIO()
    _serialise(_triples(_subject_first_type(nt)), buffer, ox.RdfFormat.TURTLE,
               {**iris.prefixes_text(), **(more_prefixes or {})})
    return buffer.getvalue()


def changes_turtle(changes: Changes, iris: IRIs, created: str | None = None) -> bytes:
    """What changed between two builds as Turtle (gfd_kg/diff.py), with the ``cs:`` prefix."""
    return turtle_bytes(changes_ntriples(changes, iris, created), iris, {"cs": str(CS)})


def graph_turtle_bytes(graph: Graph, iris: IRIs) -> bytes:
    return turtle_bytes(ntriples_bytes(graph), iris)


def nquads_lines(graphs: Mapping[str, bytes], iris: IRIs) -> Iterator[bytes]:
    """N-Quads lines of the graphs, sorted (each graph's lines are: merged as they come)."""
    def lines(name: str, nt: bytes) -> Iterator[bytes]:
        g = b" " + iris.graph(name).n3().encode("utf-8") + b" .\n"
        for line in nt.splitlines(keepends=True):
            yield line[:-3] + g
    return heapq.merge(*(lines(name, nt) for name, nt in graphs.items()))


def _quads(graphs: Mapping[str, bytes], iris: IRIs) -> Iterator[ox.Quad]:
    for name, nt in graphs.items():
        g = ox.NamedNode(str(iris.graph(name)))
        for q in _triples(_subject_first_type(nt)):
            yield ox.Quad(q.subject, q.predicate, q.object, g)


def graph_stats(nt: bytes) -> tuple[Counter[str], Counter[str], dict[str, str]]:
    """Instances per class, triples per property and each class's first instance (IRIs
    only, in the lines' order) of a graph given as sorted N-Triples."""
    classes: Counter[str] = Counter()
    properties: Counter[str] = Counter()
    first: dict[str, str] = {}
    for line in nt.splitlines():
        s, p, rest = line.split(b" ", 2)
        properties[p[1:-1].decode("utf-8")] += 1
        if p == _RDF_TYPE and rest.startswith(b"<"):
            cls = rest[1:rest.index(b">")].decode("utf-8")
            classes[cls] += 1
            if cls not in first and s.startswith(b"<"):
                first[cls] = s[1:-1].decode("utf-8")
    return classes, properties, first


WEB_PAGE = "http://schema.org/WebPage"


def instances(nt: bytes, cls: str) -> tuple[str, ...]:
    """The IRIs typed ``cls`` in sorted N-Triples, in order."""
    typed = _RDF_TYPE + b" <" + cls.encode("utf-8") + b"> .\n"
    return tuple(line.split(b" ", 1)[0][1:-1].decode("utf-8") for line in nt.splitlines(
        keepends=True) if line.endswith(typed) and line.startswith(b"<"))


# -- JSON-LD ---------------------------------------------------------------------------

def jsonld_context(iris: IRIs) -> dict:
    """The context of ``gfd.jsonld``, published as ``context.jsonld``: the dataset's
    prefixes, so every key is a compact IRI and nothing can be dropped on expansion."""
    return {"@context": {prefix: str(ns) for prefix, ns in iris.prefixes().items()}}


class _Compactor:
    def __init__(self, iris: IRIs) -> None:
        self.iris = iris
        self.cache: dict[str, str] = {}

    def iri(self, text: str) -> str:
        found = self.cache.get(text)
        if found is None:
            found = self.iris.compact(text)
            if len(self.cache) < 100_000:
                self.cache[text] = found
        return found

    def node(self, term: ox.NamedNode | ox.BlankNode | ox.Triple) -> str:
        if isinstance(term, ox.Triple):  # RDF-star: never in the dumps, and not in JSON-LD 1.1
            raise ValueError(f"a quoted triple cannot be written as JSON-LD: {term}")
        return f"_:{term.value}" if isinstance(term, ox.BlankNode) else self.iri(term.value)

    def value(self, term: ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple) -> object:
        if isinstance(term, ox.Literal):
            if term.language:
                return {"@value": term.value, "@language": term.language}
            datatype = term.datatype.value
            if datatype in (XSD_STRING, _RDF_LANG_STRING):
                return term.value
            return {"@value": term.value, "@type": self.iri(datatype)}
        return {"@id": self.node(term)}


def _sort_key(value: object) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _jsonld_chunks(nt: bytes, iris: IRIs, context_url: str | dict) -> Iterator[str]:
    c = _Compactor(iris)
    type_iri = _RDF_TYPE[1:-1].decode()
    yield "{\n \"@context\": " + json.dumps(context_url) + ",\n \"@graph\": ["
    first = True
    # the lines are sorted, so each subject's triples come together
    for subject, quads in itertools.groupby(_triples(nt), key=lambda q: q.subject):
        values: dict[str, list] = {}
        for q in quads:
            if q.predicate.value == type_iri and not isinstance(q.object, ox.Literal):
                values.setdefault("@type", []).append(c.node(q.object))
            else:
                values.setdefault(c.iri(q.predicate.value), []).append(c.value(q.object))
        node: dict[str, object] = {"@id": c.node(subject)}
        for key in sorted(values):
            vs = values[key] if len(values[key]) == 1 else sorted(values[key], key=_sort_key)
            node[key] = vs[0] if len(vs) == 1 else vs
        yield ("\n  " if first else ",\n  ") + indented(node, " ", "  ")
        first = False
    yield "\n ]\n}\n"


def jsonld_text(nt: bytes, iris: IRIs, context: str | dict | None = None) -> str:
    """Sorted N-Triples as JSON-LD compacted as ``gfd.jsonld`` is: every key a compact IRI,
    the context given by address or (by default) inline."""
    inline = jsonld_context(iris)["@context"]
    return "".join(_jsonld_chunks(nt, iris, inline if context is None else context))


# -- the tree ----------------------------------------------------------------------------

Files = dict[str, tuple[int, str]]  # what was written: name -> (size, SHA-256)


def _written(folder: Path, names: Iterable[str]) -> Files:
    return {name: ((folder / name).stat().st_size, _sha256(folder / name)) for name in names}


def render(folder: Path, graphs: Mapping[str, bytes], ontology: Graph, shapes: Graph,
           shapes_text: bytes, iris: IRIs, info: BuildInfo,
           embeddings: Mapping[str, bytes] | None = None,
           include_personal_contacts: bool = False,
           notes: ReleaseNotes | None = None,
           extra: Callable[[Path], list[str]] | None = None, jobs: int = 1) -> list[str]:
    """Write every file of ``dist/`` into ``folder`` (the big ones streamed, so a large
    corpus never sits in memory twice); return their names. ``graphs``: the sorted
    N-Triples of each named graph (the public ones and ``contacts``); ``shapes_text``: the
    shapes as written in ``shapes/``, published as they are, comments and all; ``notes``:
    the release and what changed since the previous one (``changes.ttl``,
    ``changes.html``); ``extra`` writes more files into ``folder`` (the search index) and
    names them, before the checksums are taken. The files are written by ``jobs``
    processes, each file by one (``gfd_kg/workers.py``): the same bytes in any case."""
    public = {name: graphs[name] for name in PUBLIC_GRAPHS}
    data = public[DATA_GRAPH]
    prefixes = iris.prefixes_text()

    def put(name: str, content: bytes | Iterable[bytes]) -> str:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as f:
            if isinstance(content, bytes):
                f.write(content)
            else:
                for chunk in content:
                    f.write(chunk)
        return name

    def put_rdf(name: str, quads: Iterator[ox.Quad], fmt: ox.RdfFormat) -> str:
        with open(folder / name, "wb") as f:
            _serialise(quads, f, fmt, prefixes)
        return name

    def turtle(name: str, graph: str) -> str:
        return put_rdf(name, _triples(_subject_first_type(public[graph])), ox.RdfFormat.TURTLE)

    def documents() -> list[str]:
        names = [put(CONTEXT, (json.dumps(jsonld_context(iris), indent=1) + "\n").encode()),
                 put("shapes.ttl", shapes_text),
                 put("ontology.html", ontology_html(ontology, iris.base).encode("utf-8")),
                 # no blank node labels shown
                 put("shapes.html", shapes_html(shapes, iris.base).encode("utf-8"))]
        names += [put(f"embed/{name}", content)
                  for name, content in sorted((embeddings or {}).items())]
        if include_personal_contacts:
            names.append(put("contacts.ttl", turtle_bytes(graphs[CONTACTS_GRAPH], iris)))
        if notes is not None:
            from .render import render as render_page

            if notes.kept:
                names += [put(name, content) for name, content in sorted(notes.kept.items())]
            else:
                names.append(put("changes.ttl", turtle_bytes(notes.ntriples, iris,
                                                             {"cs": str(CS)})))
                names.append(put("changes.html",
                                 render_page("changes.html", **notes.page).encode("utf-8")))
        return names

    # the longest first, so that no process is left with a long one at the end
    tasks: list[Callable[[], list[str]]] = [
        lambda: [put("gfd.jsonld", (chunk.encode("utf-8")
                                    for chunk in _jsonld_chunks(data, iris, CONTEXT)))],
        lambda: [put_rdf("gfd.trig", _quads(public, iris), ox.RdfFormat.TRIG)],
        lambda: [put_rdf(ALL_TURTLE, _triples_in_chunks(_subject_first_type_lines(
            _union_lines(public.values()))), ox.RdfFormat.TURTLE)],
        lambda: [turtle("gfd.ttl", DATA_GRAPH)],
        lambda: [] if extra is None else extra(folder),
        lambda: [turtle(name, graph) for name, graph in (
            ("inferred.ttl", INFERRED_GRAPH), ("provenance.ttl", PROVENANCE_GRAPH),
            ("ontology.ttl", ONTOLOGY_GRAPH))],
        lambda: [put("gfd.nq", nquads_lines(public, iris)), put("gfd.nt", data),
                 put(ALL_NTRIPLES, _union_lines(public.values()))],
        documents,
    ]
    files: Files = {}
    for done in forked_map(lambda i: _written(folder, tasks[i]()), len(tasks), jobs):
        files.update(done)
    # the distributions of the dataset: not its documentation, nor the list of changes
    sizes = {name: size for name, (size, _digest) in files.items()
             if "/" not in name and not name.endswith(".html") and name not in CHANGE_FILES}
    classes, properties, first = graph_stats(data)
    stats = GraphStats(triples={name: nt.count(b"\n") for name, nt in public.items()},
                       classes=classes, properties=properties, first=first,
                       pages=instances(data, WEB_PAGE))
    files.update(_written(folder, [put("void.ttl", graph_turtle_bytes(void_graph(
        stats, sizes, iris, info, release=notes.release if notes else None), iris))]))
    put(CHECKSUMS, "".join(f"{digest}  {name}\n"
                           for name, (_size, digest) in sorted(files.items())).encode("utf-8"))
    return [*files, CHECKSUMS]


class _OwnPrefixLines:
    """A file that writes the prefix lines in the dataset's order, then what the Turtle
    or TriG writer sends after its own prefix lines (whose order is the writer's), with a
    blank line after each statement. (The writer escapes line breaks inside literals, so
    a line that ends with " ." ends a statement.)"""

    def __init__(self, f: BinaryIO, prefixes: Mapping[str, str]) -> None:
        self.f = f
        self.header = "".join(f"@prefix {p}: <{ns}> .\n" for p, ns in prefixes.items())
        self.pending: bytes | None = b""  # the writer's prefix lines, until they end
        self.tail = b""  # the last bytes written, which may end in " ." without "\n" yet

    def _body(self, data: bytes) -> None:
        text = self.tail + data
        keep = 2 if text.endswith((b" .", b" ")) else 0
        body, self.tail = (text[:-keep], text[-keep:]) if keep else (text, b"")
        self.f.write(body.replace(b" .\n", b" .\n\n"))

    def write(self, data: bytes) -> int:
        if self.pending is None:
            self._body(bytes(data))
            return len(data)
        self.pending += bytes(data)
        while b"\n" in self.pending:
            line, rest = self.pending.split(b"\n", 1)
            if not line.startswith(b"@prefix "):
                self.f.write(self.header.encode("utf-8") + b"\n")
                self.pending = None
                self._body(line + b"\n" + rest)
                return len(data)
            self.pending = rest
        return len(data)

    def flush(self) -> None:
        if self.pending is not None:  # nothing but prefixes: an empty graph
            self.f.write(self.header.encode("utf-8") + self.pending)
            self.pending = None
        self._body(b"")
        if self.tail:
            self.f.write(self.tail)
            self.tail = b""
        self.f.flush()


def _serialise(quads: Iterable[ox.Quad], f: BinaryIO, fmt: ox.RdfFormat,
               prefixes: Mapping[str, str]) -> None:
    """Turtle or TriG by pyoxigraph, with the dataset's prefix lines (``_OwnPrefixLines``)."""
    out = _OwnPrefixLines(f, prefixes)
    # pyoxigraph only calls write(), which is all _OwnPrefixLines has of a binary file
    ox.serialize(quads, cast("IO[bytes]", out), format=fmt, prefixes=dict(prefixes))
    out.flush()


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


KEPT = ("sdmx",)  # folders of dist/ that are not the build's: imports, kept across builds


def dataset_files(out: Path) -> list[Path]:
    """The RDF a query or the server reads from a build folder: the public graphs and
    the imported statistics."""
    return [out / "gfd.trig", *sorted((out / "sdmx").glob("*.trig"))]


def write_tree(out: Path, fill: Callable[[Path], object]) -> None:
    """Make ``out`` what ``fill`` writes into an empty folder, replacing it in one swap;
    the folders in ``KEPT`` (statistics imported into the build folder) move over as
    they are."""
    out = out.absolute()
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        _remove_leftovers(out)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.new-", dir=out.parent))
    except OSError as e:
        raise OutputError(f"{out.parent}: cannot write here ({e.strerror}); "
                          "choose another --out folder or fix its permissions") from e
    try:
        os.chmod(staging, 0o755)
        fill(staging)
        for path in staging.rglob("*"):
            os.chmod(path, 0o755 if path.is_dir() else 0o644)
        for kept in KEPT:
            if (out / kept).is_dir():
                shutil.copytree(out / kept, staging / kept)
        # The new files reach the disk before the swap, so that after a power cut the
        # folder is the old build or the new one, whole: in one flush of the file system,
        # not an fsync per file (12,016 files at 1,000 seminars: 26 s of fsyncs alone).
        os.sync()
        old = None
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            os.rename(out, old / out.name)
        os.rename(staging, out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except OSError as e:
        shutil.rmtree(staging, ignore_errors=True)
        raise OutputError(f"{out}: cannot write the build ({e.strerror}); check the free "
                          "space and the permissions there. The previous build, if any, is "
                          "untouched.") from e
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _remove_leftovers(out: Path) -> None:
    """Staging folders an interrupted build left beside ``out`` (one build at a time)."""
    for stale in out.parent.glob(f".{out.name}.new-*"):
        shutil.rmtree(stale, ignore_errors=True)
    for stale in out.parent.glob(f".{out.name}.old-*"):
        shutil.rmtree(stale, ignore_errors=True)
