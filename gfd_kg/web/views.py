"""What a resource page shows, read from its page graph (gfd_kg/web/site.py ``page_graph``):
graph in, plain dataclasses out; the HTML is the templates' (templates/resource/).

A page has a readable top part (a person's positions and parts, a programme item's time,
place, chairs and talks, an organisation's hierarchy, a country's codes) and below it the
full property table with incoming links (:class:`Raw`), where alone IRIs and datatypes
show. Times are the wall clock the data writes, in the offset it gives (the agenda's Tunis
times stay Tunis times); durations as the agenda states them, in words."""

from __future__ import annotations

import datetime as _dt
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, PROV, RDF, RDFS, SKOS, XSD
from rdflib.term import Node

from ..iris import SCHEMA, IRIs
from ..render import safe_href
from ..times import parse_duration

LABELS = (SCHEMA.name, RDFS.label, SKOS.prefLabel)
# What names a thing that has no name: a role's name, an address's street...
FALLBACK_LABELS = (SCHEMA.roleName, SCHEMA.alternateName, SCHEMA.contactType,
                   SCHEMA.streetAddress, SCHEMA.text)
ROLE_TYPES = (SCHEMA.Role, SCHEMA.OrganizationRole)
# what links an event to a role and a role to its agent (the schema.org Role pattern)
ROLE_LINKS = (SCHEMA.performer, SCHEMA.organizer, SCHEMA.affiliation, SCHEMA.memberOf)
EVENT_ROLE_LINKS = (SCHEMA.organizer, SCHEMA.performer)
GENERIC_CLASSES = frozenset({SCHEMA.Thing, SCHEMA.Event, SCHEMA.Organization, SCHEMA.Place,
                             SCHEMA.Role})
LONG = 160  # characters from which a literal is written as paragraphs
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")
_DATETIME_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::\d{2}(?:\.\d+)?)?"
                          r"(Z|[+-]\d{2}:\d{2})?)?")
ORG_CLASSES = frozenset({"Organization", "GovernmentOrganization", "Corporation", "NGO",
                         "EducationalOrganization", "CollegeOrUniversity",
                         "ResearchOrganization", "Consortium"})
PLACE_CLASSES = frozenset({"Place", "Country", "City", "State", "AdministrativeArea",
                           "LocalBusiness", "Hotel", "CivicStructure", "Landform"})


# -- dates and durations, as people read them --------------------------------------------------

def day_name(day: str) -> str:
    """``2008-05-28`` -> ``Wednesday 28 May 2008``."""
    y, m, d = (int(x) for x in day.split("-"))
    return f"{WEEKDAYS[_dt.date(y, m, d).weekday()]} {d} {MONTHS[m - 1]} {y}"


def _zone(offset: str | None) -> str:
    if not offset:
        return ""
    return "UTC" if offset in ("Z", "+00:00") else f"UTC{offset}"


@dataclass(frozen=True)
class When:
    """An item's day and times as written: ``Wednesday 28 May 2008, 09:30\u201311:30``."""

    text: str
    start: str  # the ISO value, for <time datetime>
    zone: str = ""  # "UTC+02:00", as the data gives it; "" for a date alone


def when(start: str, end: str = "") -> When | None:
    m = _DATETIME_RE.match(start.strip())
    if m is None:
        return None
    y, mo, d, h, mi, off = m.groups()
    text = day_name(f"{y}-{mo}-{d}")
    if h is None:
        return When(text, start)
    text += f", {h}:{mi}"
    e = _DATETIME_RE.match(end.strip()) if end else None
    if e is not None and e.group(4) is not None:
        if e.group(1, 2, 3) != (y, mo, d):
            text += f" to {day_name('-'.join(e.group(1, 2, 3)))}, {e.group(4)}:{e.group(5)}"
        else:
            text += f"\u2013{e.group(4)}:{e.group(5)}"  # an en dash
    return When(text, start, _zone(off))


