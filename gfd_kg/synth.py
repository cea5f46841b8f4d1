"""Synthetic data: N copies of the real seminar, renamed, to measure how the pipeline scales.

``synthesise`` writes a data folder shaped like ``data/``: the agenda text, the corrections
and the reference tables copied, ``records/common/`` copied as is, and one folder per
synthetic seminar (``records/s0001/`` ...) made from the real seminar's records. Every id
the seminar's folder defines gets the seminar's prefix (``gfd-2008-tunis/session-2`` ->
``s0001/session-2``, ``khedija-zammouri`` -> ``s0001-khedija-zammouri``) and every
reference to it follows; references to common records (countries, Tunis, the OECD...)
stay. The copies drop the seminar's Wikidata links (a copy is not that item). Seminar k
is held whole weeks after the real one (same weekdays and times), on dates whose times
the venue's clock changes leave alone. The text fields and the cited agenda lines stay as
they are, so every text is still in its lines (the build checks it: gfd_kg/fidelity.py),
but for the seminar's name, which gets the copy's number and is marked ``constructed``.
Same ``n`` and ``seed``, same bytes.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml

from .errors import OutputError
from .records import KINDS, F
from .settings import DataLayout
from .times import localize, parse_time

COMMON = "common"
_TIME_FIELDS = ("start", "end")
# A copy is not the real thing: its Wikidata link would make OWL RL merge every copy of an
# organisation (owl:sameAs the one item) and give the merged node one parent per copy.
_UNLINKED = ("wikidata",)


class _Quoted(str):
    """A string written in double quotes (times, so YAML never reads them as numbers)."""


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(
    _Quoted, lambda d, v: d.represent_scalar("tag:yaml.org,2002:str", str(v), style='"'))


def synthesise(data: Path, n: int, out: Path, seed: int = 0) -> Path:
    """Write ``n`` renamed copies of the seminar in ``data`` as a new data folder ``out``.

    ``seed`` moves the whole series ``seed`` weeks later: another, equally deterministic
    set of dates. ``out`` must not exist or be empty; it is written beside itself and
    renamed into place, so a failure leaves nothing half-written."""
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    if seed < 0:
        raise ValueError(f"seed must be 0 or more, got {seed}")
    if n > 9999:
        raise ValueError(f"n must be at most 9999 (ids are s0001 ... s9999), got {n}")
    layout = DataLayout(data)
    records_root = layout.records
    templates = sorted(p for p in records_root.iterdir() if p.is_dir() and p.name != COMMON)
    if len(templates) != 1:
        raise ValueError(f"{records_root} must hold exactly one seminar folder beside "
                         f"{COMMON}/, found {[p.name for p in templates]}")
    files = {p.name: yaml.safe_load(p.read_text(encoding="utf-8")) or {}
             for p in sorted(templates[0].glob("*.yaml"))}
    own = _own_ids(files)
    seminar_ids = own.get("event", set()) & _ids_of_kind(files, "seminars")
    if len(seminar_ids) != 1:
        raise ValueError(f"{templates[0]} must define exactly one seminar, "
                         f"found {sorted(seminar_ids)}")
    seminar = next(iter(seminar_ids))
    moments = _moments(files)

    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise OutputError(f"{out} exists and is not empty; give a new folder")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        _copy_shared(data, records_root, tmp)
        weeks = seed
        for k in range(1, n + 1):
            weeks += 1
            while not _clock_safe(moments, weeks):
                weeks += 1
            tag = f"s{k:04d}"
            rename = _renamer(seminar, tag, own)
            folder = tmp / "records" / tag
            folder.mkdir(parents=True)
            for name, doc in files.items():
                text = _dump(_rewrite_file(doc, rename, seminar, tag, k, weeks))
                (folder / name).write_text(text, encoding="utf-8")
        if out.exists():
            out.rmdir()
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _copy_shared(data: Path, records_root: Path, target: Path) -> None:
    """Everything but the seminar's records, byte for byte."""
    for entry in sorted(data.iterdir()):
        if entry.resolve() == records_root.resolve():
            shutil.copytree(entry / COMMON, target / "records" / COMMON)
        elif entry.is_dir():
            shutil.copytree(entry, target / entry.name)
        else:
            shutil.copy2(entry, target / entry.name)


