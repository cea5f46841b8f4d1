"""Source records: the curated YAML files in ``data/records/`` -> checked ``Record``s.

A record file is a mapping from a kind (``persons``, ``events``...) to a list of
records. Every record has an ``id`` and cites the agenda ``lines`` it comes from. The
field table ``KINDS`` says, per kind, which fields exist, their type, which are required
and which other records they refer to; ``load_records`` checks all of it and reports
every problem at once, each with its file, line and record id.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from .errors import Problem, RecordsError
from .source import LineSpan, parse_spans
from .times import localize, parse_duration, parse_time

ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*(?:/[a-z0-9]+(?:-[a-z0-9]+)*)*$")
_URL_RE = re.compile(r"^https?://[^\s<>\"]+$")
_EMAIL_RE = re.compile(r"^[^\s@<>]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")
_QID_RE = re.compile(r"^Q[1-9]\d*$")
_CONCEPT_RE = re.compile(r"^[A-Z][A-Za-z0-9]*$")

ROLES = (
    "chair", "co-chair", "moderator", "keynote-speaker", "presenter", "speaker",
    "tour-de-table-participant", "opening-remarks", "wrap-up", "final-remarks",
)
EVENT_TYPES = (
    "Reception", "Registration", "OpeningSession", "Session", "Break", "Meal",
    "ClosingSession", "TourDeTable", "Discussion", "Talk", "Keynote", "CaseStudy",
)
ORG_TYPES = (
    "Government", "Ministry", "Agency", "Directorate", "Unit", "InternationalOrganisation",
    "Initiative", "WorkingGroup", "Organization", "Corporation", "CollegeOrUniversity",
)
PLACE_TYPES = ("City", "AdministrativeArea", "Place", "Hotel")
DOCUMENT_TYPES = ("CreativeWork", "Report", "Book")
# schema.org's EventStatusType values: what a source reports of an event
EVENT_STATUSES = ("EventScheduled", "EventCancelled", "EventPostponed", "EventRescheduled",
                  "EventMovedOnline")


@dataclass(frozen=True)
class F:
    """One field of a kind: its type, whether it is required, what it refers to."""

    type: str
    required: bool = False
    ref: str | None = None
    choices: tuple[str, ...] = ()
    items: Mapping[str, F] | None = None


# What an event is about, as concepts of the ontology's schemes (checked against
# ontology/gfd.ttl when the graph is built) and the countries whose experience it presents.
_ANNOTATIONS = {
    "arrangements": F("concepts"), "forms": F("concepts"), "drivers": F("concepts"),
    "challenges": F("concepts"), "application_areas": F("concepts"),
    "experience_of": F("refs", ref="country"),
}

# A record from a web page (sources.yaml) cites it with ``source`` and has no ``lines``.
_SOURCE = F("refs", True, ref="source")
_HOST = {"organization": F("ref", True, ref="organization"), "named": F("text", True)}
_LISTED = {"named": F("text", True), "country": F("ref", ref="country"),
           "place": F("ref", ref="place"), "note": F("text")}

_PARTICIPANT = {
    "person": F("ref", ref="person"),
    "organization": F("ref", ref="organization"),
    "role": F("choice", required=True, choices=ROLES),
    "tbc": F("bool"),
    "lines": F("lines"),
}


@dataclass(frozen=True)
class Kind:
    key: str  # the top-level key in a record file
    group: str  # the namespace of its ids; also what a reference names
    fields: Mapping[str, F]


KINDS: dict[str, Kind] = {
    k.key: k
    for k in (
        Kind("countries", "country", {
            "name": F("text", True), "alternate_names": F("texts"),
            "iso_alpha2": F("code2", True), "iso_alpha3": F("code3", True),
            "wikidata": F("qid"), "reference": F("text"), "note": F("text"),
            "lines": F("lines", True),
        }),
        Kind("places", "place", {
            "type": F("choice", True, choices=PLACE_TYPES), "name": F("text", True),
            "alternate_names": F("texts"), "street": F("text"), "postal_code": F("text"),
            "locality": F("text"), "country": F("ref", ref="country"),
            "contained_in": F("ref", ref="place"), "telephone": F("texts"),
            "fax": F("texts"), "url": F("url"), "wikidata": F("qid"),
            "reference": F("text"), "lines": F("lines", True),
        }),
        Kind("organizations", "organization", {
            "type": F("choice", True, choices=ORG_TYPES), "name": F("text", True),
            "alternate_names": F("texts"), "constructed": F("text"),
            "parent": F("ref", ref="organization"), "country": F("ref", ref="country"),
            "area_served": F("ref", ref="place"), "url": F("url"), "wikidata": F("qid"),
            "reference": F("text"), "lines": F("lines", True),
        }),
        Kind("persons", "person", {
            "name": F("text", True), "honorific": F("text"),
            "positions": F("items", True, items={
                "title": F("text"), "organization": F("ref", True, ref="organization"),
            }),
            "memberships": F("items", items={
                "organization": F("ref", True, ref="organization"), "role": F("text", True),
            }),
            "work_location": F("ref", ref="place"), "lines": F("lines", True),
        }),
        Kind("seminars", "event", {
            "name": F("text", True), "constructed": F("text"),
            "series_number": F("int", True),
            "organizer": F("ref", True, ref="organization"),
            "working_group": F("ref", ref="organization"),
            "location": F("ref", True, ref="place"), "description": F("text"),
            "participants": F("items", items=_PARTICIPANT), "lines": F("lines", True),
            "series": F("ref", ref="series"),
        }),
        Kind("events", "event", {
            "type": F("choice", True, choices=EVENT_TYPES), "name": F("text", True),
            "number": F("int"), "alternate_names": F("texts"),
            "parent": F("ref", True, ref="event"), "date": F("date"), "start": F("time"),
            "end": F("time"), "location": F("ref", ref="place"), "description": F("text"),
            "duration": F("duration"), "tbc": F("bool"),
            "participants": F("items", items=_PARTICIPANT), "lines": F("lines", True),
            **_ANNOTATIONS,
        }),
        Kind("talks", "event", {
            "type": F("choice", True, choices=EVENT_TYPES), "name": F("text", True),
            "number": F("int"), "alternate_names": F("texts"),
            "parent": F("ref", True, ref="event"), "description": F("text"),
            "duration": F("duration"), "tbc": F("bool"),
            "participants": F("items", items=_PARTICIPANT), "lines": F("lines", True),
            **_ANNOTATIONS,
        }),
        Kind("questions", "question", {
            "event": F("ref", True, ref="event"), "text": F("text", True),
            "heading": F("text"), "lines": F("lines", True),
        }),
        Kind("documents", "document", {
            "type": F("choice", True, choices=DOCUMENT_TYPES), "name": F("text", True),
            "number": F("text"), "status": F("text"), "description": F("text"),
            "about": F("ref", ref="event"), "publisher": F("ref", ref="organization"),
            "background_for": F("refs", ref="event"), "isbn": F("isbn"),
            "year_published": F("int"), "revision_of": F("ref", ref="document"),
            "reference": F("text"), "lines": F("lines", True),
        }),
        Kind("contacts", "contact", {
            "person": F("ref", True, ref="person"), "event": F("ref", True, ref="event"),
            "contact_type": F("text", True), "telephone": F("texts"), "fax": F("texts"),
            "email": F("email"), "lines": F("lines", True),
        }),
        # What web pages report (records citing a ``source``, never ``lines``).
        Kind("sources", "source", {
            "url": F("url", True), "title": F("text", True), "read": F("date", True),
            "publisher": F("ref", ref="organization"), "supports": F("text", True),
            "facts": F("texts", True),
        }),
        Kind("series", "series", {
            "name": F("text", True), "constructed": F("text"),
            "organizer": F("ref", True, ref="organization"), "source": _SOURCE,
        }),
        Kind("meetings", "event", {
            "name": F("text", True), "series": F("ref", True, ref="series"),
            "series_number": F("int", True), "day": F("date", True),
            "location": F("ref", True, ref="place"), "follows": F("ref", ref="event"),
            "status": F("choice", choices=EVENT_STATUSES), "page": F("ref", ref="source"),
            "hosts": F("items", items=_HOST), "collaborator": F("ref", ref="organization"),
            "participants": F("items", items=_PARTICIPANT), "source": _SOURCE,
        }),
        Kind("reports", "report", {
            "event": F("ref", True, ref="event"), "status": F("choice", choices=EVENT_STATUSES),
            "page": F("ref", ref="source"), "hosts": F("items", items=_HOST),
            "collaborator": F("ref", ref="organization"),
            "followed_by": F("ref", ref="event"), "source": _SOURCE,
        }),
        Kind("positions", "role", {
            "person": F("ref", True, ref="person"), "event": F("ref", True, ref="event"),
            "title": F("text", True), "organization": F("ref", True, ref="organization"),
            "named": F("text"), "source": _SOURCE,
        }),
        Kind("participations", "participation", {
            "events": F("refs", True, ref="event"), "delegates": F("int"),
            "delegate_countries": F("int"), "delegates_from": F("items", items=_LISTED),
            "experts": F("int"), "experts_from": F("items", items=_LISTED),
            "others": F("refs", ref="person"), "note": F("text"), "source": _SOURCE,
        }),
    )
}


@dataclass
class Record:
    """One checked record. ``data`` holds the field values, converted to Python types
    (lines -> spans, date -> date, start/end -> aware datetimes)."""

    kind: str
    group: str
    id: str
    data: dict[str, Any]
    file: Path
    line: int
    order: int  # position among the records of its file, from 0
    field_lines: dict[str, int] = field(default_factory=dict)  # the line of each field

    def get(self, name: str, default: Any = None) -> Any:
        return self.data.get(name, default)

    @property
    def spans(self) -> list[LineSpan]:
        """The agenda lines it cites; none for a record from a web page."""
        return self.data.get("lines", [])

    @property
    def from_agenda(self) -> bool:
        """Whether it cites agenda lines; a source, or a record citing one, does not."""
        return "lines" in self.data

    @property
    def sources(self) -> list[str]:
        """The web sources (sources.yaml) it cites instead of agenda lines."""
        return self.data.get("source", [])


@dataclass
class Records:
    """All records, indexed by group and id."""

    by_group: dict[str, dict[str, Record]] = field(default_factory=dict)

    def __iter__(self):
        for group in sorted(self.by_group):
            yield from self.by_group[group].values()

    def __len__(self) -> int:
        return sum(len(v) for v in self.by_group.values())

    def group(self, name: str) -> list[Record]:
        return list(self.by_group.get(name, {}).values())

    def of_kind(self, kind: str) -> list[Record]:
        return [r for r in self if r.kind == kind]

    def get(self, group: str, ident: str) -> Record:
        return self.by_group[group][ident]


class _LineLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """A safe loader whose mappings remember the line they start on; libyaml's parser
    when PyYAML has it (seven times faster on a large corpus), with the same marks."""


_Key = str | int | float | bool | None  # what a YAML key may be here (checked on load)


class _LineDict(dict[_Key, Any]):
    line: int = 0
    key_lines: dict[_Key, int]


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> _LineDict:
    loader.flatten_mapping(node)
    result = _LineDict()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, (str, int, float, bool)) and key is not None:
            raise yaml.constructor.ConstructorError(
                None, None, "a key must be a plain name, not a list or a mapping",
                key_node.start_mark)
        if key in result:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = key_node.start_mark.line + 1
    return result


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def record_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.yaml") if p.is_file())


COMMON = "common"  # records/common/: shared by every seminar (countries, organisations...)


def partition(records: Records, root: Path) -> list[tuple[str, Records]]:
    """The records split into seminars, each given with the common records (those in
    ``common/`` and any file at the top of ``root``). A seminar is a connected group of
    the other records: records that name each other, directly or through others, are
    in one seminar (a seminar's events, talks, people and documents), and no record names
    a record of another seminar. So the shapes and the OWL RL rules, whose every join
    follows such links, see the same triples about a seminar's resources in its part as
    in the whole graph. Common records may not name a seminar's: a reference from
    ``common/`` would tie every seminar into one. Named after the folder of their first
    record, in file order."""
    def folder(rec: Record) -> str:
        parts = rec.file.relative_to(root).parts
        return parts[0] if len(parts) > 1 and parts[0] != COMMON else COMMON

    key = {(rec.group, rec.id): rec for rec in records}
    common = {k for k, rec in key.items() if folder(rec) == COMMON}
    parent = {k: k for k in key if k not in common}

    def find(k: tuple[str, str]) -> tuple[str, str]:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    problems = []
    for rec in records:
        here = (rec.group, rec.id)
        for fname, group, target in _refs_of(rec):
            there = (group, target)
            if there in common or there not in key:
                continue
            if here in common:
                problems.append(Problem(rec.file, rec.line, rec.id,
                    f"{fname} names {group} {target!r}, a record of a seminar: common records "
                    f"may name only common records; move {target!r} to {COMMON}/ or the "
                    f"reference out of {COMMON}/"))
                continue
            a, b = find(here), find(there)
            if a != b:
                parent[max(a, b)] = min(a, b)
    if problems:
        raise RecordsError(problems)
    groups: dict[tuple[str, str], list[Record]] = {}
    for rec in sorted((key[k] for k in parent), key=lambda r: (r.file, r.order)):
        groups.setdefault(find((rec.group, rec.id)), []).append(rec)
    if not groups:
        return [(COMMON, records)]
    shared = [key[k] for k in common]
    out = []
    for members in sorted(groups.values(), key=lambda m: (m[0].file, m[0].order)):
        part = Records()
        for rec in sorted(shared + members, key=lambda r: (r.file, r.order)):
            part.by_group.setdefault(rec.group, {})[rec.id] = rec
        out.append((folder(members[0]), part))
    names = [name for name, _ in out]
    return [(name if names.count(name) == 1 else f"{name}#{names[:i].count(name) + 1}", part)
            for i, (name, part) in enumerate(out)]


def load_records(root: Path, agenda_line_count: int | None = None) -> Records:
    """Read and check every record file below ``root``; raise ``RecordsError`` listing
    every problem found."""
    problems: list[Problem] = []
    raw: list[tuple[Kind, _LineDict, Path, int]] = []
    files = record_files(root)
    if not files:
        raise RecordsError([Problem(root, None, None, "no record files (*.yaml) found here")])
    for path in files:
        raw.extend(_read_file(path, problems))

    records = Records()
    for kind, item, path, order in raw:
        rec = _check_record(kind, item, path, order, problems, agenda_line_count)
        if rec is None:
            continue
        bucket = records.by_group.setdefault(kind.group, {})
        if rec.id in bucket:
            first = bucket[rec.id]
            problems.append(Problem(path, rec.line, rec.id,
                f"duplicate id: {kind.group} {rec.id!r} is already defined at "
                f"{first.file}:{first.line}; give one of them another id"))
            continue
        bucket[rec.id] = rec

    _check_references(records, problems)
    _check_hierarchies(records, problems)
    if problems:
        raise RecordsError(problems)
    return records


def _read_file(path: Path, problems: list[Problem]) -> list[tuple[Kind, _LineDict, Path, int]]:
    try:
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=_LineLoader)
    except UnicodeDecodeError as e:
        problems.append(Problem(path, None, None, f"not UTF-8 text ({e.reason}); save it as UTF-8"))
        return []
    except yaml.MarkedYAMLError as e:
        line = e.problem_mark.line + 1 if e.problem_mark else None
        problems.append(Problem(path, line, None,
            f"malformed YAML: {e.problem or e}; fix the syntax near this line"))
        return []
    except yaml.YAMLError as e:
        problems.append(Problem(path, None, None, f"malformed YAML: {e}"))
        return []
    except Exception as e:  # PyYAML's constructors raise what they raise
        # (a date like 2008-02-30, "!!bool maybe", nesting too deep for the parser)
        problems.append(Problem(path, None, None,
            f"a value cannot be read ({type(e).__name__}: {str(e)[:200]}); fix it: dates are "
            "YYYY-MM-DD and must exist, and YAML tags (!!...) are not used in record files"))
        return []
    if doc is None:
        return []
    if not isinstance(doc, _LineDict):  # _LineLoader makes every mapping one
        problems.append(Problem(path, 1, None,
            f"a record file is a mapping from a kind ({', '.join(KINDS)}) to a list of records"))
        return []
    out = []
    for key, items in doc.items():
        line = doc.key_lines.get(key)
        kind = KINDS.get(key) if isinstance(key, str) else None
        if kind is None:
            problems.append(Problem(path, line, None,
                f"unknown kind {key!r}; use one of: {', '.join(KINDS)}"))
            continue
        if not isinstance(items, list):
            problems.append(Problem(path, line, None, f"{key!r} must be a list of records"))
            continue
        for order, item in enumerate(items):
            if not isinstance(item, _LineDict):
                problems.append(Problem(path, line, None,
                    f"{key} entry #{order + 1} must be a mapping with an id"))
                continue
            out.append((kind, item, path, order))
    return out


def _check_record(kind: Kind, item: _LineDict, path: Path, order: int,
                  problems: list[Problem], line_count: int | None) -> Record | None:
    ident = item.get("id")
    if not isinstance(ident, str) or not ID_RE.match(ident):
        problems.append(Problem(path, item.line, None,
            f"{kind.key} record needs an id of lower-case words joined by '-' (and '/' "
            f"for parts), e.g. 'khedija-zammouri'; got {ident!r}"))
        return None
    before = len(problems)
    data: dict[str, Any] = {}
    for name in item:
        if name != "id" and name not in kind.fields:
            problems.append(Problem(path, item.key_lines.get(name, item.line), ident,
                f"unknown field {name!r} for {kind.key}; known fields: "
                f"{', '.join(sorted(kind.fields))}"))
    for name, spec in kind.fields.items():
        where = item.key_lines.get(name, item.line)
        if name not in item or item[name] is None:
            if spec.required:
                problems.append(Problem(path, item.line, ident,
                    f"missing required field {name!r}"))
            continue
        try:
            data[name] = _convert(spec, item[name], name, line_count)
        except ValueError as e:
            problems.append(Problem(path, where, ident, f"field {name!r}: {e}"))
    if len(problems) > before:
        return None
    rec = Record(kind.key, kind.group, ident, data, path, item.line, order,
                 {k: n for k, n in item.key_lines.items() if isinstance(k, str)})
    _check_times(rec, item, problems)
    return rec


def _convert(spec: F, value: Any, name: str, line_count: int | None) -> Any:
    t = spec.type
    if t == "text":
        if not isinstance(value, str):
            raise ValueError(f"must be text, got {type(value).__name__} {value!r}; quote it")
        text = value.strip()
        if not text:
            raise ValueError("must not be empty")
        return text
    if t == "texts":
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise ValueError("must be a list of texts")
        return [_convert(F("text"), v, name, line_count) for v in value]
    if t == "int":
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"must be a whole number from 1, got {value!r}")
        return value
    if t == "bool":
        if not isinstance(value, bool):
            raise ValueError(f"must be true or false, got {value!r}")
        return value
    if t == "lines":
        spans = parse_spans(value)
        if line_count is not None:
            for _, last in spans:
                if last > line_count:
                    raise ValueError(f"line {last} is past the end of the agenda "
                                     f"({line_count} lines)")
        return spans
    if t == "date":
        if isinstance(value, datetime):
            raise ValueError(f"must be a date without a time, got {value!r}")
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            raise ValueError(f"must be a date YYYY-MM-DD, got {value!r}") from None
    if t == "time":
        if isinstance(value, int) and not isinstance(value, bool):
            raise ValueError(f"YAML read an unquoted time as the number {value}; "
                             "quote it, e.g. \"09:30\"")
        return parse_time(value)
    if t == "url":
        if not isinstance(value, str) or not _URL_RE.match(value):
            raise ValueError(f"must be an http(s) URL, got {value!r}")
        return value
    if t == "email":
        if not isinstance(value, str) or not _EMAIL_RE.match(value):
            raise ValueError(f"must be an e-mail address, got {value!r}")
        return value
    if t == "isbn":
        if not isinstance(value, str) or not _isbn13_ok(value):
            raise ValueError(f"must be an ISBN-13 with a right check digit, e.g. "
                             f"978-92-64-04279-7; got {value!r}")
        return value
    if t == "qid":
        if not isinstance(value, str) or not _QID_RE.match(value):
            raise ValueError(f"must be a Wikidata item id such as 'Q948', got {value!r}")
        return value
    if t in ("code2", "code3"):
        n = 2 if t == "code2" else 3
        if not isinstance(value, str) or not re.fullmatch(f"[A-Z]{{{n}}}", value):
            raise ValueError(f"must be {n} capital letters (ISO 3166-1), got {value!r}")
        return value
    if t == "concepts":
        if not isinstance(value, list) or not value:
            raise ValueError("must be a non-empty list of concept names such as RiskSharing")
        for v in value:
            if not isinstance(v, str) or not _CONCEPT_RE.match(v):
                raise ValueError(f"{v!r} is not a concept name (CamelCase, e.g. RiskSharing)")
        return list(value)
    if t == "duration":
        text = _convert(F("text"), value, name, line_count)
        parse_duration(text)
        return text
    if t == "choice":
        if value not in spec.choices:
            raise ValueError(f"{value!r} is not one of: {', '.join(spec.choices)}")
        return value
    if t == "ref":
        if not isinstance(value, str) or not ID_RE.match(value):
            raise ValueError(f"must be the id of a {spec.ref}, got {value!r}")
        return value
    if t == "refs":
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise ValueError(f"must be a list of {spec.ref} ids")
        return [_convert(F("ref", ref=spec.ref), v, name, line_count) for v in value]
    if t == "items":
        if not isinstance(value, list) or not value:
            raise ValueError("must be a non-empty list of mappings")
        out = []
        for i, item in enumerate(value, start=1):
            if not isinstance(item, dict):
                raise ValueError(f"entry #{i} must be a mapping")
            unknown = {str(k) for k in item} - set(spec.items or {})
            if unknown:
                raise ValueError(f"entry #{i}: unknown field(s) {', '.join(sorted(unknown))}; "
                                 f"known: {', '.join(spec.items or {})}")
            converted = {}
            for sub, sub_spec in (spec.items or {}).items():
                if item.get(sub) is None:
                    if sub_spec.required:
                        raise ValueError(f"entry #{i}: missing required field {sub!r}")
                    continue
                try:
                    converted[sub] = _convert(sub_spec, item[sub], sub, line_count)
                except ValueError as e:
                    raise ValueError(f"entry #{i}, {sub!r}: {e}") from None
            out.append(converted)
        return out
    raise AssertionError(f"unknown field type {t}")


def _isbn13_ok(text: str) -> bool:
    digits = text.replace("-", "").replace(" ", "")
    if not re.fullmatch(r"97[89]\d{10}", digits):
        return False
    total = sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(digits[:12]))
    return (10 - total % 10) % 10 == int(digits[12])


def _check_times(rec: Record, item: _LineDict, problems: list[Problem]) -> None:
    start, end, day = rec.get("start"), rec.get("end"), rec.get("date")
    if start is None and end is None:
        if day is not None:
            problems.append(Problem(rec.file, rec.line, rec.id,
                "a date without start and end time; give both, or neither"))
        return
    if day is None or start is None or end is None:
        problems.append(Problem(rec.file, rec.line, rec.id,
            "a timed item needs date, start and end; one of them is missing"))
        return
    try:
        rec.data["start_at"] = localize(day, start)
        rec.data["end_at"] = localize(day, end)
    except ValueError as e:
        problems.append(Problem(rec.file, item.key_lines.get("start", rec.line), rec.id, str(e)))
        return
    if rec.data["end_at"] <= rec.data["start_at"]:
        problems.append(Problem(rec.file, item.key_lines.get("end", rec.line), rec.id,
            f"ends ({end:%H:%M}) before or when it starts ({start:%H:%M})"))


def _refs_of(rec: Record) -> Iterable[tuple[str, str, str]]:
    """(field, group, id) for every reference a record makes, nested ones included."""
    fields = KINDS[rec.kind].fields
    for name, spec in fields.items():
        value = rec.get(name)
        if value is None:
            continue
        if spec.type == "ref":
            yield name, spec.ref or "", value
        elif spec.type == "refs":
            for v in value:
                yield name, spec.ref or "", v
        elif spec.type == "items":
            for i, entry in enumerate(value, start=1):
                for sub, sub_spec in (spec.items or {}).items():
                    if sub_spec.type == "ref" and sub in entry:
                        yield f"{name}#{i}.{sub}", sub_spec.ref or "", entry[sub]


def _check_references(records: Records, problems: list[Problem]) -> None:
    for rec in records:
        for fname, group, target in _refs_of(rec):
            if target not in records.by_group.get(group, {}):
                problems.append(Problem(rec.file, rec.line, rec.id,
                    f"{fname} names {group} {target!r}, which no record defines; "
                    f"add it or fix the id"))
        for i, p in enumerate(rec.get("participants") or [], start=1):
            if ("person" in p) == ("organization" in p):
                problems.append(Problem(rec.file, rec.line, rec.id,
                    f"participants#{i} needs exactly one of person or organization"))
        for fname in ("delegates_from", "experts_from"):
            for i, entry in enumerate(rec.get(fname) or [], start=1):
                if ("country" in entry) == ("place" in entry):
                    problems.append(Problem(rec.file, rec.line, rec.id,
                        f"{fname}#{i} ({entry['named']!r}) needs exactly one of country or "
                        f"place: what the listed name means"))


def _check_hierarchies(records: Records, problems: list[Problem]) -> None:
    """No organisation or event may be its own ancestor."""
    for group, field_name in (("organization", "parent"), ("event", "parent")):
        recs = records.by_group.get(group, {})
        for rec in recs.values():
            seen = {rec.id}
            cur = rec.get(field_name)
            while cur is not None and cur in recs:
                if cur in seen:
                    problems.append(Problem(rec.file, rec.line, rec.id,
                        f"{field_name} chain loops back to {cur!r}; break the cycle"))
                    break
                seen.add(cur)
                cur = recs[cur].get(field_name)