def duration_words(stated: str) -> str:
    """The agenda's ``25 min``, ``5-8 min``, ``max 5 min`` as ``25 minutes``, ``5\u20138
    minutes``, ``up to 5 minutes``; a text it cannot read stays as written."""
    try:
        d = parse_duration(stated)
    except ValueError:
        return stated
    if d.exact is not None:
        return f"{d.exact} minute{'' if d.exact == 1 else 's'}"
    if d.minimum is None:
        return f"up to {d.maximum} minutes"
    return f"{d.minimum}\u2013{d.maximum} minutes"


# -- the pieces every page is made of ---------------------------------------------------------

@dataclass(frozen=True)
class Link:
    """A thing by its name, linked where it may be (``href`` None: shown as text)."""

    text: str
    href: str | None = None
    lang: str | None = None
    kind: str = ""  # its kinds, discreetly ("Session", "Talk")
    title: str = ""  # an IRI, for a predicate's or class's name


@dataclass
class Value:
    """One value of the raw table: a link, a literal (with its language or datatype), a
    long text as paragraphs, or a blank node's own properties."""

    link: Link | None = None
    text: str = ""
    lang: str | None = None
    datatype: str = ""  # "xsd:dateTime"; "" for a plain string
    time: bool = False
    paragraphs: list[list[str]] = field(default_factory=list)
    rows: list[tuple[Link, Value]] = field(default_factory=list)
    blank: bool = False


@dataclass
class Row:
    prop: Link
    values: list[Value]


@dataclass
class Raw:
    """For the linked-data reader: the IRI, the types, every property and incoming link."""

    iri: str
    types: list[Link]
    properties: list[Row]
    incoming: list[Row]


def pick(values: Iterable[Node]) -> Literal | None:
    """English first, then no language, then any: sorted, so always the same one."""
    lits = [v for v in values if isinstance(v, Literal)]
    for wanted in ("en", None):
        found = sorted((v for v in lits if v.language == wanted), key=str)
        if found:
            return found[0]
    found = sorted(lits, key=lambda v: (v.language or "", str(v)))
    return found[0] if found else None


def local_name(iri: str) -> str:
    head, _, tail = iri.rstrip("/#").rpartition("#")
    if not head:
        tail = iri.rstrip("/").rpartition("/")[2]
    return tail or iri


def paragraphs(text: str) -> list[list[str]]:
    """A long text as paragraphs of lines: blank lines part them, single breaks stay."""
    return [p.strip().split("\n") for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]


