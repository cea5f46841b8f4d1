"""Dumps: the only module that writes bytes.

``render`` turns a built dataset into the files of ``dist/`` (name -> bytes), all
deterministic: blank nodes get canonical labels, N-Triples and N-Quads lines are sorted,
JSON-LD is written in a fixed order. ``write_tree`` writes them into a fresh folder next to
the output folder and swaps it in whole, so a failed or interrupted build never leaves
half a ``dist/``: the previous one stays as it was.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

from rdflib import BNode, Dataset, Graph, Literal, URIRef
from rdflib.compare import to_canonical_graph
from rdflib.namespace import XSD

from .docs import ontology_html, shapes_html
from .errors import OutputError
from .iris import IRIs
from .model import CONTACTS_GRAPH, DATA_GRAPH, INFERRED_GRAPH, ONTOLOGY_GRAPH
from .provenance import BuildInfo
from .void import void_graph

PROVENANCE_GRAPH = "provenance"
# The named graphs of gfd.trig / gfd.nq, in this order.
PUBLIC_GRAPHS = (DATA_GRAPH, ONTOLOGY_GRAPH, INFERRED_GRAPH, PROVENANCE_GRAPH)
CHECKSUMS = "SHA256SUMS"
CONTEXT = "context.jsonld"


def _canonical(graph: Graph) -> Graph:
    """The graph with blank nodes labelled from their content, so output is stable.
    (A graph already canonical keeps its labels: they all start with "cb".)"""
    bnodes = {t for triple in graph for t in triple if isinstance(t, BNode)}
    if all(str(b).startswith("cb") for b in bnodes):
        return graph
    return to_canonical_graph(graph)


def _with_prefixes(graph: Graph, iris: IRIs) -> Graph:
    g = Graph(bind_namespaces="none")
    for prefix, ns in iris.prefixes().items():
        g.bind(prefix, ns)
    for triple in _canonical(graph):
        g.add(triple)
    return g


def turtle_bytes(graph: Graph, iris: IRIs) -> bytes:
    """Readable Turtle with the dataset's prefixes; the same graph gives the same bytes."""
    return _with_prefixes(graph, iris).serialize(format="turtle", encoding="utf-8")


def ntriples_bytes(graph: Graph) -> bytes:
    lines = _canonical(graph).serialize(format="nt", encoding="utf-8").splitlines(keepends=True)
    return b"".join(sorted(line for line in lines if line.strip()))


def nquads_bytes(graphs: Mapping[str, Graph], iris: IRIs) -> bytes:
    lines: list[bytes] = []
    for name, graph in graphs.items():
        g = iris.graph(name).n3().encode("utf-8")
        for line in ntriples_bytes(graph).splitlines():
            lines.append(line[:-1].rstrip() + b" " + g + b" .\n")
    return b"".join(sorted(lines))


def trig_bytes(graphs: Mapping[str, Graph], iris: IRIs) -> bytes:
    """TriG: each named graph's readable Turtle inside ``<graph> { ... }``, the graphs in
    the given order (rdflib's TriG writer orders graphs by hash, which changes from run to
    run). The dataset's prefixes come first; a graph that uses other namespaces has their
    prefix lines just before its block (TriG allows directives between blocks)."""
    header = [f"@prefix {p}: <{ns}> ." for p, ns in iris.prefixes().items()]
    parts = ["\n".join(header) + "\n"]
    for name, graph in graphs.items():
        body = turtle_bytes(graph, iris).decode("utf-8")
        lines = body.splitlines()
        extra = [line for line in lines if line.startswith("@prefix ") and line not in header]
        triples = "\n".join(line for line in lines if not line.startswith("@prefix ")).strip()
        # not indented: a multi-line string literal must keep its lines as they are
        parts.append("\n" + "".join(x + "\n" for x in extra)
                     + f"{iris.graph(name).n3()} {{\n\n{triples}\n\n}}\n")
    return "".join(parts).encode("utf-8")


# -- JSON-LD ---------------------------------------------------------------------------

def jsonld_context(iris: IRIs) -> dict:
    """The context of ``gfd.jsonld``, published as ``context.jsonld``: the dataset's
    prefixes, so every key is a compact IRI and nothing can be dropped on expansion."""
    return {"@context": {prefix: str(ns) for prefix, ns in iris.prefixes().items()}}


class _Compactor:
    def __init__(self, iris: IRIs) -> None:
        # longest namespace first, so event: wins over a shorter prefix of it
        self.prefixes = sorted(((str(ns), p) for p, ns in iris.prefixes().items()),
                               key=lambda x: -len(x[0]))

    def iri(self, term: URIRef | BNode) -> str:
        if isinstance(term, BNode):
            return f"_:{term}"
        text = str(term)
        for ns, prefix in self.prefixes:
            if text.startswith(ns) and len(text) > len(ns):
                return f"{prefix}:{text[len(ns):]}"
        return text

    def value(self, term) -> object:
        if isinstance(term, Literal):
            if term.language:
                return {"@value": str(term), "@language": term.language}
            if term.datatype is None or term.datatype == XSD.string:
                return str(term)
            return {"@value": str(term), "@type": self.iri(term.datatype)}
        return {"@id": self.iri(term)}


