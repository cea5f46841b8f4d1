"""Every published fact is in the agenda lines it cites, read with the corrections list;
nothing published carries an OCR artefact; every correction is needed and applies."""

from __future__ import annotations

import re

import pytest
from rdflib import RDF, Literal

from gfd_kg.fidelity import copied_values, read_link_rows, unfaithful
from gfd_kg.resources import links_csv

LINKS = links_csv()

ROLE_WORDS = {
    "chair": "chair", "co-chair": "co-chairs", "moderator": "moderator",
    "keynote-speaker": "keynote", "speaker": "interventions",
    "tour-de-table-participant": "tour de table", "opening-remarks": "opening remarks",
    "wrap-up": "wrap up", "final-remarks": "final remarks",
}


def test_every_copied_value_is_in_its_cited_lines(built):
    """The build's own check (gfd_kg/fidelity.py), on the real seminar; the bad-input
    fixtures text-not-in-lines, uncorrected-text and position-not-in-lines fail it."""
    assert unfaithful(built.records, built.agenda, read_link_rows(LINKS)) == []


def test_the_check_sees_every_kind_of_copied_text(built):
    """Names, alternate names, descriptions, notes, job titles, URLs, e-mail addresses and
    durations all go through it."""
    seen = {name for rec in built.records for name, _ in copied_values(rec)}
    assert {"name", "alternate_names", "description", "note", "positions.title", "url",
            "email", "duration", "text", "memberships.role"} <= seen


def test_reference_rows_exist(built):
    links = read_link_rows(LINKS)
    unknown = [(r.id, r.get("reference")) for r in built.records
               if r.get("reference") and r.get("reference") not in links]
    assert unknown == []


def test_wikidata_and_iso_codes_come_from_the_link_table(built):
    links = read_link_rows(LINKS)
    wrong = []
    for rec in built.records:
        for name in ("wikidata", "iso_alpha2", "iso_alpha3"):
            cited = links.get(rec.get("reference"), "")
            if rec.get(name) and not re.search(rf"\b{rec.get(name)}\b", cited):
                wrong.append((rec.id, name, rec.get(name)))
    assert wrong == []


def test_times_and_dates_are_in_their_cited_lines(built):
    missing = []
    for rec in built.group_events if False else built.records.group("event"):
        if not rec.get("start_at"):
            continue
        passage = built.agenda.passage(rec.spans)
        day = rec.get("date")
        for shown in (f"{rec.get('start'):%H:%M}", f"{rec.get('end'):%H:%M}",
                      f"{day.day} {day:%B %Y}"):
            if shown not in passage:
                missing.append((rec.id, shown))
    assert missing == []


def _org_names(built, org_id: str) -> list[str]:
    """An organisation's names; for a government the agenda names by its country or
    area only, those names."""
    org = built.records.get("organization", org_id)
    if not org.get("constructed"):
        return [org.get("name"), *org.get("alternate_names", [])]
    names = []
    for group, ident in (("country", org.get("country")), ("place", org.get("area_served"))):
        if ident:
            r = built.records.get(group, ident)
            names += [r.get("name"), *r.get("alternate_names", [])]
    return names


def test_participants_are_named_in_their_lines(built):
    """A role is cited where the agenda gives it: the agent's name in the participant's
    own lines (or the record's), the role's word in the record's lines."""
    wrong = []
    for rec in built.records.group("event"):
        if not rec.from_agenda:  # from a web page: tests/test_web_sources.py
            continue
        record_passage = built.agenda.passage(rec.spans).lower()
        for p in rec.get("participants") or []:
            spans = p.get("lines") or rec.spans
            passage = built.agenda.passage(spans)
            if "person" in p:
                name = built.records.get("person", p["person"]).get("name")
                names = [name]
            else:
                names = _org_names(built, p["organization"])
            if not any(n in passage for n in names):
                wrong.append((rec.id, p["role"], names, "name not in lines"))
            word = ROLE_WORDS.get(p["role"])
            if word and word not in record_passage:
                wrong.append((rec.id, p["role"], word, "role not in record lines"))
    assert wrong == []


ARTEFACTS = {
    "OCR l/I in CIO": re.compile(r"ClO"),
    "OCR I' for l'": re.compile(r"\bI'[A-Z]"),
    "cent sign for a dash": re.compile(r"¢"),
    "superscript read as a quote": re.compile(r"\d\""),
    "misspelt General": re.compile(r"Genaral"),
    "misspelt Wrap": re.compile(r"Worap"),
    "em dash in a compound": re.compile(r"\w—\w"),
    "space before a colon": re.compile(r"\w :"),
    "bullet read as e": re.compile(r"^e ", re.M),
    "broken hyphenation": re.compile(r"[A-Za-z]- [a-zA-Z]"),
    "line break": re.compile(r"(?<!\n)\n(?!\n)|\n{3,}"),
    "double space": re.compile(r"  "),
    "untrimmed": re.compile(r"^\s|\s$"),
    "plus read as 4": re.compile(r"(?<![+\d])4216"),
}


@pytest.mark.parametrize("label", sorted(ARTEFACTS))
def test_no_published_literal_carries_an_artefact(label, built, data_graph, contacts_graph, iris):
    pattern = ARTEFACTS[label]
    # rdf:value and gfdo:originalText quote the source as printed, on purpose
    quoting = {RDF.value, iris.ontology.originalText}
    literals = {o for g in (data_graph, contacts_graph) for _s, p, o in g
                if isinstance(o, Literal) and o.datatype is None and p not in quoting}
    assert literals, "the graph has plain literals to check"
    assert [str(lit) for lit in literals if pattern.search(str(lit))] == []


@pytest.mark.parametrize("label", ["OCR l/I in CIO", "OCR I' for l'", "cent sign for a dash",
                                   "superscript read as a quote", "misspelt General",
                                   "misspelt Wrap", "em dash in a compound", "bullet read as e",
                                   "plus read as 4"])
def test_each_artefact_pattern_does_occur_in_the_raw_agenda(label, built):
    """The artefact checks above look for things that are really in the source."""
    raw = "\n".join(built.agenda.lines)
    assert ARTEFACTS[label].search(raw)


def test_every_correction_is_on_a_cited_line(built):
    cited = {n for rec in built.records for a, b in rec.spans for n in range(a, b + 1)}
    assert [c for c in built.agenda.corrections if c.line not in cited] == []


def test_corrections_have_known_kinds_and_reasons(built):
    assert built.agenda.corrections
    for c in built.agenda.corrections:
        assert c.kind in {"ocr", "layout", "typo", "normalise"}, c
        assert len(c.reason) > 20, c
        assert c.original != c.corrected


def test_countries_whose_experience_is_presented_are_named_in_the_lines(built):
    """An item presents a country's experience only where its lines name the country (or
    an organisation of that country, as "PNA")."""
    wrong = []
    for rec in built.records.group("event"):
        passage = built.agenda.passage(rec.spans)
        for country_id in rec.get("experience_of") or []:
            country = built.records.get("country", country_id)
            names = [country.get("name"), *country.get("alternate_names", [])]
            names += [n for org in built.records.group("organization")
                      if org.get("country") == country_id
                      for n in [org.get("name"), *org.get("alternate_names", [])]]
            if not any(re.search(rf"\b{re.escape(n)}\b", passage) for n in names):
                wrong.append((rec.id, country_id))
    assert wrong == []