class Reader:
    """What a page reads from its graph: names, links, order, values."""

    def __init__(self, g: Graph, iri: URIRef, href: Callable[[str], str | None],
                 base: str) -> None:
        self.g, self.iri, self.href, self.base = g, iri, href, base
        self.o = base + "ontology/"
        # a page asks the same names and sort keys many times: each is read once
        self.label_memo: dict[Node, Literal | str] = {}
        self.key_memo: dict[Node, tuple[Any, ...]] = {}

    def gfdo(self, name: str) -> URIRef:
        return URIRef(self.o + name)

    # -- names
    def label(self, node: Node) -> Literal | str:
        found = self.label_memo.get(node)
        if found is None:
            found = self.label_memo[node] = self.read_label(node)
        return found

    def read_label(self, node: Node) -> Literal | str:
        lit = pick(v for p in LABELS for v in self.g.objects(node, p))
        if lit is not None:
            return lit
        if self.is_role(node):
            role = self.role_label(node)
            if role:
                return role
        lit = pick(v for p in FALLBACK_LABELS for v in self.g.objects(node, p))
        if lit is not None:
            return lit
        s = str(node)
        if isinstance(node, URIRef) and s.startswith(self.base):
            return s[len(self.base):]
        return s

    def is_role(self, node: Node) -> bool:
        return any((node, RDF.type, t) in self.g for t in ROLE_TYPES)

    def role_label(self, role: Node) -> str:
        """A role has no name of its own: "moderator: Salem Al Shair in Session 3" from its
        roleName, its agent and the event that holds it, as far as the graph has them
        (the resource of the page is left out: on its own page it goes without saying)."""
        kind = pick(self.g.objects(role, SCHEMA.roleName))
        agents = self.named(o for p in ROLE_LINKS for o in self.g.objects(role, p))
        events = self.named(s for p in ROLE_LINKS for s in self.g.subjects(p, role))
        text = str(kind) if kind is not None else ""
        if agents:
            text += (": " if text else "") + ", ".join(agents)
        if events and text:
            text += " in " + ", ".join(events)
        return text

    def named(self, nodes: Iterable[Node]) -> list[str]:
        out = set()
        for n in nodes:
            lit = pick(v for p in LABELS for v in self.g.objects(n, p))
            if n != self.iri and lit is not None:
                out.add(str(lit))
        return sorted(out)

    def text(self, node: Node, p: URIRef) -> str:
        lit = pick(self.g.objects(node, p))
        return str(lit) if lit is not None else ""

    def term_label(self, term: Node) -> Literal | str:
        lit = pick(v for p in (RDFS.label, SKOS.prefLabel) for v in self.g.objects(term, p))
        return lit if lit is not None else local_name(str(term))

    # -- order
    def first(self, node: Node, p: URIRef) -> str:
        values = sorted(str(v) for v in self.g.objects(node, p) if isinstance(v, Literal))
        return values[0] if values else ""

    def key(self, node: Node) -> tuple[Any, ...]:
        found = self.key_memo.get(node)
        if found is None:
            found = self.key_memo[node] = self.read_key(node)
        return found

    def read_key(self, node: Node) -> tuple[Any, ...]:
        start = self.first(node, SCHEMA.startDate)
        pos = self.first(node, self.gfdo("position"))
        number = int(pos) if pos.isdigit() else 2**31
        label = str(self.label(node))
        return (start == "", start, number, label.casefold(), label, str(node))

    def value_key(self, node: Node) -> tuple[Any, ...]:
        if isinstance(node, Literal):
            return (1, node.language or "", str(node.datatype or ""), str(node))
        if isinstance(node, BNode):
            return (2, self.bnode_key(node))
        return (0, *self.key(node))

    def bnode_key(self, node: Node, depth: int = 0) -> str:
        """A blank node's sort key from its content: its id changes from parse to parse."""
        if depth > 3:
            return ""
        return "; ".join(sorted(
            f"{p} {self.bnode_key(o, depth + 1) if isinstance(o, BNode) else o}"
            for p, o in self.g.predicate_objects(node)))

    def sorted(self, nodes: Iterable[Node]) -> list[Node]:
        return sorted(set(nodes), key=self.value_key)

    # -- links
    def url(self, iri: Node) -> str | None:
        if not isinstance(iri, URIRef):
            return None
        local = self.href(str(iri))
        if local is not None:
            return safe_href(local)
        return str(iri) if str(iri).startswith(("http://", "https://")) else None

    def link(self, node: Node, kind: bool = False) -> Link:
        lab = self.label(node)
        return Link(str(lab), self.url(node), getattr(lab, "language", None),
                    self.type_names(node) if kind else "")

    def term_link(self, term: Node) -> Link:
        lab = self.term_label(term)
        return Link(str(lab), self.url(term), getattr(lab, "language", None), title=str(term))

    def types(self, node: Node) -> list[URIRef]:
        return sorted((t for t in self.g.objects(node, RDF.type) if isinstance(t, URIRef)),
                      key=lambda t: (str(self.term_label(t)).casefold(), str(t)))

    def type_names(self, node: Node) -> str:
        """A node's kinds: schema:Event goes without saying beside Session."""
        types = self.types(node)
        specific = [t for t in types if t not in GENERIC_CLASSES]
        return ", ".join(str(self.term_label(t)) for t in specific or types)

    def uris(self, node: Node, p: URIRef) -> list[URIRef]:
        return [o for o in self.sorted(self.g.objects(node, p)) if isinstance(o, URIRef)]

    def agents(self, node: Node, p: URIRef) -> list[URIRef]:
        """The values of ``p`` that are not roles: the people and organisations."""
        return [o for o in self.uris(node, p) if not self.is_role(o)]

    # -- raw values
    def value(self, node: Node, depth: int = 0) -> Value:
        if isinstance(node, URIRef):
            return Value(link=self.link(node, kind=True))
        if isinstance(node, Literal):
            text = str(node)
            if len(text) > LONG or "\n" in text:
                return Value(text=text, lang=node.language, paragraphs=paragraphs(text))
            dt = ""
            if node.datatype is not None and node.datatype != XSD.string:
                dt = str(node.datatype)
                dt = "xsd:" + dt[len(str(XSD)):] if dt.startswith(str(XSD)) else dt
            return Value(text=text, lang=node.language, datatype=dt,
                         time=node.datatype in (XSD.dateTime, XSD.date))
        rows = sorted(self.g.predicate_objects(node),
                      key=lambda po: (str(po[0]), self.value_key(po[1])))
        if not rows or depth > 2:
            return Value(blank=True)
        return Value(rows=[(self.term_link(p), self.value(o, depth + 1)) for p, o in rows])


