"""Check the link table (``data/reference/links.csv``) against Wikidata.

The table was checked by hand, with evidence; Wikidata keeps changing: items are merged
(a redirect), deleted, relabelled, and ISO codes are corrected. This asks a SPARQL
endpoint, in one batched query, what it now says of every item the table links to, and
compares. A missing item, a redirect or an ISO 3166-1 code that differs is a *mismatch*
(the published ``schema:sameAs`` or code may be wrong), and so is a country row whose item
has no code; an English label that is none of the names the table gives is a *note*
(labels are reworded often, so the check is lenient: "Tunis (city)" accepts "Tunis",
"OECD (Organisation for ...)" either name, case and punctuation aside). A row that is not
a country may state the codes of its territory (the PNA's does): those are compared only
when the item has codes of its own.

The check is optional: it needs the network. An endpoint that cannot be reached raises
``EndpointError``, which ``is_offline_error`` recognises, so the CLI can skip the check."""

from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from urllib.error import HTTPError

from rdflib import URIRef
from rdflib.term import Node

from . import __version__
from .errors import SourceError
from .iris import WD
from .query import EndpointError, select_remote

WIKIDATA_SPARQL = "https://query.wikidata.org/sparql"
# Wikidata's User-Agent policy: name the tool, its version and where to learn about it;
# requests with a library's generic agent may be refused (HTTP 403).
USER_AGENT = (f"gfd-kg/{__version__} (https://w3id.org/gfd-kg/; link table check) "
              f"SPARQLWrapper/{version('sparqlwrapper')}")
WDT = "http://www.wikidata.org/prop/direct/"

MISMATCH, NOTE = "mismatch", "note"
FIELD_ITEM, FIELD_LABEL, FIELD_ALPHA2, FIELD_ALPHA3 = "item", "label", "alpha-2", "alpha-3"

_QID_RE = re.compile(r"^Q[1-9][0-9]*$")
# Names the table gives beside entity_label: "Q30 'United States of America'",
# "label 'Palestinian National Authority'", "aliases 'Republic of Korea', 'Korea, Rep.'".
_QUOTED = r"'[^']+'(?:\s*,\s*'[^']+')*"
_ALIASES_RE = re.compile(rf"\baliases?:?\s*\(?\s*({_QUOTED})", re.IGNORECASE)

_QUERY_VARS = ("known", "redirect", "label", "alpha2", "alpha3")
_QUERY = f"""\
PREFIX wd: <{WD}>
PREFIX wdt: <{WDT}>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX owl: <http://www.w3.org/2002/07/owl#>
SELECT ?item ?known ?redirect ?label ?alpha2 ?alpha3 WHERE {{
  VALUES ?item {{ %s }}
  BIND(EXISTS {{ ?item ?anyProperty ?anyValue }} AS ?known)
  OPTIONAL {{ ?item owl:sameAs ?redirect }}
  OPTIONAL {{ ?item rdfs:label ?label FILTER(LANG(?label) = "en") }}
  OPTIONAL {{ ?item wdt:P297 ?alpha2 }}
  OPTIONAL {{ ?item wdt:P298 ?alpha3 }}
}}
"""


@dataclass(frozen=True)
class Link:
    """One row of the link table that names a Wikidata item."""

    line: int
    qid: str
    entity: str
    kind: str
    alpha2: str
    alpha3: str
    names: tuple[str, ...]  # entity_label and the other names the row gives

    @property
    def is_country(self) -> bool:
        """A row the table files as an ISO 3166-1 country: its item must carry the codes."""
        kind = self.kind.casefold()
        return "country" in kind or "iso 3166-1" in kind


@dataclass(frozen=True)
class Finding:
    qid: str
    entity: str
    field: str
    expected: str
    found: str
    severity: str


@dataclass(frozen=True)
class Found:
    """What the endpoint says of one item."""

    known: bool = False
    redirect: str = ""
    labels: frozenset[str] = frozenset()
    alpha2: frozenset[str] = frozenset()
    alpha3: frozenset[str] = frozenset()


