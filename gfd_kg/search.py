"""The search index: every named thing of the dataset (people, organisations, places,
events, talks, questions, documents, concepts) by the words of its names, titles and
labels, in English and French, ignoring case and accents.

Why SQLite FTS5 (from Python's standard library) and not an index of our own or another
library: it is a well-kept full-text engine that needs no new dependency, ranks by BM25,
answers from a file without loading it (the server opens ``dist/search/index.sqlite`` read-only,
so a 1,000-seminar index costs no start-up time and no memory per worker), and its
``unicode61`` tokenizer with ``remove_diacritics 2`` folds case and accents. What it does
not do is written here, once, for both the index and the query (``words``): a word joined
by an apostrophe or a hyphen ("M'Dhaffer", "e-government") is indexed as its parts and as
the parts run together ("mdhaffer", "egovernment"), so either spelling finds it. A query
never reaches FTS5's syntax: it is cut into those same words, each quoted, so ``"``, ``*``
or ``NEAR(`` are only characters.

The build writes the index (``write_index``, from the graphs it publishes; never the
private contacts graph); the server reads it (``Index``). The file's bytes depend only on
its rows and SQLite's version: rows are inserted in IRI order into a fresh database with no
journal, then vacuumed."""

from __future__ import annotations

import os
import re
import sqlite3
import threading
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

INDEX_NAME = "search/index.sqlite"  # in a folder: not one of the RDF dumps VoID lists
MAX_QUERY_CHARS = 200
MAX_WORDS = 12
# the graphs the index reads (published ones only)
GRAPHS = ("data", "inferred", "ontology")

SCHEMA = "http://schema.org/"
GFDO_PATH = "ontology/"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
SKOS = "http://www.w3.org/2004/02/skos/core#"
DCTERMS_TITLE = "http://purl.org/dc/terms/title"
FOAF_DOCUMENT = "http://xmlns.com/foaf/0.1/Document"

# what a thing is called: its names column (the higher weight)
NAME_PREDICATES = (SCHEMA + "name", SCHEMA + "alternateName", RDFS_LABEL, SKOS + "prefLabel",
                   SKOS + "altLabel", DCTERMS_TITLE, SCHEMA + "text")
# what else tells it apart: the other column
OTHER_PREDICATES = (SCHEMA + "jobTitle", SCHEMA + "honorificPrefix", "{gfdo}iso3166Alpha2",
                    "{gfdo}iso3166Alpha3")
# the kind of a thing: the first of these classes it has (types inferred included)
KIND_CLASSES: tuple[tuple[str, str], ...] = (
    ("{gfdo}Talk", "talk"),
    (SCHEMA + "Person", "person"),
    (SCHEMA + "Country", "country"),
    (SCHEMA + "Organization", "organisation"),
    (SCHEMA + "Question", "question"),
    (SCHEMA + "EventSeries", "series"),
    (SCHEMA + "Event", "event"),
    (SCHEMA + "Place", "place"),
    (SKOS + "ConceptScheme", "concept scheme"),
    (SKOS + "Concept", "concept"),
    (SCHEMA + "CreativeWork", "document"),
    (FOAF_DOCUMENT, "document"),
)
KIND_ORDER = {kind: n for n, (_cls, kind) in enumerate(KIND_CLASSES)}

# what joins the parts of one word: apostrophes (' and U+2019) and hyphens (-, U+2010, U+2011)
_JOINERS = "'\u2019\\-\u2010\u2011"
_WORD = re.compile(f"[^\\W_]+(?:[{_JOINERS}][^\\W_]+)*")
_JOINER = re.compile(f"[{_JOINERS}]")


