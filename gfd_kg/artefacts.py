"""The artefacts a linked-data person opens first, kept as files: ``ontology/``,
``shapes/`` and ``queries/`` (found by ``resources``). They are written with the default
base IRI; loading them for another base rewrites that base."""

from __future__ import annotations

from pathlib import Path

from rdflib import Graph

from .errors import SourceError
from .iris import DEFAULT_BASE, IRIs
from .resources import ontology_dir, shapes_dir


def rebase(text: str, iris: IRIs) -> str:
    return text if iris.base == DEFAULT_BASE else text.replace(DEFAULT_BASE, iris.base)


def load_turtle_dir(folder: Path, iris: IRIs) -> Graph:
    """Every ``*.ttl`` of a folder, in name order, as one graph."""
    g = Graph()
    files = sorted(folder.glob("*.ttl"))
    if not files:
        raise SourceError(f"{folder}: no Turtle files (*.ttl) here")
    for path in files:
        try:
            g.parse(data=rebase(path.read_text(encoding="utf-8"), iris), format="turtle",
                    publicID=path.as_uri())
        except Exception as e:  # rdflib raises several unrelated types for bad syntax
            raise SourceError(f"{path}: not valid Turtle: {e}") from e
    return g


def ontology(iris: IRIs) -> Graph:
    return load_turtle_dir(ontology_dir(), iris)


def shapes(iris: IRIs) -> Graph:
    return load_turtle_dir(shapes_dir(), iris)


def shapes_source(iris: IRIs) -> bytes | None:
    """The shapes as written, comments and all, when ``shapes/`` holds one file (files
    cannot simply be joined: their blank node labels would meet); None otherwise."""
    files = sorted(shapes_dir().glob("*.ttl"))
    if len(files) != 1:
        return None
    return rebase(files[0].read_text(encoding="utf-8"), iris).encode("utf-8")


_FORMATS = {".ttl": "turtle", ".nt": "nt", ".nq": "nquads", ".trig": "trig",
            ".jsonld": "json-ld", ".json": "json-ld", ".rdf": "xml", ".owl": "xml"}


def read_rdf_files(paths: list[Path]) -> Graph:
    """RDF files, their format known by suffix, merged into one graph (quads lose their
    graph names); a file that cannot be read or parsed raises ``SourceError``."""
    g = Graph()
    for path in paths:
        fmt = _FORMATS.get(path.suffix.lower())
        if fmt is None:
            raise SourceError(f"{path}: unknown RDF format; use one of "
                              f"{', '.join(sorted(_FORMATS))}")
        if not path.is_file():
            raise SourceError(f"{path}: no such file (run `gfd-kg build` first?)")
        try:
            if fmt in ("nquads", "trig"):
                from rdflib import Dataset
                ds = Dataset()
                ds.parse(path, format=fmt)
                for s, p, o, _g in ds.quads():
                    g.add((s, p, o))
            else:
                g.parse(path, format=fmt)
        except Exception as e:  # rdflib raises several unrelated types for bad syntax
            raise SourceError(f"{path}: cannot be parsed as {fmt}: {e}") from e
    return g