@dataclass(frozen=True)
class LinkReport:
    endpoint: str
    checked: int  # items asked about
    rows: tuple[Finding, ...]

    @property
    def mismatches(self) -> tuple[Finding, ...]:
        return tuple(r for r in self.rows if r.severity == MISMATCH)

    @property
    def notes(self) -> tuple[Finding, ...]:
        return tuple(r for r in self.rows if r.severity == NOTE)

    @property
    def ok(self) -> bool:
        """No mismatch (notes do not count)."""
        return not self.mismatches

    def text(self) -> str:
        m, n = len(self.mismatches), len(self.notes)
        head = (f"{self.checked} Wikidata items checked at {self.endpoint}: "
                f"{m} mismatch{'es' if m != 1 else ''}, {n} note{'s' if n != 1 else ''}")
        if not self.rows:
            return head
        qid_w = max(len(r.qid) for r in self.rows)
        ent_w = max(len(r.entity) for r in self.rows)
        lines = [head, ""]
        for r in self.rows:
            lines.append(f"{r.severity:<8}  {r.qid:<{qid_w}}  {r.entity:<{ent_w}}  "
                         f"{r.field}: table {r.expected or '(none)'}, "
                         f"Wikidata {r.found or '(none)'}")
        if m:
            lines += ["", "A mismatch means the published link or code may be wrong: check the "
                          "item on wikidata.org, then fix data/reference/links.csv and the "
                          "records that cite the row."]
        return "\n".join(lines)


def is_offline_error(e: BaseException) -> bool:
    """True when the endpoint could not be reached at all (no network, DNS, refused,
    timed out), as opposed to an endpoint that answered with an error."""
    if not isinstance(e, EndpointError):
        return False
    cause = e.__cause__  # select_remote chains the urllib / socket error it caught
    return isinstance(cause, OSError) and not isinstance(cause, HTTPError)


