"""Records from web pages (data/records/common/sources.yaml) against the facts recorded
from each page, and their place in the graph and its provenance.

The pages' text is not stored in the repository (facts only, no sentences), so the
fidelity check is against the source table's `facts`: every text value of a record
citing a page is one of the facts of a page it cites, or part of one; every number is
written out in one; every person it names is named in one.
"""

from __future__ import annotations

import re
from datetime import date

import pytest
from rdflib import RDF, Literal, URIRef
from rdflib.namespace import DCTERMS, XSD

from gfd_kg.fidelity import copied_values
from gfd_kg.iris import PROV, SCHEMA
from gfd_kg.records import KINDS, Record

# Our own words about a record (why it means what it means), not copied from a page.
OWN_WORDS = {"constructed", "note", "delegates_from.note", "experts_from.note"}
# How the pages write the numbers the records hold: cardinals and ordinals.
NUMBER_WORDS = {4: ("fourth", "4th"), 6: ("sixth", "6th"), 7: ("seven",), 11: ("eleven",),
                23: ("twenty-three",)}
PAGES = {
    "oecd-2008-tunis-seminar-page": "http://www.oecd.org/mena/sixthhighlevelseminaronpartners"
        "hipsandframeworksforcollaborationone-governmentintunistunisia28may2008.htm",
    "oecd-2008-tunis-meeting-page": "http://www.oecd.org/mena/fourthregionalmeetingofthegfd"
        "workinggroupone-governmentandadministrativesimplificationintunistunisia29may2008.htm",
}


def _web_records(built) -> list[Record]:
    return [r for r in built.records if r.sources]


def _facts(built, rec: Record) -> list[str]:
    return [f for s in rec.sources for f in built.records.get("source", s).get("facts")]


def _ints(rec: Record):
    for name, spec in KINDS[rec.kind].fields.items():
        if spec.type == "int" and name in rec.data:
            yield name, rec.data[name]


def _persons(rec: Record):
    for p in rec.get("participants") or []:
        if "person" in p:
            yield p["person"]
    if rec.get("person"):
        yield rec.get("person")
    yield from rec.get("others") or []


def test_the_pages_are_in_the_source_table(built):
    sources = {r.id: r for r in built.records.of_kind("sources")}
    assert {i: r.get("url") for i, r in sources.items()} == PAGES
    assert {r.get("read") for r in sources.values()} == {date(2026, 12, 1)}


def test_there_are_records_from_each_page(built):
    cited = {s for r in _web_records(built) for s in r.sources}
    assert cited == set(PAGES)
    assert {r.kind for r in _web_records(built)} == {
        "series", "reports", "meetings", "positions", "participations"}


def test_a_record_cites_lines_or_pages_never_both(built):
    both = [r.id for r in built.records if r.sources and "lines" in r.data]
    neither = [r.id for r in built.records if not r.sources and "lines" not in r.data
               and r.kind != "sources"]
    assert (both, neither) == ([], [])


@pytest.mark.parametrize("kind", ["series", "reports", "meetings", "positions",
                                  "participations"])
def test_every_text_value_is_a_fact_of_its_pages(built, kind):
    missing = []
    for rec in built.records.of_kind(kind):
        facts = _facts(built, rec)
        for name, value in copied_values(rec):
            if name in OWN_WORDS or (name == "name" and rec.get("constructed")):
                continue  # a constructed name says why in `constructed`
            if not any(value in f for f in facts):
                missing.append((rec.id, name, value))
    assert missing == []


def test_every_number_is_written_in_a_fact_of_its_pages(built):
    missing = []
    for rec in _web_records(built):
        facts = " | ".join(_facts(built, rec)).lower()
        for name, n in _ints(rec):
            if not any(w in facts for w in NUMBER_WORDS[n]):
                missing.append((rec.id, name, n))
    assert missing == []


def test_every_day_is_a_fact_of_its_pages(built):
    for rec in built.records.of_kind("meetings"):
        day = rec.get("day")
        assert f"{day.day} {day:%B %Y}" in _facts(built, rec), rec.id


def test_every_person_named_is_named_in_its_pages(built):
    missing = []
    for rec in _web_records(built):
        facts = _facts(built, rec)
        for person in _persons(rec):
            name = built.records.get("person", person).get("name")
            if not any(name in f for f in facts):
                missing.append((rec.id, name))
    assert missing == []


def test_facts_are_names_numbers_and_titles_not_sentences(built):
    sentences = []
    for rec in built.records.of_kind("sources"):
        for fact in rec.get("facts"):
            words = fact.split()
            bare = re.sub(r"\b(?:Mr|Mrs|Ms|Dr|Prof|Eng)\. ", "", fact)
            if len(words) > 16 or "." in bare:
                sentences.append((rec.id, fact))
    assert sentences == []


