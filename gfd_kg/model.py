"""Source records -> RDF. Builds the asserted graphs; writes nothing.

schema.org carries what it covers (Event, Person, Organization, Place, Role...); the
project's ontology (``gfdo:``, ontology/gfd.ttl) fills the rest. Roles follow the
schema.org Role pattern (event -performer-> Role -performer-> person) and keep the plain
link (event -performer-> person) alongside for consumers that read only that.
Personal contact details (telephone, fax, e-mail of named people) go to their own graph.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rdflib import Dataset, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, FOAF, OWL, RDF, RDFS, SKOS, XSD

from .errors import Problem, RecordsError
from .iris import PROV, SCHEMA, WD, IRIs
from .records import Record, Records
from .source import LineSpan
from .times import fixed_offset, parse_duration

# The named graphs of the dataset (their IRIs: IRIs.graph(name)).
DATA_GRAPH = "data"  # the asserted public data
CONTACTS_GRAPH = "contacts"  # personal contact details, published only on request
ONTOLOGY_GRAPH = "ontology"  # ontology/gfd.ttl
INFERRED_GRAPH = "inferred"  # what OWL RL adds (gfd_kg/reason.py)

# role -> (the schema.org property linking event and agent, gfdo concept, role name)
ROLE_TERMS: dict[str, tuple[URIRef, str, str]] = {
    "chair": (SCHEMA.organizer, "ChairRole", "chair"),
    "co-chair": (SCHEMA.organizer, "CoChairRole", "co-chair"),
    "moderator": (SCHEMA.performer, "ModeratorRole", "moderator"),
    "keynote-speaker": (SCHEMA.performer, "KeynoteSpeakerRole", "keynote speaker"),
    "presenter": (SCHEMA.performer, "PresenterRole", "presenter"),
    "speaker": (SCHEMA.performer, "SpeakerRole", "speaker"),
    "tour-de-table-participant": (
        SCHEMA.performer, "TourDeTableParticipantRole", "tour-de-table participant"),
    "opening-remarks": (SCHEMA.performer, "OpeningRemarksRole", "opening remarks"),
    "wrap-up": (SCHEMA.performer, "WrapUpRole", "wrap-up and conclusion"),
    "final-remarks": (SCHEMA.performer, "FinalRemarksRole", "final remarks"),
}

# organisation type -> (schema.org class, gfdo class or None)
ORG_CLASSES: dict[str, tuple[URIRef, str | None]] = {
    "Government": (SCHEMA.GovernmentOrganization, "Government"),
    "Ministry": (SCHEMA.GovernmentOrganization, "Ministry"),
    "Agency": (SCHEMA.GovernmentOrganization, "Agency"),
    "Directorate": (SCHEMA.Organization, "Directorate"),
    "Unit": (SCHEMA.Organization, "Unit"),
    "InternationalOrganisation": (SCHEMA.Organization, "InternationalOrganisation"),
    "Initiative": (SCHEMA.Project, "Initiative"),
    "WorkingGroup": (SCHEMA.Organization, "WorkingGroup"),
    "Organization": (SCHEMA.Organization, None),
    "Corporation": (SCHEMA.Corporation, None),
    "CollegeOrUniversity": (SCHEMA.CollegeOrUniversity, None),
}

# record field -> (gfdo property, the concept scheme its values belong to)
ANNOTATION_TERMS: dict[str, tuple[str, str]] = {
    "arrangements": ("concernsArrangement", "ArrangementTypeScheme"),
    "forms": ("concernsForm", "ArrangementFormScheme"),
    "drivers": ("concernsDriver", "DriverScheme"),
    "challenges": ("concernsChallenge", "ChallengeScheme"),
    "application_areas": ("concernsApplicationArea", "ApplicationAreaScheme"),
}

# event type -> extra schema.org class beside schema:Event
EVENT_EXTRA_CLASS: dict[str, URIRef] = {"Reception": SCHEMA.SocialEvent}

@dataclass
class WebOrigins:
    """What web pages (sources.yaml) report, for the provenance graph: every node a page
    describes, and every statement a page adds to a node the agenda describes (the
    seminar's reported status, a person's position as of a later event), each with the
    ids of its sources."""

    nodes: dict[URIRef, list[str]] = dataclasses.field(default_factory=dict)
    statements: dict[tuple[URIRef, URIRef, Any], list[str]] = dataclasses.field(
        default_factory=dict)


def _agenda_order(rec: Record) -> tuple[float, LineSpan, LineSpan]:
    """Timed items in time order; untimed ones in the order of the agenda lines they
    come from. A record may cite a shared heading first (a day, "With regards to
    PPPs:"): its own text is its last span, so that orders it."""
    start = rec.get("start_at")
    return (start.timestamp() if start else float("inf"), rec.spans[-1], rec.spans[0])


def _minutes(n: int) -> Literal:
    return Literal(f"PT{n}M", datatype=XSD.duration)


def _dt(value: datetime) -> Literal:
    return Literal(fixed_offset(value).isoformat(), datatype=XSD.dateTime)


class GraphBuilder:
    """Turns ``Records`` into the asserted graphs of one dataset."""

    def __init__(self, records: Records, iris: IRIs) -> None:
        self.records = records
        self.iris = iris
        self.o = iris.ontology
        self.data = Graph()
        self.contacts = Graph()
        # every node minted -> the agenda lines it comes from (for the provenance graph)
        self.origins: dict[URIRef, list[LineSpan]] = {}
        # what records from web pages describe -> the ids of their sources
        self.web = WebOrigins()

    # -- helpers ----------------------------------------------------------------------
    def iri(self, rec: Record) -> URIRef:
        s = self.iris.mint(rec.group, rec.id)
        if rec.spans:
            self.origins.setdefault(s, rec.spans)
        self.cite(s, rec)
        return s

    def cite(self, s: URIRef, rec: Record) -> None:
        """``s`` is (also) described by what ``rec``'s web sources report."""
        for source in rec.sources:
            if source not in self.web.nodes.setdefault(s, []):
                self.web.nodes[s].append(source)

    def add_reported(self, s: URIRef, p: URIRef, o: Any, rec: Record) -> None:
        """A statement a web page adds about a node; when the agenda describes the node
        too, the statement's own provenance says which page it comes from."""
        if s in self.origins and (s, p, o) not in self.data:
            self.web.statements[(s, p, o)] = list(rec.sources)
        self.add(s, p, o)

    def sub_node(self, kind: str, ident: str, spans: list[LineSpan]) -> URIRef:
        """A node minted under a record (an address, a role), with its own lines."""
        s = self.iris.mint(kind, ident)
        if spans:
            self.origins[s] = spans
        return s

    def ref(self, group: str, ident: str) -> URIRef:
        return self.iris.mint(group, ident)

    def add(self, s: URIRef, p: URIRef, o: Any) -> None:
        self.data.add((s, p, o))

    def text(self, s: URIRef, p: URIRef, value: str | None, lang: str | None = None) -> None:
        if value:
            self.add(s, p, Literal(value, lang=lang))

    def org_country(self, org_id: str) -> str | None:
        """An organisation's country: its own, or the nearest ancestor's."""
        orgs = self.records.by_group["organization"]
        cur: str | None = org_id
        while cur is not None:
            rec = orgs[cur]
            if rec.get("country"):
                return rec.get("country")
            cur = rec.get("parent")
        return None

    # -- the build --------------------------------------------------------------------
    def build(self) -> Dataset:
        # each kind of record in turn, in an order where what a record names is made first
        for kind, make in (("country", self.country), ("place", self.place),
                           ("organization", self.organization), ("person", self.person),
                           ("event", self.event)):
            for rec in self.records.group(kind):
                make(rec)
        self.seminar_spans()
        self.sibling_positions()
        for kind, make in (("source", self.web_page), ("series", self.series),
                           ("report", self.report), ("role", self.position_at_event),
                           ("participation", self.participation), ("question", self.question),
                           ("document", self.document), ("contact", self.contact)):
            for rec in self.records.group(kind):
                make(rec)
        ds = Dataset()
        for prefix, ns in self.iris.prefixes().items():
            ds.bind(prefix, ns)
        for name, graph in ((DATA_GRAPH, self.data), (CONTACTS_GRAPH, self.contacts)):
            target = ds.graph(self.iris.graph(name))
            for triple in graph:
                target.add(triple)
        return ds

    def country(self, rec: Record) -> None:
        s = self.iri(rec)
        self.add(s, RDF.type, SCHEMA.Country)
        self.text(s, SCHEMA.name, rec.get("name"))
        for alt in rec.get("alternate_names") or []:
            self.text(s, SCHEMA.alternateName, alt)
        self.add(s, self.o.iso3166Alpha2, Literal(rec.get("iso_alpha2")))
        self.add(s, self.o.iso3166Alpha3, Literal(rec.get("iso_alpha3")))
        self.text(s, SKOS.note, rec.get("note"), "en")
        self.same_as(s, rec)

    def same_as(self, s: URIRef, rec: Record) -> None:
        """The Wikidata item the link table verified, as owl:sameAs (for OWL and
        SPARQL users) and schema:sameAs (for schema.org consumers)."""
        if rec.get("wikidata"):
            self.add(s, OWL.sameAs, WD[rec.get("wikidata")])
            self.add(s, SCHEMA.sameAs, WD[rec.get("wikidata")])

    def place(self, rec: Record) -> None:
        s = self.iri(rec)
        self.add(s, RDF.type, SCHEMA[rec.get("type")])
        self.text(s, SCHEMA.name, rec.get("name"))
        for alt in rec.get("alternate_names") or []:
            self.text(s, SCHEMA.alternateName, alt)
        if rec.get("contained_in"):
            self.add(s, SCHEMA.containedInPlace, self.ref("place", rec.get("contained_in")))
        address_fields = ("street", "postal_code", "locality")
        if any(rec.get(f) for f in address_fields):
            a = self.sub_node("address", rec.id, rec.spans)
            self.add(s, SCHEMA.address, a)
            self.add(a, RDF.type, SCHEMA.PostalAddress)
            self.text(a, SCHEMA.streetAddress, rec.get("street"))
            self.text(a, SCHEMA.postalCode, rec.get("postal_code"))
            self.text(a, SCHEMA.addressLocality, rec.get("locality"))
            if rec.get("country"):
                self.add(a, SCHEMA.addressCountry, self.ref("country", rec.get("country")))
        elif rec.get("country"):
            self.add(s, SCHEMA.containedInPlace, self.ref("country", rec.get("country")))
        for tel in rec.get("telephone") or []:
            self.text(s, SCHEMA.telephone, tel)
        for fax in rec.get("fax") or []:
            self.text(s, SCHEMA.faxNumber, fax)
        if rec.get("url"):
            self.add(s, SCHEMA.url, URIRef(rec.get("url")))
        self.same_as(s, rec)

    def organization(self, rec: Record) -> None:
        s = self.iri(rec)
        schema_class, own_class = ORG_CLASSES[rec.get("type")]
        self.add(s, RDF.type, schema_class)
        if own_class:
            self.add(s, RDF.type, self.o[own_class])
        self.text(s, SCHEMA.name, rec.get("name"))
        for alt in rec.get("alternate_names") or []:
            self.text(s, SCHEMA.alternateName, alt)
        if rec.get("parent"):
            self.add(s, SCHEMA.parentOrganization, self.ref("organization", rec.get("parent")))
        country = self.org_country(rec.id)
        if country:
            self.add(s, self.o.country, self.ref("country", country))
        if rec.get("area_served"):
            self.add(s, SCHEMA.areaServed, self.ref("place", rec.get("area_served")))
        if rec.get("url"):
            self.add(s, SCHEMA.url, URIRef(rec.get("url")))
        self.same_as(s, rec)

    def person(self, rec: Record) -> None:
        s = self.iri(rec)
        self.add(s, RDF.type, SCHEMA.Person)
        self.text(s, SCHEMA.name, rec.get("name"))
        self.text(s, SCHEMA.honorificPrefix, rec.get("honorific"))
        countries: set[str] = set()
        for n, pos in enumerate(rec.get("positions"), start=1):
            org = self.ref("organization", pos["organization"])
            role = self.sub_node("role", f"{rec.id}/position-{n}", rec.spans)
            self.add(s, SCHEMA.affiliation, org)
            self.add(s, SCHEMA.affiliation, role)
            self.add(role, RDF.type, SCHEMA.OrganizationRole)
            self.add(role, SCHEMA.affiliation, org)
            if pos.get("title"):
                self.text(s, SCHEMA.jobTitle, pos["title"], "en")
                self.text(role, SCHEMA.roleName, pos["title"], "en")
            country = self.org_country(pos["organization"])
            if country:
                countries.add(country)
        for n, mem in enumerate(rec.get("memberships") or [], start=1):
            org = self.ref("organization", mem["organization"])
            role = self.sub_node("role", f"{rec.id}/membership-{n}", rec.spans)
            self.add(s, SCHEMA.memberOf, org)
            self.add(s, SCHEMA.memberOf, role)
            self.add(role, RDF.type, SCHEMA.OrganizationRole)
            self.add(role, SCHEMA.memberOf, org)
            self.text(role, SCHEMA.roleName, mem["role"], "en")
            self.add(role, self.o.roleKind, self.o.WorkingGroupRepresentativeRole)
        for country in sorted(countries):
            self.add(s, self.o.country, self.ref("country", country))
        if rec.get("work_location"):
            self.add(s, SCHEMA.workLocation, self.ref("place", rec.get("work_location")))

    def event(self, rec: Record) -> None:
        if rec.kind == "meetings":
            self.meeting(rec)
            return
        s = self.iri(rec)
        self.add(s, RDF.type, SCHEMA.Event)
        if rec.kind == "seminars":
            if rec.get("series"):
                self.add(s, self.o.inSeries, self.ref("series", rec.get("series")))
            self.add(s, RDF.type, self.o.Seminar)
            self.add(s, self.o.seriesNumber, Literal(rec.get("series_number")))
            self.add(s, SCHEMA.organizer, self.ref("organization", rec.get("organizer")))
            if rec.get("working_group"):
                self.add(s, self.o.workingGroup,
                         self.ref("organization", rec.get("working_group")))
        else:
            etype = rec.get("type")
            self.add(s, RDF.type, self.o[etype])
            if etype in EVENT_EXTRA_CLASS:
                self.add(s, RDF.type, EVENT_EXTRA_CLASS[etype])
        self.text(s, SCHEMA.name, rec.get("name"), "en")
        for alt in rec.get("alternate_names") or []:
            self.text(s, SCHEMA.alternateName, alt, "en")
        self.text(s, SCHEMA.description, rec.get("description"), "en")
        if rec.get("number"):
            self.add(s, self.o.number,
                     Literal(rec.get("number"), datatype=XSD.integer))
        if rec.get("parent"):
            parent = self.ref("event", rec.get("parent"))
            self.add(s, SCHEMA.superEvent, parent)
            self.add(parent, SCHEMA.subEvent, s)
        if rec.get("start_at"):
            self.add(s, SCHEMA.startDate, _dt(rec.get("start_at")))
            self.add(s, SCHEMA.endDate, _dt(rec.get("end_at")))
        if rec.get("location"):
            self.add(s, SCHEMA.location, self.ref("place", rec.get("location")))
        if rec.get("duration"):
            self.duration(s, rec)
        if rec.get("tbc"):
            self.add(s, self.o.confirmationStatus, self.o.ToBeConfirmed)
        for p in rec.get("participants") or []:
            self.participant(rec, s, p)
        for field, (prop, _scheme) in ANNOTATION_TERMS.items():
            for concept in rec.get(field) or []:
                self.add(s, self.o[prop], self.o[concept])
        for country in rec.get("experience_of") or []:
            self.add(s, self.o.presentsExperienceOf, self.ref("country", country))

    def duration(self, s: URIRef, rec: Record) -> None:
        stated = rec.get("duration")
        d = parse_duration(stated)  # checked when the records were loaded
        self.add(s, self.o.statedDuration, Literal(stated))
        if d.exact is not None:
            self.add(s, SCHEMA.duration, _minutes(d.exact))
        if d.minimum is not None:
            self.add(s, self.o.minimumDuration, _minutes(d.minimum))
        if d.maximum is not None:
            self.add(s, self.o.maximumDuration, _minutes(d.maximum))

    def participant(self, rec: Record, event: URIRef, p: dict[str, Any]) -> None:
        prop, concept, name = ROLE_TERMS[p["role"]]
        if "person" in p:
            group, ident = "person", p["person"]
        else:
            group, ident = "organization", p["organization"]
        agent = self.ref(group, ident)
        role = self.sub_node("role", f"{rec.id}/{p['role']}/{ident}",
                             p.get("lines") or rec.spans)
        self.cite(role, rec)
        self.add(event, prop, agent)
        self.add(event, prop, role)
        self.add(role, RDF.type, SCHEMA.Role)
        self.add(role, prop, agent)
        self.add(role, SCHEMA.roleName, Literal(name, lang="en"))
        self.add(role, self.o.roleKind, self.o[concept])
        if p.get("tbc"):
            self.add(role, self.o.confirmationStatus, self.o.ToBeConfirmed)

    def seminar_spans(self) -> None:
        """A seminar runs from its first item's start to its last item's end."""
        events = self.records.by_group["event"]
        for seminar in self.records.of_kind("seminars"):
            timed = [r for r in events.values()
                     if r.get("parent") == seminar.id and r.get("start_at")]
            if timed:
                s = self.iri(seminar)
                self.add(s, SCHEMA.startDate, _dt(min(r.get("start_at") for r in timed)))
                self.add(s, SCHEMA.endDate, _dt(max(r.get("end_at") for r in timed)))

    def sibling_positions(self) -> None:
        """Each sub-event's place among its siblings."""
        children: dict[str, list[Record]] = {}
        for rec in self.records.group("event"):
            if rec.get("parent"):
                children.setdefault(rec.get("parent"), []).append(rec)
        for siblings in children.values():
            siblings.sort(key=_agenda_order)
            for n, rec in enumerate(siblings, start=1):
                self.add(self.iri(rec), self.o.position,
                         Literal(n, datatype=XSD.integer))

    # -- what web pages report ------------------------------------------------------------
    def web_page(self, rec: Record) -> None:
        """A page as read on a date: the source that records cite instead of lines."""
        s = self.iris.source(rec.id)
        self.add(s, RDF.type, SCHEMA.WebPage)
        self.add(s, RDF.type, FOAF.Document)
        self.add(s, SCHEMA.url, URIRef(rec.get("url")))
        self.add(s, DCTERMS.title, Literal(rec.get("title"), lang="en"))
        self.add(s, DCTERMS.date, Literal(rec.get("read").isoformat(), datatype=XSD.date))
        if rec.get("publisher"):
            self.add(s, SCHEMA.publisher, self.ref("organization", rec.get("publisher")))
        self.text(s, RDFS.comment, rec.get("supports"), "en")  # what it supports

    def series(self, rec: Record) -> None:
        s = self.iri(rec)
        self.add(s, RDF.type, SCHEMA.EventSeries)
        self.text(s, SCHEMA.name, rec.get("name"), "en")
        self.add(s, SCHEMA.organizer, self.ref("organization", rec.get("organizer")))

    def reported(self, s: URIRef, rec: Record) -> None:
        """Status, page, hosts and collaborator, as a page reports them."""
        if rec.get("status"):
            self.add_reported(s, SCHEMA.eventStatus, SCHEMA[rec.get("status")], rec)
        if rec.get("page"):
            self.add_reported(s, SCHEMA.subjectOf, self.iris.source(rec.get("page")), rec)
        for host in rec.get("hosts") or []:
            self.add_reported(s, self.o.invitedBy,
                              self.ref("organization", host["organization"]), rec)
        if rec.get("collaborator"):
            self.add_reported(s, self.o.inCollaborationWith,
                              self.ref("organization", rec.get("collaborator")), rec)

    def report(self, rec: Record) -> None:
        s = self.ref("event", rec.get("event"))
        self.cite(s, rec)
        self.reported(s, rec)
        if rec.get("followed_by"):
            self.add_reported(s, self.o.followedBy, self.ref("event", rec.get("followed_by")),
                              rec)

    def meeting(self, rec: Record) -> None:
        s = self.iri(rec)
        self.add(s, RDF.type, SCHEMA.Event)
        self.add(s, RDF.type, self.o.WorkingGroupMeeting)
        self.text(s, SCHEMA.name, rec.get("name"), "en")
        self.add(s, SCHEMA.startDate, Literal(rec.get("day").isoformat(), datatype=XSD.date))
        self.add(s, SCHEMA.location, self.ref("place", rec.get("location")))
        self.add(s, self.o.inSeries, self.ref("series", rec.get("series")))
        self.add(s, self.o.numberInSeries,
                 Literal(rec.get("series_number"), datatype=XSD.integer))
        if rec.get("follows"):
            self.add(s, self.o.follows, self.ref("event", rec.get("follows")))
        self.reported(s, rec)
        for p in rec.get("participants") or []:
            self.participant(rec, s, p)

    def position_at_event(self, rec: Record) -> None:
        """A job as a page gives it for one event (affiliation during the event)."""
        s = self.iri(rec)
        person = self.ref("person", rec.get("person"))
        self.add(s, RDF.type, SCHEMA.OrganizationRole)
        self.add(s, SCHEMA.affiliation, self.ref("organization", rec.get("organization")))
        self.text(s, SCHEMA.roleName, rec.get("title"), "en")
        self.add(s, self.o.asOfEvent, self.ref("event", rec.get("event")))
        self.add_reported(person, SCHEMA.affiliation, s, rec)
        self.add_reported(person, SCHEMA.affiliation,
                          self.ref("organization", rec.get("organization")), rec)

    def participation(self, rec: Record) -> None:
        """Who came, as reported: kept apart from the agenda's planned roles."""
        s = self.iri(rec)
        self.add(s, RDF.type, self.o.ReportedParticipation)
        for event in rec.get("events"):
            self.add(s, self.o.reportedFor, self.ref("event", event))
        for field, prop in (("delegates", "delegateCount"), ("experts", "expertCount"),
                            ("delegate_countries", "statedCountryCount")):
            if rec.get(field) is not None:
                self.add(s, self.o[prop], Literal(rec.get(field), datatype=XSD.integer))
        for field, prop, part in (("delegates_from", "delegateEntry", "delegates"),
                                  ("experts_from", "expertEntry", "experts")):
            for n, entry in enumerate(rec.get(field) or [], start=1):
                e = self.iris.mint("participation", f"{rec.id}/{part}/{n}")
                self.cite(e, rec)
                self.add(s, self.o[prop], e)
                self.add(e, RDF.type, self.o.ListedParticipant)
                self.add(e, SCHEMA.name, Literal(entry["named"]))
                self.add(e, self.o.position, Literal(n, datatype=XSD.integer))
                if entry.get("country"):
                    self.add(e, self.o.denotes, self.ref("country", entry["country"]))
                if entry.get("place"):
                    self.add(e, self.o.denotes, self.ref("place", entry["place"]))
                self.text(e, SKOS.note, entry.get("note"), "en")
        for person in rec.get("others") or []:
            self.add(s, SCHEMA.attendee, self.ref("person", person))

    def question(self, rec: Record) -> None:
        s = self.iri(rec)
        event = self.ref("event", rec.get("event"))
        self.add(s, RDF.type, SCHEMA.Question)
        self.text(s, SCHEMA.text, rec.get("text"), "en")
        self.text(s, self.o.heading, rec.get("heading"), "en")
        self.add(event, self.o.discussionQuestion, s)
        siblings = [q for q in self.records.group("question") if q.get("event") == rec.get("event")]
        n = sorted(siblings, key=_agenda_order).index(rec) + 1
        self.add(s, self.o.position, Literal(n, datatype=XSD.integer))

    def document(self, rec: Record) -> None:
        s = self.iri(rec)
        self.add(s, RDF.type, SCHEMA[rec.get("type")])
        self.text(s, SCHEMA.name, rec.get("name"), "en")
        self.text(s, SCHEMA.description, rec.get("description"), "en")
        self.text(s, self.o.documentNumber, rec.get("number"))
        self.text(s, SCHEMA.creativeWorkStatus, rec.get("status"))
        if rec.get("about"):
            self.add(s, SCHEMA.about, self.ref("event", rec.get("about")))
        if rec.get("publisher"):
            self.add(s, SCHEMA.publisher, self.ref("organization", rec.get("publisher")))
        for event in rec.get("background_for") or []:
            self.add(self.ref("event", event), self.o.backgroundDocument, s)
        self.text(s, SCHEMA.isbn, rec.get("isbn"))
        if rec.get("year_published"):
            self.add(s, SCHEMA.datePublished,
                     Literal(str(rec.get("year_published")), datatype=XSD.gYear))
        if rec.get("revision_of"):
            self.add(s, PROV.wasRevisionOf, self.ref("document", rec.get("revision_of")))

    def contact(self, rec: Record) -> None:
        s = self.iri(rec)
        self.add(s, RDF.type, SCHEMA.ContactPoint)
        self.text(s, SCHEMA.contactType, rec.get("contact_type"), "en")
        self.add(s, self.o.contactFor, self.ref("event", rec.get("event")))
        self.add(self.ref("person", rec.get("person")), SCHEMA.contactPoint, s)
        for tel in rec.get("telephone") or []:
            self.contacts.add((s, SCHEMA.telephone, Literal(tel)))
        for fax in rec.get("fax") or []:
            self.contacts.add((s, SCHEMA.faxNumber, Literal(fax)))
        if rec.get("email"):
            self.contacts.add((s, SCHEMA.email, Literal(rec.get("email"))))


def check_vocabulary(records: Records, ontology: Graph, iris: IRIs) -> None:
    """Every concept a record names is in the right scheme of the ontology, and every
    role and class the model uses is defined there."""
    o = iris.ontology
    problems: list[Problem] = []
    for rec in records.group("event"):
        for field, (_prop, scheme) in ANNOTATION_TERMS.items():
            for concept in rec.get(field) or []:
                if (o[concept], SKOS.inScheme, o[scheme]) not in ontology:
                    known = sorted(str(c).removeprefix(str(o))
                                   for c in ontology.subjects(SKOS.inScheme, o[scheme]))
                    problems.append(Problem(rec.file, rec.line, rec.id,
                        f"{field}: {concept!r} is not a concept of gfdo:{scheme}; "
                        f"use one of: {', '.join(known)}"))
    used = [c for _p, c, _n in ROLE_TERMS.values()] + ["WorkingGroupRepresentativeRole",
                                                       "ToBeConfirmed"]
    for name in used:
        if (o[name], None, None) not in ontology:
            problems.append(Problem(None, None, None,
                f"gfdo:{name} is used by the model but not defined in the ontology"))
    if problems:
        raise RecordsError(problems)


def build_dataset(records: Records, iris: IRIs) -> tuple[
        Dataset, dict[URIRef, list[LineSpan]], WebOrigins]:
    """The asserted dataset: named graphs ``data`` (public) and ``contacts`` (personal);
    for every node minted, the agenda lines it comes from; and what web pages report."""
    builder = GraphBuilder(records, iris)
    return builder.build(), builder.origins, builder.web
