"""The server's web pages as pure functions: plain data in, one HTML string out.

The HTML is in Jinja2 templates (``templates/``, autoescaped, each extending
``base.html``: see :mod:`gfd_kg.render`); this module and :mod:`gfd_kg.web.views` turn a
graph or an answer into the plain data they show. Only http(s) IRIs become links (a
``javascript:`` IRI in a graph stays text); the only scripts a page holds are JSON data
blocks (through ``script_json``, whose text cannot close the element) and the query
editor's own files. Everything is sorted (programme order where the graph gives one:
``gfdo:position`` or ``schema:startDate``, else by label), so the same input gives the
same bytes.

Pages: :func:`landing_page` (``/``, templates/landing.html), :func:`resource_page` (a
dataset IRI), :func:`results_page` (``/sparql`` in a browser, templates/results.html; both
with the query form of templates/editor.html, which YASGUI replaces when JavaScript runs),
:func:`error_page`; and the pieces the
resource page uses that are of use on their own: :func:`timeline_svg` (the seminar's
programme as a picture) and :func:`resource_embedding` (schema.org JSON-LD for a person,
an organisation or a place).
"""

from __future__ import annotations

import datetime as _dt
import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF, XSD
from rdflib.term import Node

from ..iris import DEFAULT_BASE, KINDS, SCHEMA
from ..query import QueryFile, Table
from ..render import NAV, Nav, render
from ..render import safe_href as _safe_href
from . import views
from .conneg import RESOURCE_TYPES
from .editor import DEFAULT_QUERY, Editor

# --- the frame every page shares: templates/base.html ------------------------------

def _text_paragraphs(text: str) -> list[list[str]]:
    """A long text as paragraphs of lines: blank lines part them, single breaks stay."""
    return [p.strip().split("\n") for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]


# --- the landing page ----------------------------------------------------------------

@dataclass(frozen=True)
class Download:
    name: str
    size: int  # bytes
    media_type: str
    href: str
    about: str = ""  # what to take it for


@dataclass(frozen=True)
class EventLine:
    """An event of the data, as the landing page lists it."""

    href: str
    name: str
    start: str = ""  # xsd:date or xsd:dateTime, as the data writes it
    end: str = ""
    place: str = ""


@dataclass(frozen=True)
class LandingInfo:
    title: str
    description: str
    licence_href: str
    licence_label: str
    sparql_href: str
    void_href: str
    ontology_href: str
    events: list[EventLine] = field(default_factory=list)  # the top-level ones, by date
    downloads: list[Download] = field(default_factory=list)
    examples: list[QueryFile] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)  # {"people": 32, ...}, in order
    embedding: str | None = None  # the dataset as schema.org JSON-LD
    editor: Editor | None = None  # YASGUI, when its files are served


def _size(n: int) -> str:
    if n < 1000:
        return f"{n} bytes"
    for unit, scale in (("kB", 1000), ("MB", 1000**2), ("GB", 1000**3)):
        if n < scale * 1000 or unit == "GB":
            return f"{n / scale:.1f} {unit}"
    raise AssertionError("unreachable")


def run_href(sparql_href: str, text: str) -> str:
    """The address that runs ``text`` on the endpoint (a link that works without script)."""
    return f"{sparql_href}?{urlencode({'query': text})}"


def when(start: str, end: str = "") -> str:
    """An event's time as people read it: "Tuesday 27 May 2008, 19:00 to Wednesday 28 May
    2008, 18:30", "Thursday 29 May 2008", "Wednesday 28 May 2008, 09:30 to 11:30"."""
    def day_or_time(text: str) -> str:
        return readable_time(text, XSD.dateTime if "T" in text else XSD.date) or text

    first = day_or_time(start) if start else ""
    if not end or end == start:
        return first
    if start[:10] == end[:10] and "T" in end:  # the same day: the end's time only
        return f"{first} to {end[11:16]}"
    return f"{first} to {day_or_time(end)}"


