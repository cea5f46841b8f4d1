"""Content negotiation: the media types the server speaks, in one table, and the choice
of the best one for an Accept header (RFC 9110, section 12.5.1, q-values included)."""

from __future__ import annotations

import functools
from dataclasses import dataclass

# What a resource can be had as: suffix -> media type. The first is the default.
RESOURCE_TYPES: dict[str, str] = {
    "html": "text/html",
    "ttl": "text/turtle",
    "jsonld": "application/ld+json",
    "nt": "application/n-triples",
}
# Aliases clients send for the same thing.
ALIASES: dict[str, str] = {
    "application/xhtml+xml": "text/html",
    "application/x-turtle": "text/turtle",
    "application/json": "application/ld+json",
    "text/plain": "application/n-triples",
    "application/sparql-results+json": "application/sparql-results+json",
    "text/xml": "application/sparql-results+xml",
    "application/xml": "application/sparql-results+xml",
}


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


def parse_accept(header: str | None) -> list[Range]:
    """The ranges of an Accept header; a missing or empty header accepts anything.
    Malformed parts are skipped, not fatal: a client's typo should not cost it a 400."""
    if not header or not header.strip():
        return [Range("*", "*", 1.0, 0)]
    ranges = []
    for order, part in enumerate(header.split(",")):
        pieces = [p.strip() for p in part.split(";")]
        media = pieces[0].lower()
        if "/" not in media:
            continue
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
        alias = ALIASES.get(f"{t}/{s}")
        if alias:
            t, _, s = alias.partition("/")
        ranges.append(Range(t, s, q, order))
    return ranges


def quality(ranges: list[Range], media: str) -> float:
    """The q-value a client gives a media type: that of the most specific range matching."""
    best: Range | None = None
    for r in ranges:
        if r.matches(media) and (best is None or r.specificity > best.specificity):
            best = r
    return best.q if best else 0.0


def choose(header: str | None, offered: list[str] | tuple[str, ...]) -> str | None:
    """The offered media type the client likes best (ties: the server's order), or None
    when the client accepts none of them."""
    if isinstance(offered, tuple) and (header is None or len(header) <= 512):
        return _choose(header, offered)
    return _choose.__wrapped__(header, offered)


@functools.lru_cache(maxsize=512)
def _choose(header: str | None, offered: list[str] | tuple[str, ...]) -> str | None:
    # remembered: clients send the same few Accept headers again and again
    ranges = parse_accept(header)
    scored = [(quality(ranges, m), -i, m) for i, m in enumerate(offered)]
    q, _, media = max(scored)
    return media if q > 0 else None


def ranked(header: str | None, offered: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """The offered media types the client accepts, best first."""
    if isinstance(offered, tuple) and (header is None or len(header) <= 512):
        return _ranked(header, offered)
    return _ranked.__wrapped__(header, offered)


@functools.lru_cache(maxsize=512)
def _ranked(header: str | None, offered: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    ranges = parse_accept(header)
    scored = sorted(((quality(ranges, m), -i, m) for i, m in enumerate(offered)), reverse=True)
    return tuple(m for q, _, m in scored if q > 0)