def _sort_key(value: object) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def jsonld_bytes(graph: Graph, iris: IRIs, context_url: str) -> bytes:
    """Compacted JSON-LD: one node object per subject, in a fixed order."""
    from rdflib import RDF

    c = _Compactor(iris)
    nodes: dict[str, dict[str, list]] = {}
    for s, p, o in _canonical(graph):
        node = nodes.setdefault(c.iri(s), {})
        if p == RDF.type and not isinstance(o, Literal):
            node.setdefault("@type", []).append(c.iri(o))
        else:
            node.setdefault(c.iri(p), []).append(c.value(o))
    out = []
    for ident in sorted(nodes):
        node: dict[str, object] = {"@id": ident}
        for key in sorted(nodes[ident]):
            values = sorted(nodes[ident][key], key=_sort_key)
            node[key] = values[0] if len(values) == 1 else values
        out.append(node)
    doc = {"@context": context_url, "@graph": out}
    return (json.dumps(doc, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


# -- the tree ----------------------------------------------------------------------------

def render(dataset: Dataset, provenance: Graph, shapes: Graph, iris: IRIs, info: BuildInfo,
           embeddings: Mapping[str, bytes] | None = None,
           include_personal_contacts: bool = False) -> dict[str, bytes]:
    """Every file of ``dist/``, by relative path."""
    graphs = {name: _canonical(dataset.graph(iris.graph(name))) for name in PUBLIC_GRAPHS
              if name != PROVENANCE_GRAPH}
    graphs[PROVENANCE_GRAPH] = provenance
    shapes = _canonical(shapes)
    data = graphs[DATA_GRAPH]
    files: dict[str, bytes] = {
        "gfd.ttl": turtle_bytes(data, iris),
        "gfd.nt": ntriples_bytes(data),
        "gfd.jsonld": jsonld_bytes(data, iris, CONTEXT),
        CONTEXT: (json.dumps(jsonld_context(iris), indent=1) + "\n").encode("utf-8"),
        "gfd.trig": trig_bytes(graphs, iris),
        "gfd.nq": nquads_bytes(graphs, iris),
        "inferred.ttl": turtle_bytes(graphs[INFERRED_GRAPH], iris),
        "provenance.ttl": turtle_bytes(provenance, iris),
        "ontology.ttl": turtle_bytes(graphs[ONTOLOGY_GRAPH], iris),
        "shapes.ttl": turtle_bytes(shapes, iris),
        "ontology.html": ontology_html(graphs[ONTOLOGY_GRAPH], iris.base).encode("utf-8"),
        "shapes.html": shapes_html(shapes, iris.base).encode("utf-8"),
    }
    for name, content in sorted((embeddings or {}).items()):
        files[f"embed/{name}"] = content
    if include_personal_contacts:
        files["contacts.ttl"] = turtle_bytes(dataset.graph(iris.graph(CONTACTS_GRAPH)), iris)
    sizes = {name: len(content) for name, content in files.items()
             if "/" not in name and not name.endswith(".html")}
    files["void.ttl"] = turtle_bytes(void_graph(graphs, sizes, iris, info), iris)
    files[CHECKSUMS] = "".join(
        f"{hashlib.sha256(content).hexdigest()}  {name}\n"
        for name, content in sorted(files.items())).encode("utf-8")
    return files


KEPT = ("sdmx",)  # folders of dist/ that are not the build's: imports, kept across builds


def dataset_files(out: Path) -> list[Path]:
    """The RDF a query or the server reads from a build folder: the public graphs and
    the imported statistics."""
    return [out / "gfd.trig", *sorted((out / "sdmx").glob("*.trig"))]


def write_tree(out: Path, files: Mapping[str, bytes]) -> list[Path]:
    """Write ``files`` as the whole content of ``out``, replacing it in one swap; the
    folders in ``KEPT`` (statistics imported into the build folder) move over as they
    are."""
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
        for name, content in files.items():
            path = staging / name
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "wb") as f:
                f.write(content)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(path, 0o644)
        for kept in KEPT:
            if (out / kept).is_dir():
                shutil.copytree(out / kept, staging / kept)
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
    return [out / name for name in files]


def _remove_leftovers(out: Path) -> None:
    """Staging folders an interrupted build left beside ``out`` (one build at a time)."""
    for stale in out.parent.glob(f".{out.name}.new-*"):
        shutil.rmtree(stale, ignore_errors=True)
    for stale in out.parent.glob(f".{out.name}.old-*"):
        shutil.rmtree(stale, ignore_errors=True)
