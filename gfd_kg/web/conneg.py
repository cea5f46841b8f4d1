"""Content negotiation, decided in one table: for each kind of answer, the media types the
server gives (best first), what the media types clients send for it mean, and the names a
``format=`` / ``output=`` parameter may give instead; then the choice for an Accept header
(RFC 9110, section 12.5.1, q-values included). tests/accept.csv holds what real clients send
and what they must get."""

from __future__ import annotations

import functools
from dataclasses import dataclass

HTML = "text/html"
JSON_RESULTS = "application/sparql-results+json"
XML_RESULTS = "application/sparql-results+xml"
TURTLE, NTRIPLES = "text/turtle", "application/n-triples"
JSONLD, RDFXML = "application/ld+json", "application/rdf+xml"

# The kinds of answer: the results of SELECT and ASK, the graph of CONSTRUCT and DESCRIBE, a
# resource of the dataset (an IRI dereferenced), the service description.
KINDS = ("solutions", "graph", "resource", "description")


@dataclass(frozen=True)
class Offer:
    media: tuple[str, ...]  # what the server gives, its preference first
    aliases: dict[str, str]  # a media type clients send -> the one of ``media`` it means
    names: dict[str, str]  # a format= name -> one of ``media``


GRAPH_NAMES = {"ttl": TURTLE, "turtle": TURTLE, "n3": TURTLE, "nt": NTRIPLES,
               "ntriples": NTRIPLES, "n-triples": NTRIPLES, "jsonld": JSONLD, "json-ld": JSONLD,
               "json": JSONLD, "rdfxml": RDFXML, "rdf+xml": RDFXML, "rdf": RDFXML, "xml": RDFXML,
               "html": HTML}
GRAPH_ALIASES = {"application/turtle": TURTLE, "application/x-turtle": TURTLE,
                 "text/rdf+n3": TURTLE, "text/n3": TURTLE, "application/n3": TURTLE,
                 "application/x-json+ld": JSONLD, "application/json": JSONLD,
                 "application/xml": RDFXML, "text/xml": RDFXML,
                 "application/xhtml+xml": HTML}

TABLE: dict[str, Offer] = {
    # SPARQL results: JSON first (what */* gets), the page for a browser last in preference
    "solutions": Offer(
        (JSON_RESULTS, XML_RESULTS, "text/csv", "text/tab-separated-values", HTML),
        {"application/json": JSON_RESULTS, "text/javascript": JSON_RESULTS,
         "application/javascript": JSON_RESULTS, "application/xml": XML_RESULTS,
         "text/xml": XML_RESULTS, "application/xhtml+xml": HTML},
        {"json": JSON_RESULTS, "srj": JSON_RESULTS, "xml": XML_RESULTS, "srx": XML_RESULTS,
         "csv": "text/csv", "tsv": "text/tab-separated-values", "html": HTML}),
    "graph": Offer((TURTLE, NTRIPLES, JSONLD, RDFXML, HTML), GRAPH_ALIASES, GRAPH_NAMES),
    "resource": Offer((HTML, TURTLE, JSONLD, NTRIPLES, RDFXML), GRAPH_ALIASES, GRAPH_NAMES),
    "description": Offer((TURTLE, JSONLD, NTRIPLES, RDFXML, HTML), GRAPH_ALIASES, GRAPH_NAMES),
}

# What a resource can be had as: suffix -> media type (the suffix of its twin's address).
RESOURCE_TYPES: dict[str, str] = {"html": HTML, "ttl": TURTLE, "jsonld": JSONLD,
                                  "nt": NTRIPLES, "rdf": RDFXML}


class UnknownFormat(ValueError):
    """A format= value that names no format."""


@dataclass(frozen=True)
class Range:
    type: str  # "text", "*"
    subtype: str  # "turtle", "*"
    q: float
    order: int

    def matches(self, media: str) -> bool:
        t, _, s = media.partition("/")
        return (self.type in ("*", t)) and (self.subtype in ("*", s))

    @property
    def specificity(self) -> int:
        return (self.type != "*") + (self.subtype != "*")


def parse_accept(header: str | None, aliases: dict[str, str] | None = None) -> list[Range]:
    """The ranges of an Accept header, aliases read as what they mean; a missing or empty
    header accepts anything. Malformed parts are skipped, not fatal: a client's typo should
    not cost it a 400."""
    if not header or not header.strip():
        return [Range("*", "*", 1.0, 0)]
    ranges = []
    for order, part in enumerate(header.split(",")):
        pieces = [p.strip() for p in part.split(";")]
        media = pieces[0].lower()
        t, _, s = media.partition("/")
        if not t or not s:
            continue
        q = 1.0
        for param in pieces[1:]:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
                q = min(max(q, 0.0), 1.0)
        alias = (aliases or {}).get(f"{t}/{s}")
        if alias:
            t, _, s = alias.partition("/")
        ranges.append(Range(t, s, q, order))
    return ranges


def quality(ranges: list[Range], media: str) -> float:
    """The q-value a client gives a media type: the highest among the most specific ranges
    that match it (an alias and the type itself may both name it)."""
    best: tuple[int, float] | None = None
    for r in ranges:
        if r.matches(media) and (best is None or (r.specificity, r.q) > best):
            best = (r.specificity, r.q)
    return best[1] if best else 0.0


@functools.lru_cache(maxsize=1024)
def ranked(header: str | None, kind: str) -> tuple[str, ...]:
    """What the server gives for ``kind`` that the client accepts, best first (ties: the
    server's order). Remembered: clients send the same few Accept headers again and again."""
    offer = TABLE[kind]
    ranges = parse_accept(header[:4096] if header else header, offer.aliases)
    scored = sorted(((quality(ranges, m), -i, m) for i, m in enumerate(offer.media)),
                    reverse=True)
    return tuple(m for q, _, m in scored if q > 0)


def choose(header: str | None, kind: str) -> str | None:
    """The media type the client likes best for ``kind``, or None when it accepts none."""
    found = ranked(header, kind)
    return found[0] if found else None


def named(values: list[str], kind: str) -> str | None:
    """The media type ``format=`` / ``output=`` values name for ``kind``: the first value
    that is a format's name (json, ttl, ...) or a media type (an Accept-like list too, as
    SPARQLWrapper sends); None when they name formats of other kinds only (the Accept
    header decides then). UnknownFormat when a value names no format of any kind."""
    offer = TABLE[kind]
    unknown = []
    for value in values:
        value = value.strip()
        if not value:
            continue
        if value.lower() in offer.names:
            return offer.names[value.lower()]
        if "/" in value:
            found = ranked(value, kind)
            if found:
                return found[0]
        if not _known_anywhere(value):
            unknown.append(value)
    if unknown:
        names = sorted({n for o in TABLE.values() for n in o.names})
        raise UnknownFormat(f"format={unknown[0][:100]!r} names no format; use one of "
                            f"{', '.join(names)} or a media type")
    return None


def _known_anywhere(value: str) -> bool:
    if any(value.lower() in o.names for o in TABLE.values()):
        return True
    return "/" in value and any(ranked(value, kind) for kind in KINDS
                                if not value.startswith("*"))