def fold(text: str) -> str:
    """``text`` without accents, in lower case: what both sides compare."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def words(text: str, joined_only: bool = False) -> list[str]:
    """The words of ``text``, folded; a word joined by apostrophes or hyphens gives its
    parts and the parts run together (only the latter with ``joined_only``, for a query:
    "m'dhaffer" asks for "mdhaffer", which the index holds for every spelling)."""
    found: list[str] = []
    for m in _WORD.finditer(fold(text)):
        parts = [p for p in _JOINER.split(m.group(0)) if p]
        if len(parts) > 1:
            if not joined_only:
                found.extend(parts)
            found.append("".join(parts))
        else:
            found.extend(parts)
    return found


@dataclass(frozen=True)
class Entry:
    """One thing of the index: what the results list shows and what is searched."""

    iri: str
    kind: str
    name: str
    detail: str
    names: str  # folded words of the names, the high-weight column
    other: str  # folded words of the rest


def _best(values: list[ox.Literal]) -> str | None:
    """The label to show: English, else untagged, else any; the shortest text first among
    equals, then by text, so the choice never depends on the order of the triples."""
    def rank(v: ox.Literal) -> tuple[int, int, str]:
        lang = v.language or ""
        return ({"en": 0, "": 1}.get(lang, 2), len(v.value), v.value)
    return min(values, key=rank).value if values else None


def entries(graphs: Mapping[str, bytes], base: str) -> list[Entry]:
    """The index's rows from the N-Triples of the published graphs, sorted by IRI."""
    gfdo = base + GFDO_PATH
    kinds = [(cls.format(gfdo=gfdo), kind) for cls, kind in KIND_CLASSES]
    types: dict[str, set[str]] = {}
    literals: dict[str, dict[str, list[ox.Literal]]] = {}
    other_predicates = [p.format(gfdo=gfdo) for p in OTHER_PREDICATES]
    wanted = set(NAME_PREDICATES) | set(other_predicates) | {SCHEMA + "startDate"}
    for name in GRAPHS:
        data = graphs.get(name)
        if not data:
            continue
        for t in ox.parse(_lines_of(data, wanted, {cls for cls, _ in kinds}),
                          format=ox.RdfFormat.N_TRIPLES):
            if not isinstance(t.subject, ox.NamedNode):
                continue
            p = t.predicate.value
            if p == RDF_TYPE and isinstance(t.object, ox.NamedNode):
                types.setdefault(t.subject.value, set()).add(t.object.value)
            elif p in wanted and isinstance(t.object, ox.Literal):
                literals.setdefault(t.subject.value, {}).setdefault(p, []).append(t.object)
    rows = []
    for iri in sorted(types):
        kind = next((k for cls, k in kinds if cls in types[iri]), None)
        values = literals.get(iri, {})
        names = [v for p in NAME_PREDICATES for v in values.get(p, [])]
        if kind is None or not names:
            continue
        shown = (_best(values.get(SCHEMA + "name", [])) or _best(values.get(SKOS + "prefLabel", []))
                 or _best(names) or iri)
        other = [v.value for p in other_predicates for v in values.get(p, [])]
        rows.append(Entry(iri, kind, shown, _detail(kind, values, gfdo),
                          " ".join(words(" ".join(sorted({v.value for v in names})))),
                          " ".join(words(" ".join(sorted(set(other)))))))
    return rows


def _lines_of(data: bytes, predicates: set[str], classes: set[str]) -> bytes:
    """The lines of sorted N-Triples (one space between the terms, as the build writes
    them) that can matter: ``predicates``, and the types among ``classes``. Picked from the
    bytes, so the parse sees a tenth of a large graph (at 1,000 seminars the whole parse
    took a minute and a half)."""
    wanted = {f"<{p}>".encode() for p in predicates}
    typed = {f"<{c}> .".encode() for c in classes}
    rdf_type = f"<{RDF_TYPE}>".encode()
    kept = []
    for line in data.splitlines():
        parts = line.split(b" ", 2)
        if len(parts) == 3 and (parts[1] in wanted
                                or (parts[1] == rdf_type and parts[2].rstrip() in typed)):
            kept.append(line)
    return b"\n".join(kept) + b"\n"


