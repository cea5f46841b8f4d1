"""The link table check (gfd_kg/links.py), without the internet: a real SPARQL endpoint
(`gfd-kg serve`) serves a Turtle file that answers as Wikidata does for every item of
data/reference/links.csv, with a few planted differences; the check must find exactly
those. One more test asks the real Wikidata, only with GFD_KG_ONLINE=1."""

from __future__ import annotations

import csv
import os
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from gfd_kg.links import (
    MISMATCH,
    NOTE,
    USER_AGENT,
    check_links,
    is_offline_error,
    names_of,
    same_name,
)
from gfd_kg.query import EndpointError
from gfd_kg.resources import links_csv

from .server import free_port, running_server

LINKS = links_csv()

# What Wikidata says of the table's items (English labels as on wikidata.org, a French
# label here and there that the check must ignore), except for the planted differences:
PLANTED = {
    ("Q1025", "alpha-3", MISMATCH),  # Mauritania's alpha-3 changed: MRN, not MRT
    ("Q2283", "item", MISMATCH),     # Microsoft's item is missing (deleted)
    ("Q39949", "item", MISMATCH),    # KAIST's item merged into another (a redirect)
    ("Q3572", "label", NOTE),        # Tunis (city) labelled as the governorate
}
WIKIDATA_TTL = """\
@prefix wd: <http://www.wikidata.org/entity/> .
@prefix wdt: <http://www.wikidata.org/prop/direct/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix schema: <http://schema.org/> .

wd:Q948 rdfs:label "Tunisia"@en, "Tunisie"@fr ; wdt:P297 "TN" ; wdt:P298 "TUN" .
wd:Q262 rdfs:label "Algeria"@en, "Algérie"@fr ; wdt:P297 "DZ" ; wdt:P298 "DZA" .
wd:Q398 rdfs:label "Bahrain"@en ; wdt:P297 "BH" ; wdt:P298 "BHR" .
wd:Q878 rdfs:label "United Arab Emirates"@en ; wdt:P297 "AE" ; wdt:P298 "ARE" .
wd:Q79 rdfs:label "Egypt"@en ; wdt:P297 "EG" ; wdt:P298 "EGY" .
wd:Q810 rdfs:label "Jordan"@en ; wdt:P297 "JO" ; wdt:P298 "JOR" .
wd:Q822 rdfs:label "Lebanon"@en ; wdt:P297 "LB" ; wdt:P298 "LBN" .
wd:Q1025 rdfs:label "Mauritania"@en ; wdt:P297 "MR" ; wdt:P298 "MRN" .
wd:Q1028 rdfs:label "Morocco"@en ; wdt:P297 "MA" ; wdt:P298 "MAR" .
wd:Q842 rdfs:label "Oman"@en ; wdt:P297 "OM" ; wdt:P298 "OMN" .
wd:Q42620 rdfs:label "Palestinian National Authority"@en .
wd:Q219060 rdfs:label "State of Palestine"@en ; wdt:P297 "PS" ; wdt:P298 "PSE" .
wd:Q1049 rdfs:label "Sudan"@en ; wdt:P297 "SD" ; wdt:P298 "SDN" .
wd:Q805 rdfs:label "Yemen"@en ; wdt:P297 "YE" ; wdt:P298 "YEM" .
wd:Q30 rdfs:label "United States of America"@en, "États-Unis"@fr ;
    wdt:P297 "US" ; wdt:P298 "USA" .
wd:Q884 rdfs:label "South Korea"@en ; wdt:P297 "KR" ; wdt:P298 "KOR" .
wd:Q38 rdfs:label "Italy"@en ; wdt:P297 "IT" ; wdt:P298 "ITA" .
wd:Q142 rdfs:label "France"@en ; wdt:P297 "FR" ; wdt:P298 "FRA" .
wd:Q31 rdfs:label "Belgium"@en ; wdt:P297 "BE" ; wdt:P298 "BEL" .
wd:Q35 rdfs:label "Denmark"@en ; wdt:P297 "DK" ; wdt:P298 "DNK" .
wd:Q613 rdfs:label "Emirate of Dubai"@en ; wdt:P300 "AE-DU" .
wd:Q612 rdfs:label "Dubai"@en .
wd:Q3572 rdfs:label "Tunis Governorate"@en, "Tunis"@fr .
wd:Q41550 rdfs:label "Organisation for Economic Co-operation and Development"@en, "OCDE"@fr .
wd:Q39949 owl:sameAs wd:Q4000001 .
wd:Q4000001 rdfs:label "KAIST"@en .
wd:Q284392 rdfs:label "Office of Management and Budget"@en .
"""