def read_links(links_csv: Path) -> list[Link]:
    """The rows of the link table that name a Wikidata item."""
    try:
        with links_csv.open(encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError as e:
        raise SourceError(f"{links_csv}: cannot read the link table ({e.strerror})") from e
    need = {"entity_label", "kind", "wikidata_qid", "iso3166_alpha2", "iso3166_alpha3"}
    if rows and not need <= set(rows[0]):
        missing = ", ".join(sorted(need - set(rows[0])))
        raise SourceError(f"{links_csv}:1: the link table lacks the column(s) {missing}")
    links = []
    for number, row in enumerate(rows, start=2):
        qid = (row.get("wikidata_qid") or "").strip()
        if not qid:
            continue
        if not _QID_RE.match(qid):
            raise SourceError(f"{links_csv}:{number}: wikidata_qid {qid!r} is not a Wikidata "
                              "item id; write Q followed by digits, e.g. Q948")
        entity = row["entity_label"].strip()
        notes = " ".join((row.get("other_id") or "", row.get("source_of_evidence") or ""))
        links.append(Link(number, qid, entity, row.get("kind") or "",
                          (row.get("iso3166_alpha2") or "").strip(),
                          (row.get("iso3166_alpha3") or "").strip(),
                          names_of(entity, qid, notes)))
    return links


def names_of(entity_label: str, qid: str, notes: str = "") -> tuple[str, ...]:
    """The names a row accepts as the item's label: the entity label, its part outside
    and inside brackets ("Tunis (city)" -> "Tunis"; "OECD (Organisation ...)" -> both),
    each side of " / ", and the names the row's notes quote as the item's label or
    aliases ("Q30 'United States of America'", "aliases 'Republic of Korea', ...")."""
    names = [entity_label]
    for part in [entity_label, *entity_label.split(" / ")]:
        outside = re.sub(r"\s*\([^)]*\)", "", part).strip()
        # "(OMB)", "(Organisation for ...)" are names; "(city)" is a description.
        inside = [i.strip() for i in re.findall(r"\(([^)]*)\)", part) if i.strip()[:1].isupper()]
        names += [part.strip(), outside, *inside]
    quoted = re.findall(rf"(?<![\w']){qid}\s+(?:label\s+)?({_QUOTED})", notes)
    quoted += _ALIASES_RE.findall(notes)
    for group in quoted:
        names += re.findall(r"'([^']+)'", group)
    out: list[str] = []
    for n in names:
        if n and n not in out:
            out.append(n)
    return tuple(out)


def same_name(a: str, b: str) -> bool:
    """Equal up to case, accents, punctuation and spacing ("Co-operation" = "Cooperation")."""
    return _fold(a) == _fold(b)


def _fold(s: str) -> str:
    s = unicodedata.normalize("NFKD", s).casefold().replace("&", "and")
    return "".join(c for c in s if c.isalnum() and not unicodedata.combining(c))


def ask(endpoint: str, qids: list[str], timeout: float) -> dict[str, Found]:
    """One query for all the items: what the endpoint says of each."""
    values = " ".join(f"wd:{q}" for q in qids)
    table = select_remote(endpoint, _QUERY % values, timeout=timeout, agent=USER_AGENT)
    seen: dict[str, dict[str, set[str]]] = {}
    for row in table.terms:
        cells = dict(zip(table.variables, row, strict=True))
        item = cells.get("item")
        if not isinstance(item, URIRef) or not item.startswith(WD):
            continue
        got = seen.setdefault(_qid(item), {v: set() for v in _QUERY_VARS})
        for var, found in got.items():
            term = cells.get(var)
            if term is not None:
                found.add(_qid(term) if var == "redirect" else str(term))
    return {qid: Found(known=bool(got["known"] & {"true", "1"}),
                       redirect=", ".join(sorted(got["redirect"] - {qid})),
                       labels=frozenset(got["label"]), alpha2=frozenset(got["alpha2"]),
                       alpha3=frozenset(got["alpha3"]))
            for qid, got in seen.items()}


def _qid(term: Node) -> str:
    return str(term).removeprefix(str(WD))


def compare(link: Link, found: Found | None) -> list[Finding]:
    """The differences between one row of the table and what Wikidata says."""
    def finding(field: str, expected: str, got: str, severity: str) -> Finding:
        return Finding(link.qid, link.entity, field, expected, got, severity)

    if found is None or not found.known:
        return [finding(FIELD_ITEM, link.qid, "no such item (deleted, or never existed)",
                        MISMATCH)]
    if found.redirect:
        return [finding(FIELD_ITEM, link.qid, f"redirects to {found.redirect} (merged)",
                        MISMATCH)]
    out = []
    if not any(same_name(label, name) for label in found.labels for name in link.names):
        out.append(finding(FIELD_LABEL, " or ".join(f'"{n}"' for n in link.names),
                           " or ".join(f'"{label}"' for label in sorted(found.labels)),
                           NOTE))
    for field, expected, got in ((FIELD_ALPHA2, link.alpha2, found.alpha2),
                                 (FIELD_ALPHA3, link.alpha3, found.alpha3)):
        shown = ", ".join(sorted(got))
        if expected and got and expected not in got:
            out.append(finding(field, expected, shown, MISMATCH))
        elif expected and not got and link.is_country:
            # A country's item carries its codes. Another kind of row may state the codes
            # of the territory it belongs to (the PNA's row: see its notes): not compared.
            out.append(finding(field, expected, "", MISMATCH))
        elif got and not expected:
            out.append(finding(field, "", shown, NOTE))
    return out


def check_links(links_csv: Path, endpoint: str = WIKIDATA_SPARQL,
                timeout: float = 20) -> LinkReport:
    """Compare every row of the link table that has a Wikidata item with what ``endpoint``
    says of it now. Raises ``EndpointError`` when the endpoint is down, too slow or
    answers an error (``is_offline_error`` tells the first two apart)."""
    links = read_links(links_csv)
    qids = list(dict.fromkeys(link.qid for link in links))
    if not qids:
        return LinkReport(endpoint, 0, ())
    found = ask(endpoint, qids, timeout)
    findings = [f for link in links for f in compare(link, found.get(link.qid))]
    findings.sort(key=lambda f: f.severity != MISMATCH)  # stable: table order within each
    return LinkReport(endpoint, len(qids), tuple(findings))
