"""The agenda text and its corrections: the anchor of provenance.

Records cite agenda lines (``"57-61, 63"``). ``Agenda.passage(spans)`` gives the text of
those lines as published: the corrections list applied line by line, then the layout
rules of ``data/corrections.yaml`` (bullets, line-end hyphens, whitespace). A published
literal is faithful when it is found in the passage of the lines it cites.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .errors import SourceError

LineSpan = tuple[int, int]

_SPAN_RE = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+))?\s*$")
_BULLET_RE = re.compile(r"^e\s+")
_LIST_DASH_RE = re.compile(r"^-\s+")
_SPACES_RE = re.compile(r"\s+")


def parse_spans(text: Any) -> list[LineSpan]:
    """``"57-61, 63"`` -> ``[(57, 61), (63, 63)]``; ValueError says what is wrong."""
    if isinstance(text, int) and not isinstance(text, bool):
        text = str(text)
    if not isinstance(text, str) or not text.strip():
        raise ValueError("lines must be line numbers or ranges such as '57-61, 63'")
    spans: list[LineSpan] = []
    for part in text.split(","):
        m = _SPAN_RE.match(part)
        if not m:
            raise ValueError(f"{part.strip()!r} is not a line number or a range such as '57-61'")
        first = int(m.group(1))
        last = int(m.group(2) or first)
        if first < 1 or last < first:
            raise ValueError(f"line range {part.strip()!r} must start at 1 or more and not "
                             "run backwards")
        spans.append((first, last))
    return spans


def format_spans(spans: list[LineSpan]) -> str:
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)


def normalise_space(text: str) -> str:
    return _SPACES_RE.sub(" ", text).strip()


@dataclass(frozen=True)
class Correction:
    line: int
    original: str
    corrected: str
    kind: str
    reason: str


@dataclass(frozen=True)
class Agenda:
    """The agenda's lines (1-based) with the corrections that apply to them."""

    path: Path
    lines: tuple[str, ...]
    corrections: tuple[Correction, ...]
    rules: tuple[dict[str, str], ...]

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()

    def corrected_line(self, number: int) -> str:
        if not 1 <= number <= len(self.lines):
            raise SourceError(f"{self.path}: there is no line {number} (the agenda has "
                              f"{len(self.lines)})")
        text = self.lines[number - 1]
        for c in self.corrections:
            if c.line == number:
                text = text.replace(c.original, c.corrected)
        text = text.strip()
        text = _BULLET_RE.sub("", text)
        text = _LIST_DASH_RE.sub("", text)
        return text

    def passage(self, spans: list[LineSpan]) -> str:
        """The published reading of the cited lines, as one normalised string."""
        out = ""
        for first, last in spans:
            for number in range(first, last + 1):
                text = self.corrected_line(number)
                if not text:
                    continue
                if out and not out.endswith("-"):
                    out += " "
                out += text
            out += " "
        return normalise_space(out)


def load_agenda(path: Path, corrections_path: Path) -> Agenda:
    """Read the agenda and its corrections; check every correction matches its line."""
    try:
        lines = tuple(path.read_text(encoding="utf-8").splitlines())
    except OSError as e:
        raise SourceError(f"{path}: cannot read the agenda text ({e.strerror})") from e
    try:
        doc = yaml.safe_load(corrections_path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as e:
        raise SourceError(f"{corrections_path}: cannot read the corrections list: {e}") from e
    corrections: list[Correction] = []
    for i, entry in enumerate(doc.get("corrections") or [], start=1):
        try:
            c = Correction(
                line=int(entry["line"]),
                original=str(entry["original"]),
                corrected=str(entry["corrected"]),
                kind=str(entry["kind"]),
                reason=str(entry["reason"]),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise SourceError(
                f"{corrections_path}: correction #{i} needs line, original, corrected, kind "
                f"and reason ({e})"
            ) from e
        if not 1 <= c.line <= len(lines) or c.original not in lines[c.line - 1]:
            raise SourceError(
                f"{corrections_path}: correction #{i}: {c.original!r} does not occur on "
                f"line {c.line} of {path.name}; fix the line number or the original text"
            )
        corrections.append(c)
    rules = tuple(dict(r) for r in doc.get("rules") or [])
    return Agenda(path=path, lines=lines, corrections=tuple(corrections), rules=rules)
