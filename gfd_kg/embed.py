"""JSON-LD embeddings for web pages: one schema.org-only document per event, for a
``<script type="application/ld+json">`` element. Reads the asserted graph; writes nothing.

The graph says more than schema.org can (the ``gfdo:`` kinds of item, roles, "to be
confirmed", durations, what a talk is about); an embedding keeps only what search engines
read, in schema.org terms used on types in their domain:

- each node is a tree, nested where it is used, with ``@id`` (and ``url``) its IRI in the
  dataset, so a consumer can merge the copies and follow the link to the full record;
- the Role pattern is flattened to its plain links: a chair or co-chair is an
  ``organizer``, everyone else a ``performer`` (moderator, speaker, presenter...);
- a person's ``jobTitle`` and ``affiliation`` are listed side by side: schema.org has no
  plain way to pair a title with its organisation outside an ``OrganizationRole``;
- ``url`` is the dataset IRI (a dereferenceable page); an organisation's or place's own
  web site goes to ``sameAs`` with its Wikidata entry, as schema.org defines that term;
- an event a web page reports on (the OECD's pages of the seminar and of the meeting)
  has it as ``subjectOf``, a ``WebPage`` whose ``@id`` is the source in the dataset and
  whose ``url`` is the page's address, as the graph says (``schema:subjectOf``): the
  event's own ``url`` stays its dataset page, the one address every node's ``url`` is;
- the documents are one per event that gets a page: each seminar and its programme
  items, and each event that is part of no other (the Working Group's meeting).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF
from rdflib.term import Node

from .errors import GfdError
from .iris import SCHEMA, IRIs
from .jsontext import indented

CONTEXT = "https://schema.org"

# The graph is the agenda: the plan of a seminar that was held as planned as far as the
# agenda can tell. Nothing in it says an item was moved or cancelled, so an event is
# "scheduled" (schema.org's status for an event that takes place as announced) unless the
# graph gives its status (as the OECD's pages report it).
EVENT_STATUS = "https://schema.org/EventScheduled"
# The seminar met in person in Tunis; the agenda names no broadcast or online access.
ATTENDANCE_MODE = "https://schema.org/OfflineEventAttendanceMode"

# Role nodes hang beside the plain links (model.py); an embedding keeps the plain links.
_ROLE_TYPES = frozenset({SCHEMA.Role, SCHEMA.OrganizationRole})
# Dropped from a node's types when a more specific schema.org type is there too
# (an event that is also a schema:SocialEvent is written as a SocialEvent).
_GENERIC_TYPES = frozenset({"Thing", "Event", "Organization", "Place"})
# Keys that open every node, in this order; the rest follow sorted.
_HEAD_KEYS = ("@context", "@type", "@id")

Doc = dict[str, Any]


class EmbedError(GfdError):
    """An embedding was asked for something that is not an event of the dataset."""


def _text(value: Node) -> str:
    """A literal's lexical form (an ``xsd:dateTime`` stays as the graph writes it)."""
    return str(value)


def _put(doc: Doc, key: str, values: list[Any]) -> None:
    """One value as itself, several as a list, none not at all (JSON-LD compact form)."""
    if values:
        doc[key] = values[0] if len(values) == 1 else values


def _name_key(node: Doc) -> tuple[str, str]:
    return (str(node.get("name", "")), str(node.get("@id", "")))