def _predicate_links(r: Reader, predicates: Iterable[Node]) -> dict[Node, Link]:
    """Each predicate by its name; where two of a table share one (schema:sameAs and
    owl:sameAs), by their prefixed names, so that the rows can be told apart."""
    links = {p: r.term_link(p) for p in predicates}
    named = Counter(link.text for link in links.values())
    iris = IRIs(r.base)
    return {p: replace(link, text=iris.compact(str(p))) if named[link.text] > 1 else link
            for p, link in links.items()}


def raw(r: Reader) -> Raw:
    node = r.iri
    preds = sorted({p for p in r.g.predicates(node, None) if p != RDF.type},
                   key=lambda p: (p != SCHEMA.name, str(r.term_label(p)).casefold(), str(p)))
    out_links = _predicate_links(r, preds)
    props = [Row(out_links[p], [r.value(o) for o in r.sorted(r.g.objects(node, p))])
             for p in preds]
    by_pred: dict[Node, set[Node]] = {}
    for s, p in r.g.subject_predicates(node):
        if s != node:
            by_pred.setdefault(p, set()).add(s)
    in_links = _predicate_links(r, by_pred)
    incoming = [Row(in_links[p], [r.value(s) for s in r.sorted(by_pred[p])])
                for p in sorted(by_pred, key=lambda p: (str(r.term_label(p)).casefold(), str(p)))]
    return Raw(str(node), [r.term_link(t) for t in r.types(node)], props, incoming)


# -- what the top parts share -------------------------------------------------------------------

def event_when(r: Reader, event: Node) -> tuple[When | None, Link | None]:
    """An item's own time, else the time of the nearest item it is part of (and that
    item: a talk is at its session's time)."""
    seen: set[Node] = set()
    cur: Node | None = event
    while cur is not None and cur not in seen:
        seen.add(cur)
        w = when(r.first(cur, SCHEMA.startDate), r.first(cur, SCHEMA.endDate))
        if w is not None:
            return w, (None if cur == event else r.link(cur))
        parents = r.uris(cur, SCHEMA.superEvent)
        cur = parents[0] if parents else None
    return None, None


def root_event(r: Reader, event: Node) -> Node:
    seen: set[Node] = set()
    cur = event
    while cur not in seen:
        seen.add(cur)
        parents = r.uris(cur, SCHEMA.superEvent)
        if not parents:
            return cur
        cur = parents[0]
    return cur


def ancestors(r: Reader, node: Node, up: URIRef) -> list[Node]:
    """The nodes above ``node`` by ``up`` (its first value each time), nearest first, each
    once (a cycle in the data ends the chain)."""
    chain: list[Node] = []
    seen = {node}
    cur = node
    while True:
        above = [u for u in r.uris(cur, up) if u not in seen]
        if not above:
            return chain
        cur = above[0]
        seen.add(cur)
        chain.append(cur)


def org_chain(r: Reader, org: Node) -> list[Link]:
    """An organisation's parents up to the top one, then its country."""
    parents = ancestors(r, org, SCHEMA.parentOrganization)
    top = parents[-1] if parents else org
    countries = r.uris(top, r.gfdo("country")) or r.uris(org, r.gfdo("country"))
    return [r.link(p) for p in parents] + [r.link(c) for c in countries]


@dataclass
class Source:
    """Where a thing comes from: the agenda's lines, or a web page as read on a date."""

    link: Link
    lines: str = ""  # "lines 75-77" (an en dash)
    text: str = ""  # the lines as the agenda writes them
    read: str = ""  # the date a page was read