def _detail(kind: str, values: dict[str, list[ox.Literal]], gfdo: str) -> str:
    if kind == "person":
        return _best(values.get(SCHEMA + "jobTitle", [])) or ""
    if kind in ("event", "talk"):
        start = _best(values.get(SCHEMA + "startDate", []))
        return start[:10] if start else ""
    if kind == "country":
        return _best(values.get(gfdo + "iso3166Alpha2", [])) or ""
    return ""


def write_index(path: Path, rows: Iterable[Entry]) -> None:
    """Write the index file at ``path`` (made afresh; the same rows give the same bytes
    with the same SQLite)."""
    if path.exists():
        path.unlink()
    con = sqlite3.connect(path)
    try:
        con.execute("PRAGMA journal_mode=OFF")
        con.execute("PRAGMA page_size=4096")
        con.execute("CREATE VIRTUAL TABLE entries USING fts5(iri UNINDEXED, kind UNINDEXED, "
                    "name UNINDEXED, detail UNINDEXED, names, other, "
                    "tokenize='unicode61 remove_diacritics 2')")
        con.executemany("INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?)",
                        ((e.iri, e.kind, e.name, e.detail, e.names, e.other)
                         for e in sorted(rows, key=lambda e: e.iri)))
        con.execute("INSERT INTO entries(entries) VALUES ('optimize')")
        con.commit()
        con.execute("VACUUM")
    finally:
        con.close()
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def build_index(folder: Path, graphs: Mapping[str, bytes], base: str) -> str:
    """The build's one call: the index of ``graphs`` in ``folder``; returns its name."""
    (folder / INDEX_NAME).parent.mkdir(parents=True, exist_ok=True)
    write_index(folder / INDEX_NAME, entries(graphs, base))
    return INDEX_NAME


def match_expressions(query: str) -> tuple[str, str] | None:
    """The FTS5 queries for a text typed by someone: every word must match; first as
    whole words, then the last one as a prefix (so "zammo" finds "Zammouri" while typing,
    after what "tunis" names exactly); None when it has no words."""
    found = words(query[:MAX_QUERY_CHARS], joined_only=True)[:MAX_WORDS]
    if not found:
        return None
    exact = " ".join(f'"{w}"' for w in found)  # letters and digits only: no quote inside
    return exact, exact + "*"


@dataclass(frozen=True)
class Hit:
    iri: str
    kind: str
    name: str
    detail: str


class IndexMissing(Exception):
    """The build served has no search index (a dist/ from before the index existed)."""


class Index:
    """The index file, opened read-only, one connection a thread (the server's query
    threads each keep theirs)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.local = threading.local()

    def connection(self) -> sqlite3.Connection:
        con = getattr(self.local, "con", None)
        if con is None:
            if not self.path.is_file():
                raise IndexMissing(f"this build has no search index ({INDEX_NAME}: the "
                                   "build is older than the search); rebuild it with "
                                   "`gfd-kg build` to search it")
            con = sqlite3.connect(f"{self.path.absolute().as_uri()}?mode=ro&immutable=1",
                                  uri=True, check_same_thread=False)
            self.local.con = con
        return con

    def search(self, query: str, limit: int = 50) -> list[Hit]:
        """The things matching ``query``, best first: BM25 with names ten times the weight
        of the rest, then by kind and name for equal scores."""
        expressions = match_expressions(query)
        if expressions is None:
            return []
        found: dict[str, Hit] = {}
        for expression in expressions:
            rows = self.connection().execute(
                "SELECT iri, kind, name, detail, bm25(entries, 0, 0, 0, 0, 10.0, 1.0) "
                "FROM entries WHERE entries MATCH ? ORDER BY 5 LIMIT ?",
                (expression, limit + len(found))).fetchall()
            ranked = sorted(rows, key=lambda r: (round(r[4], 6), KIND_ORDER.get(r[1], 99),
                                                 fold(r[2]), r[0]))
            for iri, kind, name, detail, _score in ranked:
                found.setdefault(iri, Hit(iri, kind, name, detail))
        return list(found.values())[:limit]
