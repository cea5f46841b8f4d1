"""Provenance with PROV-O: where every node of the data comes from, and how the build
made it. Its own named graph (``provenance``).

- The agenda text is a ``prov:Entity``; each cited line span is one too
  (``{base}source/gfd-2008-tunis-agenda/L57-L61``), part of it, carrying its raw text.
- Every node of the data ``prov:wasDerivedFrom`` the spans it comes from and
  ``prov:wasGeneratedBy`` the build.
- A node that a web page describes (sources.yaml: what the OECD reported) is
  ``prov:wasDerivedFrom`` that page, ``{base}source/{id}``, a ``prov:Entity`` (and, in
  the data graph, a ``schema:WebPage`` with its URL, title and the date it was read),
  which the build used. A statement a page adds to a node the agenda describes (the
  seminar's reported status, a person's position as of a later event) is an
  ``rdf:Statement`` of its own (``{base}source/statement/{hash of the triple}``), derived
  from its page(s), so that it is told apart from the node's agenda facts.
- Every correction of the agenda text is a ``gfdo:Correction`` (line, original, corrected,
  kind, reason), derived from its line.
- The lines of the contact blocks that print telephone numbers and e-mail addresses are
  personal data: in the public graph their text reads "[personal contact detail
  withheld]", and the corrections of those lines keep only line, kind and reason. The
  full text goes with the personal contact details (the ``contacts`` graph).
- The build is a ``prov:Activity`` that used the sources, associated with the software
  and its version. Its time is recorded only when fixed (``--build-time`` or
  ``SOURCE_DATE_EPOCH``), so that builds stay byte-identical.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Set
from dataclasses import dataclass
from datetime import datetime

from rdflib import RDF, RDFS, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, XSD

from . import __version__
from .iris import PROV, SCHEMA, IRIs
from .model import WebOrigins
from .source import Agenda, LineSpan

AGENDA_SOURCE = "gfd-2008-tunis-agenda"
CORRECTIONS_SOURCE = "corrections"


WITHHELD = "[personal contact detail withheld]"
_PERSONAL_RE = re.compile(r"@|\b(?:Tel|Fax)\b|^\s*\+?\d[\d ]{6,}")


def personal_lines(agenda: Agenda, contact_spans: list[list[LineSpan]]) -> set[int]:
    """The lines of the contact blocks that print a telephone or fax number or an e-mail
    address: their text is personal data, kept out of the public provenance."""
    lines = set()
    for spans in contact_spans:
        for first, last in spans:
            for n in range(first, last + 1):
                if _PERSONAL_RE.search(agenda.lines[n - 1]):
                    lines.add(n)
    return lines


@dataclass(frozen=True)
class BuildInfo:
    """What the provenance says of the build itself."""

    version: str = __version__
    time: datetime | None = None  # None: not recorded (reproducible output)


def provenance_graph(origins: Mapping[URIRef, list[LineSpan]], subjects: Set[URIRef],
                     agenda: Agenda, iris: IRIs, info: BuildInfo,
                     personal: Set[int] = frozenset(),
                     web: WebOrigins | None = None) -> tuple[Graph, Graph]:
    """The public provenance graph, and the triples that would disclose personal contact
    details (the text of ``personal`` lines, the corrections of those lines), kept apart."""
    o = iris.ontology
    g = Graph()
    private = Graph()
    source = iris.source(AGENDA_SOURCE)
    corrections = iris.source(CORRECTIONS_SOURCE)
    activity = iris.mint("activity", "build")
    software = iris.mint("agent", "gfd-kg")

    g.add((source, RDF.type, PROV.Entity))
    g.add((source, RDFS.label, Literal("The agenda as published, in its OCR text", lang="en")))
    g.add((source, DCTERMS.format, Literal("text/plain")))
    g.add((source, o.sha256, Literal(agenda.sha256)))
    g.add((source, o.lineCount, Literal(len(agenda.lines), datatype=XSD.integer)))
    g.add((source, PROV.wasDerivedFrom, iris.mint("document", "gfd-2008-tunis/agenda")))
    g.add((corrections, RDF.type, PROV.Entity))
    g.add((corrections, RDFS.label,
           Literal("The corrections of the agenda text (data/corrections.yaml)", lang="en")))

    g.add((activity, RDF.type, PROV.Activity))
    g.add((activity, RDFS.label, Literal("gfd-kg build", lang="en")))
    g.add((activity, PROV.used, source))
    g.add((activity, PROV.used, corrections))
    g.add((activity, PROV.wasAssociatedWith, software))
    if info.time is not None:
        g.add((activity, PROV.endedAtTime, Literal(info.time.isoformat(), datatype=XSD.dateTime)))
    g.add((software, RDF.type, PROV.SoftwareAgent))
    g.add((software, SCHEMA.name, Literal("gfd-kg")))
    g.add((software, SCHEMA.softwareVersion, Literal(info.version)))

    web = web or WebOrigins()
    cited = web.nodes
    for page in sorted({iris.source(i) for ids in cited.values() for i in ids}):
        g.add((page, RDF.type, PROV.Entity))
        g.add((activity, PROV.used, page))
    for triple, page_ids in sorted(web.statements.items()):
        key = " ".join(t.n3() for t in triple).encode("utf-8")
        st = iris.source(f"statement/{hashlib.sha256(key).hexdigest()[:20]}")
        g.add((st, RDF.type, RDF.Statement))
        g.add((st, RDF.subject, triple[0]))
        g.add((st, RDF.predicate, triple[1]))
        g.add((st, RDF.object, triple[2]))
        for page_id in page_ids:
            g.add((st, PROV.wasDerivedFrom, iris.source(page_id)))
    spans_used: set[LineSpan] = set()
    for node in sorted(subjects):
        spans = origins.get(node) or []
        pages = cited.get(node) or []
        if not spans and not pages:
            continue
        g.add((node, PROV.wasGeneratedBy, activity))
        for page_id in pages:
            g.add((node, PROV.wasDerivedFrom, iris.source(page_id)))
        for first, last in spans:
            g.add((node, PROV.wasDerivedFrom, iris.line_span(AGENDA_SOURCE, first, last)))
            spans_used.add((first, last))
    for c in agenda.corrections:
        spans_used.add((c.line, c.line))
    for first, last in sorted(spans_used):
        span = iris.line_span(AGENDA_SOURCE, first, last)
        g.add((span, RDF.type, o.LineSpan))
        g.add((span, DCTERMS.isPartOf, source))
        g.add((span, o.firstLine, Literal(first, datatype=XSD.integer)))
        g.add((span, o.lastLine, Literal(last, datatype=XSD.integer)))
        text = [WITHHELD if n in personal else agenda.lines[n - 1]
                for n in range(first, last + 1)]
        g.add((span, RDF.value, Literal("\n".join(text))))
        if any(n in personal for n in range(first, last + 1)):
            private.add((span, RDF.value, Literal("\n".join(agenda.lines[first - 1:last]))))

    per_line: dict[int, int] = {}
    for c in agenda.corrections:
        per_line[c.line] = per_line.get(c.line, 0) + 1
        node = iris.source(f"{CORRECTIONS_SOURCE}/L{c.line}-{per_line[c.line]}")
        g.add((node, RDF.type, o.Correction))
        g.add((node, o.line, Literal(c.line, datatype=XSD.integer)))
        texts = private if c.line in personal else g
        texts.add((node, o.originalText, Literal(c.original)))
        texts.add((node, o.correctedText, Literal(c.corrected)))
        g.add((node, o.correctionKind, Literal(c.kind)))
        g.add((node, o.reason, Literal(c.reason, lang="en")))
        g.add((node, DCTERMS.isPartOf, corrections))
        g.add((node, PROV.wasDerivedFrom, iris.line_span(AGENDA_SOURCE, c.line, c.line)))
    return g, private