def sources(r: Reader, node: Node) -> list[Source]:
    out: list[tuple[tuple[Any, ...], Source]] = []
    for s in set(r.g.objects(node, PROV.wasDerivedFrom)):
        first, last = r.first(s, r.gfdo("firstLine")), r.first(s, r.gfdo("lastLine"))
        if first:
            lines = f"line {first}" if first == last or not last else f"lines {first}\u2013{last}"
            whole = r.uris(s, DCTERMS.isPartOf)  # the agenda, by its label
            link = Link(str(r.label(whole[0])), r.url(s)) if whole else r.link(s)
            out.append(((0, int(first) if first.isdigit() else 0, str(s)),
                        Source(link, lines, r.first(s, RDF.value))))
        else:
            title = r.text(s, DCTERMS.title)
            urls = r.uris(s, SCHEMA.url)
            link = Link(title or str(r.label(s)), r.url(urls[0]) if urls else r.url(s))
            out.append(((1, 0, str(s)), Source(link, read=r.first(s, DCTERMS.date))))
    return [s for _k, s in sorted(out, key=lambda x: x[0])]


@dataclass
class Part:
    """One part a person or an organisation played: the role in an item."""

    role: str
    item: Link
    when: When | None
    within: Link | None  # the item whose time it is (a talk's session)
    event: Link  # the event it is part of (the seminar, the meeting)
    sort: tuple[Any, ...] = ()


def parts(r: Reader, agent: Node) -> list[Part]:
    found: list[Part] = []
    for p in EVENT_ROLE_LINKS:
        for role in set(r.g.subjects(p, agent)):
            if not r.is_role(role):
                continue
            name = r.text(role, SCHEMA.roleName)
            for item in set(r.g.subjects(p, role)):
                w, within = event_when(r, item)
                root = root_event(r, item)
                found.append(Part(name, r.link(item), w, within, r.link(root),
                                  (w.start if w else "~", r.key(item), name)))
    return sorted(found, key=lambda x: x.sort)


def events_of(parts_: list[Part]) -> list[Link]:
    seen: dict[str, Link] = {}
    for p in parts_:
        seen.setdefault(p.event.href or p.event.text, p.event)
    return list(seen.values())


# -- a person --------------------------------------------------------------------------------

@dataclass
class Position:
    title: str
    organisation: Link
    chain: list[Link]  # the organisation's parents, then its country


@dataclass
class PositionsAt:
    """The positions a person held as of some events (those the data gives for them)."""

    events: list[Link]
    positions: list[Position]


@dataclass
class PersonView:
    name: str
    honorific: str
    positions: list[PositionsAt]
    memberships: list[Position]
    parts: list[Part]
    events: list[Link]
    sources: list[Source]


def person_view(r: Reader) -> PersonView:
    me = r.iri
    dated: dict[Node, list[Position]] = {}
    undated: list[Position] = []
    memberships: list[Position] = []
    for p, bucket in ((SCHEMA.affiliation, None), (SCHEMA.memberOf, memberships)):
        for role in r.sorted(r.g.objects(me, p)):
            if not r.is_role(role):
                continue
            orgs = r.agents(role, p)
            if not orgs:
                continue
            pos = Position(r.text(role, SCHEMA.roleName), r.link(orgs[0]),
                           org_chain(r, orgs[0]))
            if bucket is not None:
                bucket.append(pos)
                continue
            at = r.uris(role, r.gfdo("asOfEvent"))
            if at:
                dated.setdefault(at[0], []).append(pos)
            else:
                undated.append(pos)
    did = parts(r, me)
    events = events_of(did)
    groups: list[PositionsAt] = []
    # the agenda's positions are those of the events no page gives other positions for
    plain = [e for e in events if not any(r.url(x) == e.href for x in dated)]
    if undated:
        groups.append(PositionsAt(plain, undated))
    for e in r.sorted(dated):
        groups.append(PositionsAt([r.link(e)], dated[e]))
    return PersonView(r.text(me, SCHEMA.name) or str(r.label(me)),
                      r.text(me, SCHEMA.honorificPrefix), groups, memberships, did, events,
                      sources(r, me))