def test_the_listed_countries_are_as_many_as_the_pages_count(built):
    for rec in built.records.of_kind("participations"):
        assert len(rec.get("delegates_from")) == rec.get("delegate_countries")
        # seven experts from six countries: at most one country per expert
        assert len(rec.get("experts_from")) <= rec.get("experts")


# -- in the graph -----------------------------------------------------------------------


def test_the_pages_are_web_pages_with_url_title_and_read_date(built, data_graph, iris):
    for rec in built.records.of_kind("sources"):
        page = iris.source(rec.id)
        assert (page, RDF.type, SCHEMA.WebPage) in data_graph
        assert data_graph.value(page, SCHEMA.url) == URIRef(rec.get("url"))
        assert data_graph.value(page, DCTERMS.title) == Literal(rec.get("title"), lang="en")
        assert data_graph.value(page, DCTERMS.date) == Literal("2026-12-01", datatype=XSD.date)


def test_what_a_page_reports_is_derived_from_it(built, iris):
    provenance = built.provenance
    for page_id in PAGES:
        assert (iris.source(page_id), RDF.type, PROV.Entity) in provenance
    seminar = iris.mint("event", "gfd-2008-tunis")
    meeting = iris.mint("event", "wg-egovernment-2008-tunis")
    derived = set(provenance.objects(seminar, PROV.wasDerivedFrom))
    assert iris.source("oecd-2008-tunis-seminar-page") in derived
    assert iris.line_span("gfd-2008-tunis-agenda", 1, 25) in derived  # and the agenda
    assert set(provenance.objects(meeting, PROV.wasDerivedFrom)) == {
        iris.source(p) for p in PAGES}


def test_the_meeting_is_chaired_by_the_agendas_people(data_graph, iris):
    """The same person nodes as the agenda's, each with the position the pages give as
    of the meeting."""
    o = iris.ontology
    meeting = iris.mint("event", "wg-egovernment-2008-tunis")
    chairs = {}
    for role in data_graph.objects(meeting, SCHEMA.organizer):
        kind = data_graph.value(role, o.roleKind)
        if kind is not None:
            chairs.setdefault(str(kind).removeprefix(str(o)), set()).add(
                data_graph.value(role, SCHEMA.organizer))

    def person(ident: str) -> URIRef:
        return iris.mint("person", ident)

    assert chairs == {"ChairRole": {person("salem-al-shair")},
                      "CoChairRole": {person("vincenzo-schioppa"), person("byung-chun-kim")}}
    # Salem Al Shair moderates Session 3 in the agenda: one node for both events
    session_3 = iris.mint("event", "gfd-2008-tunis/session-3")
    assert person("salem-al-shair") in set(data_graph.objects(session_3, SCHEMA.performer))
    titles = {(str(data_graph.value(role, SCHEMA.roleName)), p)
              for p in map(person, ("salem-al-shair", "vincenzo-schioppa", "byung-chun-kim"))
              for role in data_graph.objects(p, SCHEMA.affiliation)
              if (role, o.asOfEvent, meeting) in data_graph}
    assert titles == {("Director", person("salem-al-shair")),
                      ("Minister Plenipotentiary", person("vincenzo-schioppa")),
                      ("Associate Dean and CIO", person("byung-chun-kim")),
                      ("Director", person("byung-chun-kim"))}


def test_the_series_and_their_numbers(data_graph, iris):
    o = iris.ontology
    seminar = iris.mint("event", "gfd-2008-tunis")
    meeting = iris.mint("event", "wg-egovernment-2008-tunis")
    wg = iris.mint("organization", "wg-egovernment")
    seminars = iris.mint("series", "wg-egovernment-high-level-seminars")
    meetings = iris.mint("series", "wg-egovernment-regional-meetings")
    assert data_graph.value(seminar, o.inSeries) == seminars
    assert data_graph.value(seminar, o.seriesNumber) == Literal(6)
    assert data_graph.value(meeting, o.inSeries) == meetings
    assert data_graph.value(meeting, o.numberInSeries) == Literal(4, datatype=XSD.integer)
    for series in (seminars, meetings):
        assert (series, RDF.type, SCHEMA.EventSeries) in data_graph
        assert data_graph.value(series, SCHEMA.organizer) == wg
    assert (meeting, o.follows, seminar) in data_graph
    assert (seminar, o.followedBy, meeting) in data_graph