class _Embedder:
    def __init__(self, data: Graph, base: str) -> None:
        self.g = data
        self.iris = IRIs(base)
        self.o = self.iris.ontology
        self.event_prefix = str(self.iris.mint("event", ""))

    # -- reading the graph ---------------------------------------------------------------
    def texts(self, s: Node, p: URIRef) -> list[str]:
        return sorted({_text(v) for v in self.g.objects(s, p) if isinstance(v, Literal)})

    def first(self, s: Node, p: URIRef) -> str | None:
        values = self.texts(s, p)
        return values[0] if values else None

    def types(self, s: Node) -> list[str]:
        names = sorted({str(t)[len(str(SCHEMA)):] for t in self.g.objects(s, RDF.type)
                        if isinstance(t, URIRef) and str(t).startswith(str(SCHEMA))})
        specific = [n for n in names if n not in _GENERIC_TYPES]
        return specific or names

    def is_a(self, s: Node, cls: URIRef) -> bool:
        return (s, RDF.type, cls) in self.g

    def agents(self, event: Node, p: URIRef) -> list[URIRef]:
        """The plain links of a role property: the people and organisations themselves."""
        return [a for a in self.g.objects(event, p) if isinstance(a, URIRef)
                and not any(self.is_a(a, t) for t in _ROLE_TYPES)]

    def sub_events(self, event: Node) -> list[URIRef]:
        def key(e: URIRef) -> tuple[int, str, str, str]:
            pos = self.first(e, self.o.position)
            return (int(pos) if pos is not None else 2**31,
                    self.first(e, SCHEMA.startDate) or "", self.first(e, SCHEMA.name) or "",
                    str(e))
        subs = {e for e in self.g.objects(event, SCHEMA.subEvent) if isinstance(e, URIRef)}
        subs |= {e for e in self.g.subjects(SCHEMA.superEvent, event) if isinstance(e, URIRef)}
        return sorted(subs, key=key)

    def super_event(self, event: Node) -> URIRef | None:
        parents = sorted(p for p in self.g.objects(event, SCHEMA.superEvent)
                         if isinstance(p, URIRef))
        return parents[0] if parents else None

    # -- nodes ---------------------------------------------------------------------------
    def node(self, s: URIRef, default_type: str) -> Doc:
        """``@type``, ``@id``, ``url`` and ``name``: what every node of the tree has."""
        doc: Doc = {"@id": str(s), "url": str(s)}
        _put(doc, "@type", self.types(s) or [default_type])
        _put(doc, "name", self.texts(s, SCHEMA.name)[:1])
        return doc

    def same_as(self, doc: Doc, s: URIRef) -> None:
        links = {str(v) for p in (SCHEMA.sameAs, SCHEMA.url) for v in self.g.objects(s, p)
                 if isinstance(v, URIRef)}
        _put(doc, "sameAs", sorted(links))

    def organization(self, s: URIRef, seen: frozenset[URIRef] = frozenset()) -> Doc:
        doc = self.node(s, "Organization")
        self.same_as(doc, s)
        parents = sorted(p for p in self.g.objects(s, SCHEMA.parentOrganization)
                         if isinstance(p, URIRef) and p not in seen)
        _put(doc, "parentOrganization",
             [self.organization(p, seen | {s}) for p in parents])
        return doc

    def person(self, s: URIRef) -> Doc:
        doc = self.node(s, "Person")
        _put(doc, "honorificPrefix", self.texts(s, SCHEMA.honorificPrefix))
        _put(doc, "jobTitle", self.texts(s, SCHEMA.jobTitle))
        orgs = [o for o in self.g.objects(s, SCHEMA.affiliation) if isinstance(o, URIRef)
                and not any(self.is_a(o, t) for t in _ROLE_TYPES)]
        _put(doc, "affiliation", sorted((self.organization(o) for o in set(orgs)),
                                        key=_name_key))
        self.same_as(doc, s)
        return doc

    def agent(self, s: URIRef) -> Doc:
        return self.person(s) if self.is_a(s, SCHEMA.Person) else self.organization(s)

    def country(self, s: URIRef) -> Doc:
        doc = self.node(s, "Country")
        self.same_as(doc, s)
        return doc

    def country_code(self, country: Node) -> str | None:
        """ISO 3166-1 alpha-2, which search engines expect in ``addressCountry``."""
        return self.first(country, self.o.iso3166Alpha2) or self.first(country, SCHEMA.name)

    def containing(self, place: URIRef) -> list[URIRef]:
        """The place and the places it lies in, innermost first."""
        chain: list[URIRef] = []
        cur: URIRef | None = place
        while cur is not None and cur not in chain:
            chain.append(cur)
            parents = sorted(p for p in self.g.objects(cur, SCHEMA.containedInPlace)
                             if isinstance(p, URIRef))
            cur = parents[0] if parents else None
        return chain

    def address(self, a: URIRef) -> Doc:
        doc: Doc = {"@type": "PostalAddress", "@id": str(a), "url": str(a)}
        for key, p in (("streetAddress", SCHEMA.streetAddress),
                       ("postalCode", SCHEMA.postalCode),
                       ("addressLocality", SCHEMA.addressLocality)):
            _put(doc, key, self.texts(a, p)[:1])
        countries = sorted(c for c in self.g.objects(a, SCHEMA.addressCountry)
                           if isinstance(c, URIRef))
        code = self.country_code(countries[0]) if countries else None
        if code:
            doc["addressCountry"] = code
        return doc

    def locality_address(self, place: URIRef) -> Doc | None:
        """For a place the agenda gives no street address (a city): the locality and
        country it lies in, which is the address as far as it is known. It has no IRI of
        its own in the dataset, so it is written without ``@id``."""
        chain = self.containing(place)
        city = next((p for p in chain if self.is_a(p, SCHEMA.City)), None)
        country = next((p for p in chain if self.is_a(p, SCHEMA.Country)), None)
        doc: Doc = {"@type": "PostalAddress"}
        if city is not None:
            _put(doc, "addressLocality", self.texts(city, SCHEMA.name)[:1])
        code = self.country_code(country) if country is not None else None
        if code:
            doc["addressCountry"] = code
        return doc if len(doc) > 1 else None

    def place(self, s: URIRef) -> Doc:
        if self.is_a(s, SCHEMA.Country):
            return self.country(s)
        doc = self.node(s, "Place")
        addresses = sorted(a for a in self.g.objects(s, SCHEMA.address)
                           if isinstance(a, URIRef))
        if addresses:
            doc["address"] = self.address(addresses[0])
        else:
            parents = sorted(p for p in self.g.objects(s, SCHEMA.containedInPlace)
                             if isinstance(p, URIRef))
            _put(doc, "containedInPlace", [self.place(p) for p in parents])
            local = self.locality_address(s)
            if local is not None:
                doc["address"] = local
        self.same_as(doc, s)
        return doc

    def event(self, s: URIRef, root: bool = False) -> Doc:
        doc = self.node(s, "Event")
        _put(doc, "description", self.texts(s, SCHEMA.description)[:1])
        # Dates only where the graph has them: the agenda times its programme items,
        # not the talks inside them.
        _put(doc, "startDate", self.texts(s, SCHEMA.startDate)[:1])
        _put(doc, "endDate", self.texts(s, SCHEMA.endDate)[:1])
        status = sorted(str(v) for v in self.g.objects(s, SCHEMA.eventStatus)
                        if isinstance(v, URIRef))
        doc["eventStatus"] = ("https://schema.org/" + status[0][len(str(SCHEMA)):]
                              if status and status[0].startswith(str(SCHEMA)) else EVENT_STATUS)
        doc["eventAttendanceMode"] = ATTENDANCE_MODE
        _put(doc, "subjectOf", [self.web_page(p) for p in sorted(
            p for p in self.g.objects(s, SCHEMA.subjectOf) if isinstance(p, URIRef)
            and self.is_a(p, SCHEMA.WebPage))])
        # The document's own event takes the place and the organisers of the nearest
        # event it is part of when it has none of its own (a coffee break is organised
        # by the seminar's organisers, a talk is held where its session is); the events
        # nested below it say only what the graph says of them.
        holder = self.nearest(s, SCHEMA.location) if root else s
        _put(doc, "location", [self.place(p) for p in sorted(
            p for p in self.g.objects(holder, SCHEMA.location) if isinstance(p, URIRef))])
        holder = self.nearest(s, SCHEMA.organizer) if root else s
        for key, p, at in (("organizer", SCHEMA.organizer, holder),
                           ("performer", SCHEMA.performer, s)):
            _put(doc, key, sorted((self.agent(a) for a in self.agents(at, p)), key=_name_key))
        if root:
            parent = self.super_event(s)
            if parent is not None:
                up: Doc = {"@id": str(parent)}
                _put(up, "@type", self.types(parent) or ["Event"])
                _put(up, "name", self.texts(parent, SCHEMA.name)[:1])
                doc["superEvent"] = up
        _put(doc, "subEvent", [self.event(e) for e in self.sub_events(s)])
        return doc

    def web_page(self, s: URIRef) -> Doc:
        """A page the event is the subject of: its address as ``url``, its title."""
        doc: Doc = {"@type": "WebPage", "@id": str(s)}
        _put(doc, "url", sorted(str(u) for u in self.g.objects(s, SCHEMA.url)
                                if isinstance(u, URIRef))[:1])
        _put(doc, "name", self.texts(s, DCTERMS.title)[:1])
        return doc

    def nearest(self, event: URIRef, p: URIRef) -> URIRef:
        """The event itself if it has ``p``, else its nearest super-event that has."""
        seen: list[URIRef] = []
        cur: URIRef | None = event
        while cur is not None and cur not in seen:
            if any(True for _ in self.g.objects(cur, p)):
                return cur
            seen.append(cur)
            cur = self.super_event(cur)
        return event

    def check_event(self, event: URIRef) -> None:
        if not self.is_a(event, SCHEMA.Event):
            raise EmbedError(
                f"{event} is not a schema:Event of the graph; give the IRI of the seminar "
                f"or of one of its parts, e.g. {self.event_prefix}gfd-2008-tunis")
        if not str(event).startswith(self.event_prefix):
            raise EmbedError(
                f"{event} is not under {self.event_prefix}; pass the base the graph was "
                f"built with")