def landing_page(info: LandingInfo) -> str:
    """What the dataset is, where to get it and how to query it."""
    nav = Nav(sparql=info.sparql_href, ontology=info.ontology_href)
    return render(
        "landing.html", nav=nav, info=info, paragraphs=_text_paragraphs(info.description),
        events=[(e, when(e.start, e.end)) for e in info.events],
        downloads=[(d, _size(d.size)) for d in info.downloads],
        examples=[(q, run_href(info.sparql_href, q.text)) for q in info.examples],
        embedding=json.loads(info.embedding) if info.embedding else None,
        editor=info.editor, sparql_href=info.sparql_href, query=DEFAULT_QUERY)


# --- the SPARQL results page -----------------------------------------------------------

def _local_href(iri: str, base: str) -> str | None:
    """A dataset IRI's page on this server: the part after the base, as a path."""
    if iri.startswith(base) and len(iri) > len(base):
        return "/" + iri[len(base):]
    return None


_DURATION_RE = re.compile(r"^(-)?P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)D)?"
                          r"(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$")
_DURATION_UNITS = (("year", "years"), ("month", "months"), ("day", "days"), ("h", "h"),
                   ("min", "min"), ("s", "s"))


def _duration(text: str) -> str | None:
    m = _DURATION_RE.match(text)
    if not m or text in ("P", "PT") or text.endswith("T"):
        return None
    parts = [f"{n} {one if n in ('1', '1.0') else many}"
             for n, (one, many) in zip(m.groups()[1:], _DURATION_UNITS, strict=True) if n]
    return ("minus " if m.group(1) else "") + " ".join(parts) if parts else None


def readable_time(text: str, datatype: URIRef) -> str | None:
    """An xsd:dateTime, xsd:date, xsd:time or xsd:duration as people read it
    ("Wednesday 28 May 2008, 18:30", "18:30", "25 min"), in the wall-clock time the data
    writes (the venue's, with its offset); None for a value that is not one of them."""
    try:
        if datatype == XSD.dateTime:
            t = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
            return f"{_WEEKDAYS[t.weekday()]} {t.day} {_MONTHS[t.month - 1]} {t.year}, " \
                   f"{t:%H:%M}"
        if datatype == XSD.date:
            d = _dt.date.fromisoformat(text[:10])
            return f"{_WEEKDAYS[d.weekday()]} {d.day} {_MONTHS[d.month - 1]} {d.year}"
        if datatype == XSD.time:
            return f"{_dt.time.fromisoformat(text.replace('Z', '+00:00')):%H:%M}"
    except ValueError:
        return None
    if datatype in (XSD.duration, XSD.dayTimeDuration, XSD.yearMonthDuration):
        return _duration(text)
    return None


@dataclass(frozen=True)
class Cell:
    """A value of the results table, as the template shows it: ``kind`` is "empty", "link"
    (``href``), "code" (an IRI not linked, a blank node), "literal" (``lang``, ``datatype``
    shortened, ``readable`` for a date, time or duration, the raw value kept as ``text``)
    or "text" (a value of unknown kind)."""

    kind: str
    text: str = ""
    href: str | None = None
    lang: str | None = None
    datatype: str | None = None
    readable: str | None = None
    moment: bool = False  # a date or time: <time datetime=...>


def _short_datatype(dt: URIRef) -> str:
    s = str(dt)
    return "xsd:" + s[len(str(XSD)):] if s.startswith(str(XSD)) else s


def cell(value: str, node: Node | None, base: str) -> Cell:
    if not value and node is None:
        return Cell("empty")
    if isinstance(node, URIRef) or (node is None and value.startswith(base)):
        local = _local_href(value, base)
        if local is not None:
            return Cell("link", value, local)
        if node is not None and value.startswith(("http://", "https://")):
            return Cell("link", value, _safe_href(value))
        return Cell("code", value)
    if isinstance(node, BNode):
        return Cell("code", f"_:{value}")
    if isinstance(node, Literal):
        if node.language:
            return Cell("literal", str(node), lang=node.language)
        if node.datatype is not None and node.datatype != XSD.string:
            readable = readable_time(str(node), node.datatype)
            return Cell("literal", str(node), datatype=_short_datatype(node.datatype),
                        readable=readable, moment=readable is not None and node.datatype in (
                            XSD.dateTime, XSD.date, XSD.time))
        return Cell("literal", str(node))
    return Cell("text", value)