def _table_qids() -> list[str]:
    with LINKS.open(encoding="utf-8", newline="") as f:
        return list(dict.fromkeys(r["wikidata_qid"].strip() for r in csv.DictReader(f)
                                  if r["wikidata_qid"].strip()))


@pytest.fixture(scope="module")
def wikidata(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A SPARQL endpoint answering as Wikidata does (with the planted differences)."""
    path = tmp_path_factory.mktemp("wikidata") / "wikidata.ttl"
    path.write_text(WIKIDATA_TTL, encoding="utf-8")
    with running_server(str(path)) as base:
        yield base


def test_the_imitation_covers_every_item_of_the_table():
    covered = {line.split()[0].removeprefix("wd:") for line in WIKIDATA_TTL.splitlines()
               if line.startswith("wd:Q")}
    missing = [q for q in _table_qids() if q not in covered and q != "Q2283"]
    assert missing == [], f"links.csv has new items: add their answers to WIKIDATA_TTL {missing}"


def test_the_check_finds_exactly_the_planted_differences(wikidata):
    report = check_links(LINKS, endpoint=f"{wikidata}/sparql", timeout=10)
    assert report.checked == len(_table_qids())
    assert {(r.qid, r.field, r.severity) for r in report.rows} == PLANTED
    rows = {r.qid: r for r in report.rows}
    assert (rows["Q1025"].expected, rows["Q1025"].found) == ("MRT", "MRN")
    assert rows["Q2283"].found == "no such item (deleted, or never existed)"
    assert rows["Q39949"].found == "redirects to Q4000001 (merged)"
    assert rows["Q3572"].expected == '"Tunis (city)" or "Tunis"'
    assert rows["Q3572"].found == '"Tunis Governorate"'  # the French "Tunis" is not read
    assert not report.ok
    assert [r.severity for r in report.rows] == [MISMATCH] * 3 + [NOTE]


def test_the_report_reads_as_a_list_of_findings(wikidata):
    text = check_links(LINKS, endpoint=f"{wikidata}/sparql", timeout=10).text()
    lines = text.splitlines()
    assert lines[0] == (f"{len(_table_qids())} Wikidata items checked at {wikidata}/sparql: "
                        "3 mismatches, 1 note")
    assert any(line.startswith("mismatch") and "Q1025" in line and "Mauritania" in line
               and "alpha-3: table MRT, Wikidata MRN" in line for line in lines)
    assert any(line.startswith("note") and "Q3572" in line
               and 'Wikidata "Tunis Governorate"' in line for line in lines)
    assert "fix data/reference/links.csv" in text


def test_a_country_item_without_codes_is_a_mismatch(wikidata, tmp_path):
    table = tmp_path / "links.csv"
    table.write_text(
        "entity_label,kind,wikidata_qid,iso3166_alpha2,iso3166_alpha3\n"
        "Tunisia,country,Q3572,TN,TUN\n"  # the capital's item in a country's row
        "Tunisia,country,Q948,TN,TUN\n", encoding="utf-8")
    report = check_links(table, endpoint=f"{wikidata}/sparql", timeout=10)
    assert {(r.qid, r.field, r.expected, r.found, r.severity) for r in report.rows} == {
        ("Q3572", "label", '"Tunisia"', '"Tunis Governorate"', NOTE),
        ("Q3572", "alpha-2", "TN", "", MISMATCH),
        ("Q3572", "alpha-3", "TUN", "", MISMATCH),
    }


@pytest.mark.parametrize("label, entity, qid, notes", [
    ("Tunis", "Tunis (city)", "Q3572", ""),
    ("Organisation for Economic Co-operation and Development",
     "OECD (Organisation for Economic Co-operation and Development)", "Q41550", ""),
    ("Organisation for Economic Cooperation and Development",
     "OECD (Organisation for Economic Co-operation and Development)", "Q41550", ""),
    ("OMB", "Office of Management and Budget (OMB)", "Q284392", ""),
    ("Finansministeriet", "Ministry of Finance (Denmark) / Finansministeriet", "Q1", ""),
    ("united states of america", "United States", "Q30", "USA -> Q30 'United States of America'"),
    ("Republic of Korea", "South Korea", "Q884", "KOR -> Q884 (aliases 'Republic of Korea', 'x')"),
    ("Palestinian National Authority", "Palestinian National Authority (PNA)", "Q42620",
     "value Q42620 label 'Palestinian National Authority', description 'interim'"),
])
def test_a_label_matches_any_name_the_row_gives(label, entity, qid, notes):
    assert any(same_name(label, n) for n in names_of(entity, qid, notes))


@pytest.mark.parametrize("label, entity, qid, notes", [
    ("Emirate of Dubai", "Dubai (city)", "Q612", ""),  # the emirate is not the city
    ("city", "Dubai (city)", "Q612", ""),  # a description in brackets is not a name
    ("interim", "Palestinian National Authority (PNA)", "Q42620",
     "value Q42620 label 'Palestinian National Authority', description 'interim'"),
])
def test_a_label_that_is_not_a_name_of_the_row_does_not_match(label, entity, qid, notes):
    assert not any(same_name(label, n) for n in names_of(entity, qid, notes))


def test_only_a_quote_after_the_qid_or_after_aliases_is_a_name():
    notes = ("JSON-LD {'@type':'City','name':'Dubai','sameAs':'https://www.wikidata.org/wiki/"
             "Q612'}; travel mapping {qid:'Q612', name:'Dubai'}; distinct from Q613 (emirate)")
    assert names_of("Dubai (city)", "Q612", notes) == ("Dubai (city)", "Dubai")
    assert names_of("South Korea", "Q884", "KOR -> Q884 (aliases 'Republic of Korea', "
                    "'Korea, Rep.')") == ("South Korea", "Republic of Korea", "Korea, Rep.")


def test_an_endpoint_nobody_answers_at_is_offline_at_once():
    endpoint = f"http://127.0.0.1:{free_port()}/sparql"
    start = time.monotonic()
    with pytest.raises(EndpointError) as caught:
        check_links(LINKS, endpoint=endpoint, timeout=5)
    assert time.monotonic() - start < 5
    assert is_offline_error(caught.value)
    assert endpoint in str(caught.value)


def test_an_endpoint_that_never_answers_is_offline_after_the_timeout():
    with socket.socket() as silent:  # accepts connections (the backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        endpoint = f"http://127.0.0.1:{silent.getsockname()[1]}/sparql"
        start = time.monotonic()
        with pytest.raises(EndpointError) as caught:
            check_links(LINKS, endpoint=endpoint, timeout=1)
        assert time.monotonic() - start < 10
    assert is_offline_error(caught.value)


def test_an_endpoint_that_answers_an_error_is_not_offline(wikidata):
    with pytest.raises(EndpointError) as caught:
        check_links(LINKS, endpoint=f"{wikidata}/no-such-endpoint", timeout=10)
    assert not is_offline_error(caught.value)
    assert not is_offline_error(ValueError("not an endpoint error"))


def test_the_request_names_gfd_kg_as_its_user_agent():
    """Wikidata's policy: a client names itself. The one header is all this endpoint
    checks; it answers no rows, so every item is reported missing."""
    agents: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            agents.append(self.headers.get("User-Agent", ""))
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            body = b'{"head": {"vars": ["item"]}, "results": {"bindings": []}}'
            self.send_response(200)
            self.send_header("Content-Type", "application/sparql-results+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        report = check_links(LINKS, endpoint=f"http://127.0.0.1:{server.server_port}/sparql",
                             timeout=5)
    finally:
        server.shutdown()
        server.server_close()
    assert agents == [USER_AGENT]
    assert USER_AGENT.startswith("gfd-kg/")
    assert len(report.mismatches) == len(_table_qids())


@pytest.mark.skipif(os.environ.get("GFD_KG_ONLINE") != "1",
                    reason="asks the real Wikidata: set GFD_KG_ONLINE=1 (needs the internet)")
def test_the_link_table_agrees_with_wikidata_today():
    report = check_links(LINKS)
    assert report.checked == len(_table_qids())
    assert report.mismatches == (), report.text()


def test_cli_links_check_is_skipped_offline_with_exit_0():
    from tests.server import free_port
    from tests.test_cli import run_cli

    result = run_cli("links", "check", "--endpoint", f"http://127.0.0.1:{free_port()}/sparql",
                     "--timeout", "2")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("skipped: Wikidata's endpoint cannot be reached")
