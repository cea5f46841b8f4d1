"""The built graph against the records and the agenda text."""

from __future__ import annotations

import re
from datetime import timedelta

from rdflib import RDF, Graph, Literal, URIRef
from rdflib.namespace import XSD

from gfd_kg.iris import SCHEMA
from gfd_kg.resources import ontology_dir
from gfd_kg.times import VENUE_TZ, localize

ONTOLOGY = ontology_dir() / "gfd.ttl"


def _record_of(iri: str, iris) -> tuple[str, str] | None:
    """The (group, id) of the record an IRI of the dataset was minted for. Role and
    address nodes belong to the record they hang from."""
    rest = iri[len(iris.base):]
    kind, _, ident = rest.partition("/")
    if kind == "address":
        return "place", ident
    if kind == "participation":  # a listed participant hangs from its participation
        return kind, re.sub(r"/(delegates|experts)/\d+$", "", ident)
    if kind == "role":
        m = re.match(r"^(.*)/(position|membership)-\d+$", ident)
        if m:
            return "person", m.group(1)
        if ident.count("/") == 1:  # a position as of an event (positions records)
            return "role", ident
        event, _role, _agent = ident.rsplit("/", 2)
        return "event", event
    return kind, ident


def _node_of(rec, iris) -> URIRef:
    if rec.kind == "reports":
        return iris.mint("event", rec.get("event"))
    return iris.mint(rec.group, rec.id)


def test_every_record_is_a_subject(built, data_graph, iris):
    subjects = set(data_graph.subjects())
    # a report describes its event's node; a source is a page node under source/
    missing = [(r.group, r.id) for r in built.records
               if _node_of(r, iris) not in subjects]
    assert missing == []


def test_every_subject_comes_from_a_record(built, data_graph, iris):
    known = {(r.group, r.id) for r in built.records}
    strays = []
    for s in set(data_graph.subjects()):
        origin = _record_of(str(s), iris) if str(s).startswith(iris.base) else None
        if origin not in known:
            strays.append(str(s))
    assert strays == []


# What a web source's record keeps only to be checked against the source's facts
# (tests/test_web_sources.py): the facts themselves, and names as the page prints them
# where the record links the organisation they name.
KEPT_FOR_FIDELITY = {"facts", "named", "hosts.named"}


def test_every_text_field_of_a_record_is_a_literal_of_its_subject(built, data_graph,
                                                                   contacts_graph, iris):
    """Each text value of a record is published on the record's node or a node minted
    under it (its address, its roles)."""
    from gfd_kg.fidelity import copied_values

    by_origin: dict[tuple[str, str], set[str]] = {}
    for g in (data_graph, contacts_graph):
        for s, p, o in g:
            if (isinstance(o, Literal) or p == SCHEMA.url) and str(s).startswith(iris.base):
                by_origin.setdefault(_record_of(str(s), iris), set()).add(str(o))
    missing = []
    for rec in built.records:
        published = by_origin.get((rec.group, rec.id), set())
        for name, value in copied_values(rec):
            if name in KEPT_FOR_FIDELITY:
                continue
            if value not in published:
                missing.append((rec.id, name, value))
    assert missing == []


# -- every personal name of the agenda is one schema:Person -------------------------

_NAME = r"[A-Z][\w’'-]+(?: [A-Z][\w’'-]+)+"
_HONORIFIC = r"(?:H\.E\. )?(?:Mr|Ms|Mrs|Dr|Prof|Eng)\.? "
_NAME_PATTERNS = [
    re.compile(_HONORIFIC + f"({_NAME}),"),  # Dr. Ahmed Zakareya, Director...
    re.compile(rf"\bby ({_NAME}),"),  # introduction of speakers by Khedija Zammouri,
    re.compile(rf"(?:Chair|Moderator|Presentation|conclusion)\s*:\s*(?:{_HONORIFIC})?({_NAME}),"),
    re.compile(rf"\(({_NAME}), "),  # (Bruno Lanvin, Executive Director...
]
_CONTACT_NAME = re.compile(r"^([A-Z][a-z]+ [A-Z][a-z]+)$")
_CONTACT_LEAD = re.compile(r"^\(Seminar (?:programme|logistics)\)$|@")


def agenda_person_names(agenda) -> set[str]:
    """Personal names in the agenda text, found by how the agenda prints them: after an
    honorific, after 'by' or a role label, opening a parenthesis, or as the first line of
    a contact block (after its heading or the previous contact's e-mail)."""
    lines = [agenda.corrected_line(n) for n in range(1, len(agenda.lines) + 1)]
    flat = agenda.passage([(1, len(agenda.lines))])
    names = {m.group(1) for p in _NAME_PATTERNS for m in p.finditer(flat)}
    previous = ""
    for line in lines:
        if not line:
            continue
        m = _CONTACT_NAME.match(line)
        if m and _CONTACT_LEAD.search(previous):
            names.add(m.group(1))
        previous = line
    return names