# -- a programme item --------------------------------------------------------------------

@dataclass
class Holders:
    """The people of one role in an item: ``chair``: Khedija Zammouri."""

    role: str
    agents: list[Link]


@dataclass
class Talk:
    link: Link
    label: str  # "Case study 2 (Korea)"
    speakers: list[Holders]
    duration: str
    countries: list[Link]
    when: When | None


@dataclass
class Question:
    text: str
    heading: str
    item: Link | None  # the sub-item it is put in, when not the item itself


@dataclass
class About:
    what: Link  # the property: "concerns arrangement"
    concepts: list[Link]


@dataclass
class ItemView:
    name: str
    lang: str | None
    kind: str
    alternate: str
    when: When | None
    within: Link | None
    parent: list[Link]
    place: list[Link]  # the place, then the places it is in
    roles: list[Holders]
    talks: list[Talk]
    questions: list[Question]
    documents: list[Link]
    about: list[About]
    description: list[list[str]]
    duration: str
    countries: list[Link]
    facts: list[tuple[str, list[Link]]]  # series, status, follows, invited by, page...
    sources: list[Source]


def holders(r: Reader, item: Node) -> list[Holders]:
    """The roles of an item, each with its people, in the order: chair, co-chair, then
    the others by name; an agent linked without a role is listed under no role."""
    out: dict[str, list[Link]] = {}
    covered: set[Node] = set()
    for p in EVENT_ROLE_LINKS:
        for role in r.sorted(r.g.objects(item, p)):
            if not r.is_role(role):
                continue
            name = r.text(role, SCHEMA.roleName)
            for agent in r.agents(role, p):
                covered.add(agent)
                out.setdefault(name, []).append(r.link(agent))
        for agent in r.agents(item, p):
            if agent not in covered:
                out.setdefault("organiser" if p == SCHEMA.organizer else "",
                               []).append(r.link(agent))
    first = {"organiser": 0, "chair": 1, "co-chair": 2, "moderator": 3}
    return [Holders(k, v) for k, v in sorted(out.items(),
                                             key=lambda kv: (first.get(kv[0], 4), kv[0]))]


def _descendants(r: Reader, item: Node, depth: int = 3) -> list[Node]:
    out: list[Node] = []
    todo = [(item, 0)]
    while todo:
        node, d = todo.pop(0)
        if d >= depth:
            continue
        for child in sorted(set(r.g.objects(node, SCHEMA.subEvent))
                            | set(r.g.subjects(SCHEMA.superEvent, node)), key=r.key):
            if child not in out and child != item:
                out.append(child)
                todo.append((child, d + 1))
    return out


ANNOTATIONS = ("concernsArrangement", "concernsForm", "concernsDriver", "concernsChallenge",
               "concernsApplicationArea")
FACTS = (("inSeries", "Series"), ("numberInSeries", "Number in the series"),
         ("seriesNumber", "Number in the series"), ("follows", "Follows"),
         ("followedBy", "Followed by"), ("invitedBy", "At the invitation of"),
         ("inCollaborationWith", "In collaboration with"), ("workingGroup", "Working group"))