def test_the_reported_participation_is_apart_from_the_plan(data_graph, iris):
    o = iris.ontology
    part = iris.mint("participation", "gfd-2008-tunis-and-wg-meeting")
    assert set(data_graph.objects(part, o.reportedFor)) == {
        iris.mint("event", "gfd-2008-tunis"), iris.mint("event", "wg-egovernment-2008-tunis")}
    counts = {p: data_graph.value(part, o[p]).toPython()
              for p in ("delegateCount", "statedCountryCount", "expertCount")}
    assert counts == {"delegateCount": 23, "statedCountryCount": 11, "expertCount": 7}
    entries = sorted(
        (int(data_graph.value(e, o.position)), str(data_graph.value(e, SCHEMA.name)),
         str(data_graph.value(e, o.denotes)).removeprefix(iris.base))
        for e in data_graph.objects(part, o.delegateEntry))
    assert entries[2] == (3, "Dubai", "place/emirate-of-dubai")
    assert entries[8] == (9, "Palestinian National Authority", "country/palestinian-territory")
    assert [name for _, name, _ in entries] == [
        "Algeria", "Bahrain", "Dubai", "Egypt", "Jordan", "Lebanon", "Morocco", "Oman",
        "Palestinian National Authority", "Tunisia", "Yemen"]
    assert len(list(data_graph.objects(part, o.expertEntry))) == 6
    assert set(data_graph.objects(part, SCHEMA.attendee)) == {
        iris.mint("person", "bruno-lanvin")}
    # nothing of it is an agenda role of the seminar
    assert (iris.mint("event", "gfd-2008-tunis"), SCHEMA.attendee, None) not in data_graph


def test_one_property_numbers_both_series_once_reasoned(reasoned, iris):
    """gfdo:seriesNumber is a gfdo:numberInSeries: OWL RL gives the seminar its number
    under the property the meeting has, so a query of the series needs only one."""
    from gfd_kg.model import INFERRED_GRAPH

    inferred = reasoned.graph(INFERRED_GRAPH, iris)
    seminar = iris.mint("event", "gfd-2008-tunis")
    assert inferred.value(seminar, iris.ontology.numberInSeries) == Literal(6)


def test_what_a_page_adds_to_an_agenda_node_is_a_statement_derived_from_it(built, iris):
    """The seminar node comes from the agenda and from the seminar's page: each statement
    the page adds says so itself; the agenda's statements have none."""
    g = built.provenance
    sourced = {(g.value(st, RDF.subject), g.value(st, RDF.predicate), g.value(st, RDF.object)):
               set(g.objects(st, PROV.wasDerivedFrom))
               for st in g.subjects(RDF.type, RDF.Statement)}
    seminar = iris.mint("event", "gfd-2008-tunis")
    page = {iris.source("oecd-2008-tunis-seminar-page")}
    o = iris.ontology
    assert {(p, x): pages for (s, p, x), pages in sourced.items() if s == seminar} == {
        (SCHEMA.eventStatus, SCHEMA.EventScheduled): page,
        (SCHEMA.subjectOf, iris.source("oecd-2008-tunis-seminar-page")): page,
        (o.invitedBy, iris.mint("organization", "tn-prime-ministers-office")): page,
        (o.inCollaborationWith, iris.mint("organization", "oecd")): page,
        (o.followedBy, iris.mint("event", "wg-egovernment-2008-tunis")): page,
    }
    kim = iris.mint("person", "byung-chun-kim")
    assert {x for (s, _p, x) in sourced if s == kim} == {
        iris.mint("role", "byung-chun-kim/at-wg-egovernment-2008-tunis-1"),
        iris.mint("role", "byung-chun-kim/at-wg-egovernment-2008-tunis-2")}
    assert len(sourced) == 9


def test_planned_versus_reported_answers_the_other_way_round_too(data_graph, iris):
    """The pages list no country the programme lacks, so the real answer has no row of
    that side: a country added to the report (Qatar, on neither list) shows it."""
    from rdflib import Graph

    from gfd_kg.query import load_query, select
    from gfd_kg.resources import queries_dir

    o = iris.ontology
    g = Graph()
    for triple in data_graph:
        g.add(triple)
    part = iris.mint("participation", "gfd-2008-tunis-and-wg-meeting")
    entry, qatar = iris.mint("participation", "test/1"), iris.mint("country", "qatar")
    g.add((part, o.delegateEntry, entry))
    g.add((entry, o.denotes, qatar))
    g.add((qatar, RDF.type, SCHEMA.Country))
    g.add((qatar, SCHEMA.name, Literal("Qatar")))
    g.add((qatar, o.iso3166Alpha3, Literal("QAT")))
    table = select(g, load_query(queries_dir() / "planned-versus-reported.rq").text)
    rows = [(str(r[1]), str(r[3])) for r in table.rows]
    assert rows == [("in the report, not on the programme", "Qatar"),
                    ("on the programme, not in the report", "Mauritania"),
                    ("on the programme, not in the report", "Sudan")]
