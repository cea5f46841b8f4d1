"""Links to the world and where every fact comes from: identifiers only as the link table
verified them, and for every statement about a person the agenda line behind it."""

from __future__ import annotations

import csv
import re

from rdflib import OWL, RDF, Literal, URIRef

from gfd_kg.iris import PROV, SCHEMA, WD
from gfd_kg.model import DATA_GRAPH
from gfd_kg.query import select
from gfd_kg.resources import links_csv, queries_dir
from gfd_kg.source import normalise_space
from tests.test_fidelity import _org_names

LINKS = links_csv()


def _verified_rows() -> list[dict[str, str]]:
    with LINKS.open(encoding="utf-8", newline="") as f:
        return [r for r in csv.DictReader(f) if r["confidence"].strip().lower() != "none"
                and r["source_of_evidence"].strip()]


def test_every_country_has_both_codes_and_a_wikidata_link(data_graph, iris):
    countries = list(data_graph.subjects(RDF.type, SCHEMA.Country))
    assert len(countries) == 19
    o = iris.ontology
    for c in countries:
        assert re.fullmatch(r"[A-Z]{2}", str(data_graph.value(c, o.iso3166Alpha2))), c
        assert re.fullmatch(r"[A-Z]{3}", str(data_graph.value(c, o.iso3166Alpha3))), c
        wd = data_graph.value(c, OWL.sameAs)
        assert wd is not None and str(wd).startswith(str(WD)), c
        assert (c, SCHEMA.sameAs, wd) in data_graph


def test_no_identifier_that_the_link_table_does_not_verify(data_graph, iris):
    rows = _verified_rows()
    qids = {r["wikidata_qid"] for r in rows if r["wikidata_qid"]}
    isbns = {m for r in rows for m in re.findall(r"97[89]-[\d-]{13}", r["other_id"])}
    codes = {(r["iso3166_alpha2"], r["iso3166_alpha3"]) for r in rows if r["iso3166_alpha3"]}
    used_qids = {str(t).removeprefix(str(WD)) for triple in data_graph for t in triple
                 if isinstance(t, URIRef) and str(t).startswith(str(WD))}
    assert used_qids and used_qids <= qids
    used_isbns = {str(o) for o in data_graph.objects(None, SCHEMA.isbn)}
    assert used_isbns == {"978-92-64-04279-7"} and used_isbns <= isbns
    o = iris.ontology
    for c in data_graph.subjects(RDF.type, SCHEMA.Country):
        pair = (str(data_graph.value(c, o.iso3166Alpha2)),
                str(data_graph.value(c, o.iso3166Alpha3)))
        assert pair in codes, c


def test_modelling_cases_of_the_link_table(data_graph, iris):
    """The PNA is a government whose territory has the ISO code; the co-chair 'Dubai' is the
    emirate's government, not the city; Sudan in 2008 is noted."""
    org, place, country = (lambda k: (lambda i: iris.mint(k, i)))("organization"), \
        (lambda i: iris.mint("place", i)), (lambda i: iris.mint("country", i))
    pna = org("palestinian-national-authority")
    assert (pna, OWL.sameAs, WD.Q42620) in data_graph
    assert (pna, iris.ontology.country, country("palestinian-territory")) in data_graph
    assert (country("palestinian-territory"), OWL.sameAs, WD.Q219060) in data_graph
    assert (org("government-of-dubai"), SCHEMA.areaServed, place("emirate-of-dubai")) in data_graph
    assert (place("emirate-of-dubai"), OWL.sameAs, WD.Q613) in data_graph
    assert not any(str(t).endswith("Q612") for triple in data_graph for t in triple)
    note = data_graph.value(country("sudan"), URIRef("http://www.w3.org/2004/02/skos/core#note"))
    assert "South Sudan" in str(note)


def test_the_draft_report_and_the_published_book(data_graph, iris):
    draft = iris.mint("document", "oecd-ppp-risk-sharing-value-for-money")
    book = iris.mint("document", "oecd-ppp-risk-sharing-value-for-money-2008")
    assert (book, PROV.wasRevisionOf, draft) in data_graph
    assert str(data_graph.value(book, SCHEMA.isbn)) == "978-92-64-04279-7"
    assert data_graph.value(draft, SCHEMA.isbn) is None  # the draft has no ISBN


def test_inferred_graph_says_nothing_about_wikidata_items(reasoned, iris):
    inferred = reasoned.graph("inferred", iris)
    assert not any(isinstance(t, URIRef) and str(t).startswith(str(WD))
                   for triple in inferred for t in triple)


def test_every_statement_about_a_person_is_traced_to_its_agenda_lines(reasoned, iris):
    """For every published statement about a person, the provenance query returns agenda
    lines, and the statement's value (or the name of the thing it points to) is in them."""
    data = reasoned.graph(DATA_GRAPH, iris)
    union = data + reasoned.provenance
    query = (queries_dir() / "fact-source.rq").read_text(encoding="utf-8")
    def spans_of(node) -> list[tuple[int, int]]:
        return [(int(r[1]), int(r[2])) for r in select(union, query, {"subject": node}).rows]

    checked = 0
    for person in sorted(data.subjects(RDF.type, SCHEMA.Person)):
        spans = spans_of(person)
        assert spans, person
        for _, p, o in data.triples((person, None, None)):
            # a link is traced through both its ends: the contact point's lines hold
            # "(Seminar programme)", the person's lines the name
            text = reasoned.agenda.passage(spans + (spans_of(o) if isinstance(o, URIRef) else []))
            if p in (RDF.type, PROV.wasDerivedFrom):
                continue
            if isinstance(o, Literal):
                value = str(o)
            else:
                value = str(data.value(o, SCHEMA.name) or "")
                if not value:  # a role node: its role name is the statement's content
                    value = str(data.value(o, SCHEMA.roleName) or "")
                if not value and p == SCHEMA.contactPoint:
                    value = str(data.value(o, SCHEMA.contactType))
            if p == iris.ontology.country and value not in text:
                continue  # the country is stated on the organisation's lines, not the person's
            candidates = [value]
            org_prefix = str(iris.mint("organization", ""))
            if isinstance(o, URIRef) and str(o).startswith(org_prefix):
                # a government the agenda names by its country ("Tunisia")
                candidates = _org_names(reasoned, str(o).removeprefix(org_prefix))
            assert any(normalise_space(c).lower()[:12] in text.lower() for c in candidates), \
                (person, p, value)
            checked += 1
    assert checked > 150