def item_view(r: Reader) -> ItemView:
    me = r.iri
    lab = r.label(me)
    w, within = event_when(r, me)
    place: list[Link] = []
    for loc in r.uris(me, SCHEMA.location)[:1]:
        place = [r.link(x) for x in (loc, *ancestors(r, loc, SCHEMA.containedInPlace))]
    talks: list[Talk] = []
    seminar = (me, RDF.type, r.gfdo("Seminar")) in r.g  # its page has the programme instead
    for child in [] if seminar else sorted(set(r.g.objects(me, SCHEMA.subEvent))
                                           | set(r.g.subjects(SCHEMA.superEvent, me)),
                                           key=r.key):
        cw = when(r.first(child, SCHEMA.startDate), r.first(child, SCHEMA.endDate))
        talks.append(Talk(r.link(child, kind=True), r.text(child, SCHEMA.alternateName),
                          holders(r, child), duration_words(r.first(child, r.gfdo(
                              "statedDuration"))) if r.first(child, r.gfdo("statedDuration"))
                          else "", [r.link(c) for c in r.uris(child,
                                                             r.gfdo("presentsExperienceOf"))],
                          cw))
    questions: list[Question] = []
    for node in [me] if seminar else [me, *_descendants(r, me)]:
        qs = sorted(r.uris(node, r.gfdo("discussionQuestion")),
                    key=lambda q: (int(p) if (p := r.first(q, r.gfdo("position"))).isdigit()
                                   else 2**31, str(q)))
        for q in qs:
            questions.append(Question(r.text(q, SCHEMA.text) or str(r.label(q)),
                                      r.text(q, r.gfdo("heading")),
                                      None if node == me else r.link(node)))
    documents = [r.link(d, kind=True) for d in r.uris(me, r.gfdo("backgroundDocument"))]
    documents += [r.link(d, kind=True) for d in r.sorted(r.g.subjects(SCHEMA.about, me))
                  if isinstance(d, URIRef)]
    about = [About(r.term_link(r.gfdo(p)), [r.link(c) for c in r.uris(me, r.gfdo(p))])
             for p in ANNOTATIONS if r.uris(me, r.gfdo(p))]
    facts: list[tuple[str, list[Link]]] = []
    for prop, name in FACTS:
        values = r.sorted(r.g.objects(me, r.gfdo(prop)))
        links = [r.link(v) if isinstance(v, URIRef) else Link(str(v)) for v in values]
        if facts and facts[-1][0] == name:  # the same fact by two properties (a number)
            links = [x for x in links if x not in facts[-1][1]]
            facts[-1][1].extend(links)
        elif links:
            facts.append((name, links))
    status = r.uris(me, SCHEMA.eventStatus)
    if status:
        facts.append(("Status, as reported", [Link(local_name(str(s)).removeprefix("Event"))
                                              for s in status]))
    pages = r.uris(me, SCHEMA.subjectOf)
    if pages:
        facts.append(("Reported on", [_page_link(r, p) for p in pages]))
    stated = r.first(me, r.gfdo("statedDuration"))
    return ItemView(
        str(lab), getattr(lab, "language", None), r.type_names(me),
        r.text(me, SCHEMA.alternateName), w, within,
        [r.link(p) for p in r.uris(me, SCHEMA.superEvent)], place, holders(r, me), talks,
        questions, documents, about, paragraphs(r.text(me, SCHEMA.description)),
        duration_words(stated) if stated else "",
        [r.link(c) for c in r.uris(me, r.gfdo("presentsExperienceOf"))], facts, sources(r, me))


def _page_link(r: Reader, page: URIRef) -> Link:
    urls = r.uris(page, SCHEMA.url)
    title = r.text(page, DCTERMS.title)
    return Link(title or str(r.label(page)), r.url(urls[0]) if urls else r.url(page))


# -- an organisation ----------------------------------------------------------------------

@dataclass
class Member:
    """A person of an organisation: the titles they have there and what they did."""

    person: Link
    titles: list[str]
    parts: list[Part]


@dataclass
class OrganisationView:
    name: str
    kind: str
    alternate: list[str]
    chain: list[Link]
    subs: list[Link]
    people: list[Member]
    parts: list[Part]  # what the organisation itself did (an organiser, a speaker)
    website: list[Link]
    wikidata: list[Link]


def _members(r: Reader, org: Node) -> list[Member]:
    people: dict[Node, list[str]] = {}
    for p in (SCHEMA.affiliation, SCHEMA.memberOf):
        for person in r.g.subjects(p, org):
            if (person, RDF.type, SCHEMA.Person) in r.g:
                people.setdefault(person, [])
        for role in r.g.subjects(p, org):
            if not r.is_role(role):
                continue
            title = r.text(role, SCHEMA.roleName)
            for person in r.g.subjects(p, role):
                if (person, RDF.type, SCHEMA.Person) in r.g and title:
                    titles = people.setdefault(person, [])
                    if title not in titles:
                        titles.append(title)
    return [Member(r.link(p), sorted(people[p]), parts(r, p))
            for p in r.sorted(people)]


def _same_as(r: Reader, node: Node) -> list[Link]:
    wd = [o for o in r.uris(node, SCHEMA.sameAs) if "wikidata.org/" in str(o)]
    return [Link(f"Wikidata {local_name(str(o))}", r.url(o)) for o in wd]