def results_page(query: str, table: Table | None, error: str | None,
                 examples: Sequence[QueryFile], sparql_href: str, *,
                 base: str = DEFAULT_BASE, nav: Nav | None = None,
                 alternates: Sequence[tuple[str, str]] = (), unit: str = "row",
                 editor: Editor | None = None) -> str:
    """The query form with the query, then the error or the result table; ``alternates``
    (label, address): the same answer in other formats."""
    rows: list[list[Cell]] = []
    if table is not None and table.boolean is None:
        terms = table.terms if len(table.terms) == len(table.rows) else ()
        for i, row in enumerate(table.rows):
            nodes = terms[i] if terms else (None,) * len(row)
            rows.append([cell(v, n, base) for v, n in zip(row, nodes, strict=True)])
    n = len(rows)
    return render("results.html", nav=nav or Nav(sparql=sparql_href), query=query, table=table,
                  error=error, rows=rows, count=f"{n} {unit}{'' if n == 1 else 's'}",
                  alternates=alternates, sparql_href=sparql_href, editor=editor,
                  examples=[(q, run_href(sparql_href, q.text)) for q in examples])


# --- the error page -----------------------------------------------------------------

_REASONS = {400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
            406: "Not Acceptable", 413: "Content Too Large", 500: "Internal Server Error",
            503: "Service Unavailable"}


def error_page(status: int, title: str, message: str, *, nav: Nav = NAV) -> str:
    """A 404, 400 or 503 as a page a person can read, with the way back."""
    return render("error.html", status=status, title=title,
                  reason=_REASONS.get(status, "Error"),
                  paragraphs=_text_paragraphs(message), nav=nav)


# --- the timeline picture -----------------------------------------------------------

_DATETIME_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})")
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")

# geometry of the picture, in user units
_W, _AXIS_X0, _AXIS_X1 = 1120, 560, 1100
_TOP, _DAY_H, _ROW_H, _BAR_H = 28, 26, 24, 16
_LABEL_CHARS = 70  # of a name, after its times: what fits left of the time axis


@dataclass(frozen=True, order=True)
class _Slot:
    day: str  # YYYY-MM-DD as written
    start: int  # minutes after midnight, wall clock as written
    end: int
    name: str
    href: str
    start_iso: str
    end_iso: str


def _wall_clock(iso: str) -> tuple[str, int]:
    """The date and the minutes after midnight as the text writes them, in its own offset:
    the agenda's times are Tunis times and are shown as such, never converted."""
    m = _DATETIME_RE.match(iso.strip())
    if m is None:
        raise ValueError(f"{iso!r} is not an xsd:dateTime like 2008-05-28T09:30:00+02:00")
    y, mo, d, h, mi = m.groups()
    return f"{y}-{mo}-{d}", int(h) * 60 + int(mi)


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _day_name(day: str) -> str:
    y, m, d = (int(x) for x in day.split("-"))
    return f"{_WEEKDAYS[_dt.date(y, m, d).weekday()]} {d} {_MONTHS[m - 1]} {y}"