def event_embedding(data: Graph, event: URIRef, base: str) -> Doc:
    """The schema.org JSON-LD document of one event, with every part of it nested."""
    embedder = _Embedder(data, base)
    embedder.check_event(event)
    doc: Doc = {"@context": CONTEXT}
    doc.update(embedder.event(event, root=True))
    return _ordered(doc)


def document_name(event: URIRef, base: str) -> str:
    """The file name of an event's document: its IRI path after ``{base}event/``, with
    ``/`` as ``--`` (``gfd-2008-tunis--session-2.jsonld``)."""
    prefix = str(IRIs(base).mint("event", ""))
    if not str(event).startswith(prefix):
        raise EmbedError(f"{event} is not under {prefix}; pass the base the graph was built with")
    return str(event)[len(prefix):].replace("/", "--") + ".jsonld"


def _pages(data: Graph, base: str) -> Iterable[URIRef]:
    """The events that get a page: each seminar and its programme items, and each event
    of the dataset that is part of no other (a working group's meeting)."""
    seminars = {s for s in data.subjects(RDF.type, IRIs(base).ontology.Seminar)
                if isinstance(s, URIRef)}
    items = {s for seminar in seminars for s in data.subjects(SCHEMA.superEvent, seminar)
             if isinstance(s, URIRef)}
    prefix = str(IRIs(base).mint("event", ""))
    alone = {s for s in data.subjects(RDF.type, SCHEMA.Event) if isinstance(s, URIRef)
             and str(s).startswith(prefix) and data.value(s, SCHEMA.superEvent) is None}
    return sorted(seminars | items | alone)


def embeddings(data: Graph, base: str) -> dict[str, Doc]:
    """Every event that gets a page -> its document, keyed by file name, sorted."""
    return {document_name(e, base): event_embedding(data, e, base) for e in _pages(data, base)}


def _ordered(value: Any) -> Any:
    if isinstance(value, dict):
        head = [k for k in _HEAD_KEYS if k in value]
        rest = sorted(k for k in value if k not in _HEAD_KEYS)
        return {k: _ordered(value[k]) for k in head + rest}
    if isinstance(value, list):
        return [_ordered(v) for v in value]
    return value


def dumps(doc: Doc) -> str:
    """The document as stable JSON text, safe inside a ``<script>`` element.

    Keys: ``@context``, ``@type``, ``@id``, then the rest sorted. ``</`` is written
    ``<\\/`` so no string can close the element, and ``<!--`` as ``\\u003c!--`` so none can
    open an HTML comment inside it (which would let a later ``<script`` swallow the
    page); both are plain JSON escapes, so the parsed value is unchanged.
    """
    text = indented(_ordered(doc), "  ")
    return text.replace("</", "<\\/").replace("<!--", "\\u003c!--") + "\n"