def organisation_view(r: Reader) -> OrganisationView:
    me = r.iri
    subs = [r.link(s) for s in r.sorted(r.g.subjects(SCHEMA.parentOrganization, me))
            if isinstance(s, URIRef)]
    return OrganisationView(
        r.text(me, SCHEMA.name) or str(r.label(me)), r.type_names(me),
        sorted({str(a) for a in r.g.objects(me, SCHEMA.alternateName)}), org_chain(r, me),
        subs, _members(r, me), parts(r, me),
        [Link(str(u), r.url(u)) for u in r.uris(me, SCHEMA.url)], _same_as(r, me))


# -- a country or another place -----------------------------------------------------------

@dataclass
class PlaceView:
    name: str
    kind: str
    alternate: list[str]
    codes: list[tuple[str, str]]  # ("ISO 3166-1 alpha-2", "KR")
    wikidata: list[Link]
    within: list[Link]
    contains: list[Link]
    address: list[str]
    website: list[Link]
    people: list[Link]
    organisations: list[Link]
    talks: list[tuple[Link, list[Holders]]]
    events: list[tuple[Link, When | None]]  # what took place there


def place_view(r: Reader) -> PlaceView:
    me = r.iri
    codes = [(label, r.first(me, r.gfdo(p))) for p, label in
             (("iso3166Alpha2", "ISO 3166-1 alpha-2"), ("iso3166Alpha3", "ISO 3166-1 alpha-3"))
             if r.first(me, r.gfdo(p))]
    within = [r.link(x) for x in ancestors(r, me, SCHEMA.containedInPlace)]
    address: list[str] = []
    for a in r.sorted(r.g.objects(me, SCHEMA.address)):
        for p in (SCHEMA.streetAddress, SCHEMA.postalCode, SCHEMA.addressLocality):
            if r.text(a, p):
                address.append(r.text(a, p))
        for c in r.uris(a, SCHEMA.addressCountry):
            address.append(str(r.label(c)))
    country = r.gfdo("country")
    people = [r.link(p) for p in r.sorted(r.g.subjects(country, me))
              if (p, RDF.type, SCHEMA.Person) in r.g]
    orgs = [r.link(o) for o in r.sorted(r.g.subjects(country, me))
            if (o, RDF.type, SCHEMA.Person) not in r.g and isinstance(o, URIRef)]
    orgs += [r.link(o) for o in r.sorted(r.g.subjects(SCHEMA.areaServed, me))
             if isinstance(o, URIRef)]
    talks = [(r.link(t, kind=True), holders(r, t))
             for t in sorted(set(r.g.subjects(r.gfdo("presentsExperienceOf"), me)), key=r.key)]
    events = [(r.link(e, kind=True), event_when(r, e)[0])
              for e in sorted(set(r.g.subjects(SCHEMA.location, me)), key=r.key)]
    return PlaceView(
        r.text(me, SCHEMA.name) or str(r.label(me)), r.type_names(me),
        sorted({str(a) for a in r.g.objects(me, SCHEMA.alternateName)}), codes,
        _same_as(r, me), within,
        [r.link(s) for s in r.sorted(r.g.subjects(SCHEMA.containedInPlace, me))
         if isinstance(s, URIRef)], address,
        [Link(str(u), r.url(u)) for u in r.uris(me, SCHEMA.url)], people, orgs, talks, events)


# -- which page a resource gets ----------------------------------------------------------

def page_kind(r: Reader) -> str:
    """``person``, ``item`` (any event), ``organisation``, ``place`` or ``resource``."""
    types = {str(t) for t in r.g.objects(r.iri, RDF.type)}
    schema = {t[len(str(SCHEMA)):] for t in types if t.startswith(str(SCHEMA))}
    if "Person" in schema:
        return "person"
    if str(SCHEMA.Event) in types or any(t.endswith("Event") for t in schema - {"EventSeries"}):
        return "item"
    if schema & ORG_CLASSES:
        return "organisation"
    if schema & PLACE_CLASSES:
        return "place"
    return "resource"