def _n(x: float) -> str:
    """A coordinate, written the same way every time."""
    return f"{x:.1f}".removesuffix(".0")


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit - 1]
    if " " in cut[limit // 2:]:
        cut = cut[:cut.rindex(" ")]
    return cut.rstrip(" ,:;-") + "…"


def _slots(items: Iterable[tuple[str, str, str, str]]) -> list[_Slot]:
    slots = []
    for href, name, start, end in items:
        day, s = _wall_clock(start)
        end_day, e = _wall_clock(end)
        if end_day != day:  # past midnight: the bar runs to the end of its day
            e = 24 * 60
        slots.append(_Slot(day, s, max(e, s), name, href, start, end))
    return sorted(slots)


@dataclass(frozen=True)
class TimelineBar:
    href: str
    start_iso: str
    end_iso: str
    times: str  # 09:30-11:30, with an en dash
    name: str  # in full, for the bar's <title>
    short: str  # what fits left of the axis
    text_y: str
    x: str
    y: str
    width: str


@dataclass(frozen=True)
class TimelineLane:
    day: str  # YYYY-MM-DD
    name: str  # Wednesday 28 May 2008
    y: int
    height: int
    bars: list[TimelineBar]


@dataclass(frozen=True)
class Timeline:
    """The geometry of the programme's picture (templates/resource/timeline.html)."""

    title: str
    summary: str  # "11 items, Tuesday 27 May 2008 to Wednesday 28 May 2008"
    width: int
    height: int
    top: int
    bar_height: int
    ticks: list[tuple[str, str]]  # (x, "09:00")
    lanes: list[TimelineLane]


def timeline(items: list[tuple[str, str, str, str]], *,
             title: str = "Timeline of the programme") -> Timeline:
    """Where each item of ``(href, name, start, end)`` (ISO dates-times) goes on the
    picture: one lane per day, time of day across, one bar per item."""
    slots = _slots(items)
    if not slots:
        return Timeline(title, "no timed items", _W, 40, _TOP, _BAR_H, [], [])
    first = min(s.start for s in slots) // 60 * 60
    last = -(-max(s.end for s in slots) // 60) * 60
    if last <= first:
        last = first + 60
    span = last - first
    step = 60 if span <= 16 * 60 else 120

    def x(minutes: int) -> float:
        return _AXIS_X0 + (minutes - first) * (_AXIS_X1 - _AXIS_X0) / span

    days = sorted({s.day for s in slots})
    height = _TOP + sum(_DAY_H + _ROW_H * sum(1 for s in slots if s.day == d) for d in days) + 8
    summary = f"{len(slots)} items, {_day_name(days[0])}" + (
        f" to {_day_name(days[-1])}" if len(days) > 1 else "")
    ticks = [(_n(x(t)), _hhmm(t)) for t in range(first, last + 1, step)]
    lanes = []
    y = _TOP
    for day in days:
        lane = [s for s in slots if s.day == day]
        lane_y, lane_h = y, _DAY_H + _ROW_H * len(lane)
        y += _DAY_H
        bars = []
        for s in lane:
            bars.append(TimelineBar(
                _safe_href(s.href) or "#", s.start_iso, s.end_iso,
                f"{_hhmm(s.start)}\u2013{_hhmm(s.end)}", " ".join(s.name.split()),
                _shorten(s.name, _LABEL_CHARS), _n(y + 16), _n(x(s.start)),
                _n(y + (_ROW_H - _BAR_H) / 2), _n(max(x(s.end) - x(s.start), 2))))
            y += _ROW_H
        lanes.append(TimelineLane(day, _day_name(day), lane_y, lane_h, bars))
    return Timeline(title, summary, _W, height, _TOP, _BAR_H, ticks, lanes)


def timeline_svg(items: list[tuple[str, str, str, str]], *,
                 title: str = "Timeline of the programme") -> str:
    """The programme as a picture, each bar a link to its item.

    Names that do not fit are shortened on the picture; the full name and times are in each
    bar's ``<title>``. The picture is an ``img`` to assistive technology: pages put the
    same programme in a table next to it."""
    return render("resource/timeline.html", t=timeline(items, title=title))


# --- the page of a resource --------------------------------------------------------

# an alternate named but without a known suffix (conneg.RESOURCE_TYPES has the suffixes)
_FORMAT_NAMES = {"turtle": "text/turtle", "json-ld": "application/ld+json",
                 "n-triples": "application/n-triples", "rdf/xml": "application/rdf+xml"}
_TEMPLATES = {"person": "resource/person.html", "item": "resource/item.html",
              "organisation": "resource/organisation.html", "place": "resource/place.html",
              "resource": "resource/resource.html"}
_VIEWS: dict[str, Callable[[views.Reader], object]] = {
    "person": views.person_view, "item": views.item_view,
    "organisation": views.organisation_view, "place": views.place_view}
_pick = views.pick


@dataclass(frozen=True)
class Alternate:
    name: str
    href: str
    media_type: str | None


@dataclass(frozen=True)
class ProgrammeRow:
    day: str
    times: str
    item: views.Link


@dataclass(frozen=True)
class Programme:
    timeline: Timeline | None
    rows: list[ProgrammeRow]


def _media_type(label: str, href: str) -> str | None:
    """An alternate's media type, from its suffix (``/person/x.ttl``) or else its name."""
    last = href.split("?", 1)[0].split("#", 1)[0].rpartition("/")[2]
    suffix = last.rpartition(".")[2].lower() if "." in last else ""
    return RESOURCE_TYPES.get(suffix) or _FORMAT_NAMES.get(label.casefold())


def _script_safe(text: str) -> str:
    """A JSON text that cannot end its script element nor open a comment in it. A no-op on
    embed.dumps output, which already writes ``<\\/`` and ``\\u003c!--``."""
    return text.replace("</", "<\\/").replace("<!--", "\\u003c!--")


def _programme(r: views.Reader, seminar: URIRef) -> Programme | None:
    items = {e for e in r.g.objects(seminar, SCHEMA.subEvent) if isinstance(e, URIRef)}
    items |= {e for e in r.g.subjects(SCHEMA.superEvent, seminar) if isinstance(e, URIRef)}
    timed = []
    rows = []
    for e in sorted(items, key=r.key):
        start, end = r.first(e, SCHEMA.startDate), r.first(e, SCHEMA.endDate)
        try:
            day, s = _wall_clock(start)
            _end_day, t = _wall_clock(end)
        except ValueError:
            day, times = "", ""
        else:
            times = f"{_hhmm(s)}\u2013{_hhmm(t)}"  # an en dash
            timed.append((r.url(e) or "", str(r.label(e)), start, end))
        rows.append(ProgrammeRow(_day_name(day) if day else "", times, r.link(e, kind=True)))
    if not rows:
        return None
    picture = timeline(timed, title=f"Programme of {r.label(seminar)}") if timed else None
    return Programme(picture, rows)


def resource_page(graph: Graph, iri: URIRef, href: Callable[[str], str | None],
                  alternates: dict[str, str], embedding: str | None, *,
                  base: str | None = None, nav: Nav = NAV) -> str:
    """The page of one dataset IRI, from its page graph (gfd_kg/web/site.py
    ``page_graph``): a readable top part for a person, a programme item, an organisation
    or a place (views.py reads it), then every property and incoming link, then the
    other formats."""
    r = views.Reader(graph, iri, href, base or _base_of(str(iri)))
    kind = views.page_kind(r)
    label = r.label(iri)
    formats = [Alternate(name, h, _media_type(name, h)) for name, h in sorted(alternates.items())]
    make = _VIEWS.get(kind)
    programme = None
    if kind == "item" and (iri, RDF.type, r.gfdo("Seminar")) in graph:
        programme = _programme(r, iri)
    return render(_TEMPLATES[kind], nav=nav, kind=kind, title=str(label),
                  lang=getattr(label, "language", None), kind_names=r.type_names(iri),
                  view=make(r) if make else None, raw=views.raw(r), alternates=formats,
                  embedding=json.loads(embedding) if embedding is not None else None,
                  programme=programme)


def _base_of(iri: str) -> str:
    """The base a dataset IRI was minted under: what comes before ``{kind}/``."""
    m = re.match(r"^(https?://[^/]+/(?:.*?/)??)(?:" + "|".join(KINDS) + ")/", iri)
    return m.group(1) if m else DEFAULT_BASE


# --- schema.org JSON-LD for people, organisations and places --------------------------

_ORG_TYPES = frozenset({"Organization", "GovernmentOrganization", "Corporation", "NGO",
                        "EducationalOrganization", "CollegeOrUniversity", "LocalBusiness",
                        "Hotel", "ResearchOrganization", "Project", "Consortium"})
_PLACE_TYPES = frozenset({"Place", "Country", "City", "State", "AdministrativeArea",
                          "LocalBusiness", "Hotel", "CivicStructure", "Landform"})
_GENERIC = frozenset({"Thing", "Organization", "Place"})


def _schema_types(g: Graph, node: Node) -> list[str]:
    names = sorted({str(t)[len(str(SCHEMA)):] for t in g.objects(node, RDF.type)
                    if str(t).startswith(str(SCHEMA))})
    specific = [n for n in names if n not in _GENERIC]
    return specific or names


def _one(values: list[Any]) -> Any:
    return values[0] if len(values) == 1 else values


def resource_embedding(graph: Graph, iri: URIRef, base: str) -> dict[str, Any] | None:
    """A small schema.org-only JSON-LD document for a person, an organisation or a place
    (events have theirs from embed.py); None for anything else. Works on the describe
    graph; the data graph gives more (an address's street and country)."""
    if not str(iri).startswith(base):
        return None
    g = graph
    types = _schema_types(g, iri)
    person = "Person" in types
    org = bool(_ORG_TYPES & set(types))
    place = bool(_PLACE_TYPES & set(types))
    if not (person or org or place):
        return None

    def texts(node: Node, p: URIRef) -> list[str]:
        return sorted({str(v) for v in g.objects(node, p) if isinstance(v, Literal)})

    def name(node: Node) -> str | None:
        lit = _pick(g.objects(node, SCHEMA.name))
        return str(lit) if lit is not None else None

    def ref(node: URIRef, default: str) -> dict[str, Any]:
        doc: dict[str, Any] = {"@type": _one(
            [t for t in _schema_types(g, node) if t in _ORG_TYPES] or [default]),
            "@id": str(node)}
        n = name(node)
        if n:
            doc["name"] = n
        doc["url"] = str(node)
        return doc

    def orgs(p: URIRef) -> list[dict[str, Any]]:
        nodes = [o for o in g.objects(iri, p) if isinstance(o, URIRef)
                 and (o, RDF.type, SCHEMA.Role) not in g
                 and (o, RDF.type, SCHEMA.OrganizationRole) not in g]
        return [ref(o, "Organization") for o in sorted(set(nodes))]

    kind = (["Person"] if person else
            [t for t in types if t in _ORG_TYPES | _PLACE_TYPES])
    doc: dict[str, Any] = {"@context": "https://schema.org", "@type": _one(kind),
                           "@id": str(iri)}
    n = name(iri)
    if n:
        doc["name"] = n
    doc["url"] = str(iri)
    same = sorted({str(v) for p in (SCHEMA.sameAs, SCHEMA.url) for v in g.objects(iri, p)
                   if isinstance(v, URIRef) and str(v).startswith(("http://", "https://"))})
    if same:
        doc["sameAs"] = _one(same)
    if person:
        titles = texts(iri, SCHEMA.jobTitle)
        if titles:
            doc["jobTitle"] = _one(titles)
        affiliations = orgs(SCHEMA.affiliation)
        if affiliations:
            doc["affiliation"] = _one(affiliations)
        return doc
    if org:
        parents = orgs(SCHEMA.parentOrganization)
        if parents:
            doc["parentOrganization"] = _one(parents)
    if place:
        for a in sorted(g.objects(iri, SCHEMA.address), key=str):
            if isinstance(a, Literal):
                doc["address"] = str(a)
                break
            address: dict[str, Any] = {"@type": "PostalAddress"}
            if isinstance(a, URIRef):
                address["@id"] = str(a)
                address["url"] = str(a)
            for key, p in (("streetAddress", SCHEMA.streetAddress),
                           ("postalCode", SCHEMA.postalCode),
                           ("addressLocality", SCHEMA.addressLocality)):
                values = texts(a, p)
                if values:
                    address[key] = values[0]
            for c in sorted(g.objects(a, SCHEMA.addressCountry), key=str):
                code = texts(c, URIRef(base + "ontology/iso3166Alpha2"))
                country = code[0] if code else (str(c) if isinstance(c, Literal) else name(c))
                if country:
                    address["addressCountry"] = country
                    break
            doc["address"] = address
            break
    return doc
