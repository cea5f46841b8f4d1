"""Every text a record copies from the agenda is in the agenda lines it cites.

A record's text values (names, titles, descriptions, durations, URLs, e-mail addresses:
the field types in ``COPIED``) are published as the agenda prints them, read with the
corrections (``Agenda.passage``). Three exceptions, each from ``data/corrections.yaml``
or the record itself: a name taken from running text may start with a capital letter
the agenda does not give it (the rule ``capitalised-name``); a record that names a row of
the link table (``reference``) may take its text from that row (a country's usual
English name); a name marked ``constructed`` is not printed at all, and says why.

The build runs this check right after loading the records, in time linear in their
size: each passage is read once per distinct set of cited lines, and each value is one
substring search in it."""

from __future__ import annotations

import csv
from collections.abc import Iterator, Mapping
from pathlib import Path

from .errors import Problem, RecordsError, SourceError
from .records import KINDS, Record, Records
from .source import Agenda, LineSpan, format_spans, normalise_space

# Field types whose values are copied from the agenda text.
COPIED = frozenset({"text", "texts", "url", "email", "duration"})
# Fields that name a source instead of copying from it.
NOT_COPIED = frozenset({"reference", "constructed"})
_SHOWN = 160  # characters of the passage an error quotes


def read_link_rows(path: Path) -> dict[str, str]:
    """The link table as ``entity_label -> the row's cells joined``: the text a record
    that names the row (its ``reference``) may copy. No table, no rows."""
    if not path.is_file():
        return {}
    try:
        with path.open(encoding="utf-8", newline="") as f:
            return {row.get("entity_label") or "": " ".join(v or "" for v in row.values())
                    for row in csv.DictReader(f)}
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise SourceError(f"{path}: cannot read the link table ({e})") from e


def copied_values(rec: Record) -> Iterator[tuple[str, str]]:
    """(field, value) for every text the record copies from its lines; a field of a
    list of entries is named ``positions.title``."""
    for name, spec in KINDS[rec.kind].fields.items():
        if name in NOT_COPIED or name not in rec.data:
            continue
        value = rec.data[name]
        if spec.type in COPIED:
            for v in value if isinstance(value, list) else [value]:
                yield name, v
        elif spec.type == "items":
            for entry in value:
                for sub, sub_spec in (spec.items or {}).items():
                    if sub_spec.type in COPIED and sub in entry:
                        yield f"{name}.{sub}", entry[sub]


def _found(name: str, value: str, passage: str, rec: Record, links: Mapping[str, str]) -> bool:
    if value in passage:
        return True
    if name == "name" and value[:1].lower() + value[1:] in passage:  # capitalised-name
        return True
    ref = rec.get("reference")
    if ref and value in links.get(ref, ""):
        return True
    return name == "name" and bool(rec.get("constructed"))


def unfaithful(records: Records, agenda: Agenda, links: Mapping[str, str]) -> list[Problem]:
    """Every copied value that is not in the lines its record cites, in file order."""
    passages: dict[tuple[LineSpan, ...], str] = {}
    problems = []
    for rec in records:
        if not rec.from_agenda:  # a web page's record: its values are the page's recorded
            continue            # facts (tests/test_web_sources.py)
        spans = tuple(rec.spans)
        passage = passages.get(spans)
        if passage is None:
            passage = passages[spans] = agenda.passage(list(spans))
        for name, raw in copied_values(rec):
            value = normalise_space(raw)
            if _found(name, value, passage, rec, links):
                continue
            field_name = name.partition(".")[0]
            shown = passage if len(passage) <= _SHOWN else passage[:_SHOWN - 3] + "..."
            problems.append(Problem(rec.file, rec.field_lines.get(field_name, rec.line), rec.id,
                f"{name} {value!r} is not in agenda lines {format_spans(list(spans))}, "
                f"which read, corrected: {shown!r}; copy the text as printed there, cite "
                f"the lines that print it, or, if the agenda misprints it, add a correction "
                f"to corrections.yaml"))
    return sorted(problems, key=lambda p: (str(p.file), p.line or 0))


def check_fidelity(records: Records, agenda: Agenda, links: Mapping[str, str]) -> None:
    """Raise ``RecordsError`` listing every value not in its cited lines."""
    problems = unfaithful(records, agenda, links)
    if problems:
        raise RecordsError(problems)
