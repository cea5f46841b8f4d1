"""Dumps: the only module that writes bytes. Every file is written to a temporary name
in the output folder and renamed over the old one, so a reader never sees half a file
and a failed build leaves the previous files as they were."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from rdflib import Dataset, Graph

from .errors import OutputError
from .iris import IRIs
from .docs import ontology_html, shapes_html
from .model import CONTACTS_GRAPH, DATA_GRAPH, INFERRED_GRAPH, ONTOLOGY_GRAPH


def turtle_bytes(graph: Graph, iris: IRIs) -> bytes:
    """Readable Turtle with the dataset's prefixes; the same graph gives the same bytes."""
    g = Graph()
    for prefix, ns in iris.prefixes().items():
        g.bind(prefix, ns, override=True, replace=True)
    for triple in graph:
        g.add(triple)
    return g.serialize(format="turtle", encoding="utf-8")


def write_atomic(path: Path, content: bytes) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as e:
        raise OutputError(f"{path.parent}: cannot write here ({e.strerror}); "
                          "choose another --out folder or fix its permissions") from e
    try:
        os.fchmod(fd, 0o644)
        with os.fdopen(fd, "wb") as f:
            f.write(content)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        Path(tmp).unlink(missing_ok=True)
        raise OutputError(f"{path}: cannot write the file ({e.strerror})") from e


def write_dumps(dataset: Dataset, iris: IRIs, out: Path, shapes: Graph,
                include_personal_contacts: bool = False) -> list[Path]:
    """Write the dumps of a built dataset, and the documentation of its ontology and
    shapes, into ``out``; return the paths written. The personal contact details are
    written (to ``contacts.ttl``) only when asked for."""
    ontology = dataset.graph(iris.graph(ONTOLOGY_GRAPH))
    files = {
        out / "gfd.ttl": turtle_bytes(dataset.graph(iris.graph(DATA_GRAPH)), iris),
        out / "inferred.ttl": turtle_bytes(dataset.graph(iris.graph(INFERRED_GRAPH)), iris),
        out / "ontology.html": ontology_html(ontology, iris.base).encode("utf-8"),
        out / "shapes.html": shapes_html(shapes, iris.base).encode("utf-8"),
    }
    contacts = out / "contacts.ttl"
    if include_personal_contacts:
        files[contacts] = turtle_bytes(dataset.graph(iris.graph(CONTACTS_GRAPH)), iris)
    for path, content in files.items():
        write_atomic(path, content)
    if not include_personal_contacts:
        contacts.unlink(missing_ok=True)  # never leave an earlier build's copy behind
    return list(files)
