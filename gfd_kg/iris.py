"""Every namespace and IRI pattern of the dataset, minted here and nowhere else.

IRIs are slash IRIs under one base (``DEFAULT_BASE``, or ``GFD_KG_BASE`` / ``--base``):
``{base}{kind}/{id}`` with the record's id, e.g. ``{base}person/khedija-zammouri`` or
``{base}event/gfd-2008-tunis/session-2``. Record ids are stable, so IRIs are too.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import cached_property

from rdflib import Namespace, URIRef
from rdflib.namespace import DCTERMS, FOAF, OWL, RDF, RDFS, SH, SKOS, XSD, DefinedNamespace

DEFAULT_BASE = "https://w3id.org/gfd-kg/"
BASE_ENV = "GFD_KG_BASE"

SCHEMA = Namespace("http://schema.org/")
WD = Namespace("http://www.wikidata.org/entity/")
PROV = Namespace("http://www.w3.org/ns/prov#")
VOID = Namespace("http://rdfs.org/ns/void#")
DCAT = Namespace("http://www.w3.org/ns/dcat#")
VANN = Namespace("http://purl.org/vocab/vann/")

_BASE_RE = re.compile(r"^https?://[^\s<>\"{}|\\^`]+/$")

# The kinds of thing the dataset mints IRIs for: path segment under the base.
KINDS = (
    "event", "person", "organization", "place", "country", "role", "question",
    "document", "contact", "address", "graph", "dataset", "source", "activity", "agent",
    "series", "participation",
)


def base_from_env() -> str:
    return os.environ.get(BASE_ENV, DEFAULT_BASE)


@dataclass(frozen=True)
class IRIs:
    """The IRI minter for one base. ``IRIs()`` uses the default base."""

    base: str = DEFAULT_BASE

    def __post_init__(self) -> None:
        if not _BASE_RE.match(self.base):
            raise ValueError(
                f"base IRI {self.base!r} must be an http(s) IRI ending in '/', "
                f"e.g. {DEFAULT_BASE!r}"
            )

    @property
    def ontology(self) -> Namespace:
        """The project's own ontology (``gfdo:``)."""
        return Namespace(self.base + "ontology/")

    def mint(self, kind: str, ident: str) -> URIRef:
        if kind not in KINDS:
            raise ValueError(f"unknown IRI kind {kind!r}")
        return URIRef(f"{self.base}{kind}/{ident}")

    def graph(self, name: str) -> URIRef:
        """A named graph of the dataset: data, contacts, ontology, inferred..."""
        return self.mint("graph", name)

    def source(self, name: str) -> URIRef:
        """A source file of the build (the agenda text, the corrections list)."""
        return self.mint("source", name)

    def line_span(self, source: str, first: int, last: int) -> URIRef:
        """Lines ``first``-``last`` of a source text, e.g. ``.../source/agenda/L57-L61``."""
        return self.mint("source", f"{source}/L{first}-L{last}")

    def prefixes(self) -> dict[str, Namespace | type[DefinedNamespace]]:
        """Prefixes bound in every serialisation, in a fixed order. rdflib's own
        vocabularies (OWL, RDF, ...) are ``DefinedNamespace`` classes: ``str()`` of one
        is its IRI, as for a ``Namespace``."""
        return {
            "schema": SCHEMA,
            "gfdo": self.ontology,
            "event": Namespace(self.base + "event/"),
            "person": Namespace(self.base + "person/"),
            "organization": Namespace(self.base + "organization/"),
            "place": Namespace(self.base + "place/"),
            "country": Namespace(self.base + "country/"),
            "role": Namespace(self.base + "role/"),
            "question": Namespace(self.base + "question/"),
            "document": Namespace(self.base + "document/"),
            "contact": Namespace(self.base + "contact/"),
            "source": Namespace(self.base + "source/"),
            "series": Namespace(self.base + "series/"),
            "participation": Namespace(self.base + "participation/"),
            "wd": WD,
            "owl": OWL,
            "rdf": RDF,
            "rdfs": RDFS,
            "skos": SKOS,
            "xsd": XSD,
            "dcterms": DCTERMS,
            "prov": PROV,
            "dcat": DCAT,
            "void": VOID,
            "foaf": FOAF,
            "sh": SH,
            "vann": VANN,
        }

    def prefixes_text(self) -> dict[str, str]:
        return {prefix: str(ns) for prefix, ns in self.prefixes().items()}

    @cached_property
    def _longest_first(self) -> tuple[tuple[str, str], ...]:
        # longest namespace first, so event: wins over a shorter prefix of it
        return tuple(sorted(self.prefixes_text().items(), key=lambda kv: -len(kv[1])))

    def compact(self, iri: str) -> str:
        """``schema:sameAs`` for schema.org's sameAs: the IRI by the longest namespace of
        ``prefixes`` it starts with; the IRI itself when none."""
        for prefix, ns in self._longest_first:
            if iri.startswith(ns) and len(iri) > len(ns):
                return f"{prefix}:{iri[len(ns):]}"
        return iri