def test_every_personal_name_in_the_agenda_is_one_person(built, data_graph):
    names = agenda_person_names(built.agenda)
    assert len(names) >= 30  # the extractor finds the agenda's people, not a few
    persons = set(data_graph.subjects(RDF.type, SCHEMA.Person))
    by_name: dict[str, list] = {}
    for p in persons:
        for n in data_graph.objects(p, SCHEMA.name):
            by_name.setdefault(str(n), []).append(p)
    not_one = {n: by_name.get(n, []) for n in names if len(by_name.get(n, [])) != 1}
    assert not_one == {}
    # ...and every Person of the graph is one of those names: nobody invented.
    assert {str(data_graph.value(p, SCHEMA.name)) for p in persons} == names


def test_one_node_per_person_and_organisation_name(data_graph):
    for cls in (SCHEMA.Person, SCHEMA.Organization, SCHEMA.GovernmentOrganization):
        names = [str(data_graph.value(s, SCHEMA.name))
                 for s in data_graph.subjects(RDF.type, cls)]
        dup = {n for n in names if names.count(n) > 1}
        # Two different ministries can share a name in two countries; nothing else may.
        allowed = {"Ministry of Finance", "Ministry of Foreign Affairs", "Ministry of Justice"}
        assert dup - allowed == set()


# -- times --------------------------------------------------------------------------

def test_times_are_datetimes_with_the_tunis_offset_of_the_day(built, data_graph, iris):
    checked = 0
    for rec in built.records.group("event"):
        if not rec.get("start_at"):
            continue
        s = iris.mint("event", rec.id)
        for prop, local in ((SCHEMA.startDate, rec.get("start")), (SCHEMA.endDate, rec.get("end"))):
            lit = data_graph.value(s, prop)
            assert lit.datatype == XSD.dateTime
            value = lit.toPython()
            expected = localize(rec.get("date"), local)
            assert value == expected
            assert value.utcoffset() == expected.utcoffset()
            checked += 1
    assert checked == 2 * 11


def test_may_2008_in_tunis_was_summer_time():
    """The offset comes from the time zone database: Tunisia kept summer time in 2008."""
    from datetime import date, time
    assert localize(date(2008, 5, 28), time(9)).utcoffset() == timedelta(hours=2)
    assert localize(date(2008, 1, 15), time(9)).utcoffset() == timedelta(hours=1)
    assert VENUE_TZ == "Africa/Tunis"


def test_seminar_spans_its_programme(data_graph, iris):
    s = iris.mint("event", "gfd-2008-tunis")
    assert str(data_graph.value(s, SCHEMA.startDate)) == "2008-05-27T19:00:00+02:00"
    assert str(data_graph.value(s, SCHEMA.endDate)) == "2008-05-28T18:30:00+02:00"


def test_programme_positions_follow_the_agenda(data_graph, iris):
    seminar = iris.mint("event", "gfd-2008-tunis")
    items = sorted(data_graph.objects(seminar, SCHEMA.subEvent),
                   key=lambda e: int(data_graph.value(e, iris.ontology.position)))
    starts = [data_graph.value(e, SCHEMA.startDate).toPython() for e in items]
    assert starts == sorted(starts) and len(items) == 11


# -- vocabulary ----------------------------------------------------------------------

def test_every_gfdo_term_the_data_uses_is_defined_in_the_ontology(data_graph, iris):
    ontology = Graph().parse(ONTOLOGY)
    defined = set(ontology.subjects(RDF.type, None))
    ns = str(iris.ontology)
    used = {t for triple in data_graph for t in triple
            if isinstance(t, URIRef) and str(t).startswith(ns)}
    assert used
    assert sorted(str(t) for t in used - defined) == []


def test_schema_org_is_the_http_namespace(data_graph):
    preds = {str(p) for p in data_graph.predicates()}
    assert any(p.startswith("http://schema.org/") for p in preds)
    assert not any(p.startswith("https://schema.org/") for p in preds)


def test_personal_contact_details_are_kept_apart(data_graph, contacts_graph):
    """Telephone, fax and e-mail of named people live in the contacts graph only."""
    persons_contacts = set(data_graph.objects(None, SCHEMA.contactPoint))
    assert len(persons_contacts) == 6
    for cp in persons_contacts:
        assert not list(data_graph.triples((cp, SCHEMA.telephone, None)))
        assert not list(data_graph.triples((cp, SCHEMA.email, None)))
        assert list(contacts_graph.triples((cp, SCHEMA.email, None)))
    emails = [o for o in data_graph.objects() if "@" in str(o)]
    assert emails == []