def _ids_of_kind(files: dict[str, Any], kind: str) -> set[str]:
    return {r["id"] for doc in files.values() for r in doc.get(kind) or []}


def _own_ids(files: dict[str, Any]) -> dict[str, set[str]]:
    """The ids the seminar's folder defines, by group (what a reference names)."""
    own: dict[str, set[str]] = {}
    for doc in files.values():
        for key, items in doc.items():
            own.setdefault(KINDS[key].group, set()).update(r["id"] for r in items or [])
    return own


def _renamer(seminar: str, tag: str, own: dict[str, set[str]]) -> Callable[[str, str], str]:
    def rename(group: str, ident: str) -> str:
        if ident not in own.get(group, set()):
            return ident  # a common record
        if ident == seminar:
            return tag
        if ident.startswith(seminar + "/"):
            return tag + ident[len(seminar):]
        return f"{tag}-{ident}"
    return rename


def _moments(files: dict[str, Any]) -> list[tuple[date, str]]:
    """Every (date, time) the seminar's records state."""
    out: list[tuple[date, str]] = []
    for doc in files.values():
        for items in doc.values():
            for r in items or []:
                if r.get("date") is not None:
                    out.extend((_as_date(r["date"]), str(r[f])) for f in _TIME_FIELDS if r.get(f))
    return out


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _clock_safe(moments: list[tuple[date, str]], weeks: int) -> bool:
    try:
        for day, at in moments:
            localize(day + timedelta(weeks=weeks), parse_time(at))
    except ValueError:
        return False
    return True


def _rewrite_file(doc: dict[str, Any], rename: Callable[[str, str], str], seminar: str,
                  tag: str, k: int, weeks: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, items in doc.items():
        kind = KINDS[key]
        out[key] = [_rewrite_record(r, kind.group, kind.fields, rename, seminar, k, weeks)
                    for r in items or []]
    return out


def _rewrite_record(rec: dict[str, Any], group: str, fields: Any,
                    rename: Callable[[str, str], str], seminar: str, k: int,
                    weeks: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in rec.items():
        if name == "id":
            out[name] = rename(group, value)
        elif name in _UNLINKED:
            continue
        elif name in _TIME_FIELDS:
            out[name] = _Quoted(value)
        elif name in ("date", "day") and value is not None:
            out[name] = _as_date(value) + timedelta(weeks=weeks)
        elif name == "name" and rec.get("id") == seminar:
            out[name] = f"{value} (synthetic seminar {k})"
            out["constructed"] = f"a synthetic copy of {seminar}, named after it"
        elif name in fields:
            out[name] = _rewrite_value(fields[name], value, rename)
        else:
            out[name] = value  # the loader reports unknown fields; keep them for it
    return out


def _rewrite_value(spec: F, value: Any, rename: Callable[[str, str], str]) -> Any:
    if value is None:
        return value
    if spec.type == "ref":
        return rename(spec.ref or "", value)
    if spec.type == "refs":  # a list of ids, or one id (``source: <id>``)
        return [rename(spec.ref or "", v) for v in ([value] if isinstance(value, str) else value)]
    if spec.type == "items":
        return [{sub: _rewrite_value((spec.items or {})[sub], v, rename)
                 if sub in (spec.items or {}) else v for sub, v in entry.items()}
                for entry in value]
    return value


def _dump(doc: dict[str, Any]) -> str:
    header = "# Synthetic records made by gfd_kg.synth from the real seminar's; do not edit.\n"
    return header + yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True,
                              default_flow_style=False, width=100)
