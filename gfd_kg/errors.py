"""The library's exceptions. Each says what is wrong, where, and how to fix it; only the
CLI and the server turn them into exit codes and HTTP statuses."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class GfdError(Exception):
    """Base of every error the library raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the source records, located as precisely as we can."""

    file: Path | None
    line: int | None
    record: str | None
    message: str

    def __str__(self) -> str:
        where = str(self.file) if self.file else "<records>"
        if self.line is not None:
            where += f":{self.line}"
        who = f" [{self.record}]" if self.record else ""
        return f"{where}{who}: {self.message}"


class RecordsError(GfdError):
    """The source records cannot be built: one or more problems, all reported at once."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        lines = "\n".join(f"  {p}" for p in problems)
        noun = "problem" if len(problems) == 1 else "problems"
        super().__init__(f"{len(problems)} {noun} in the source records:\n{lines}")


class SourceError(GfdError):
    """The agenda text or the corrections list is inconsistent."""


class ServeError(GfdError):
    """The server cannot start as asked (its address is taken, or not this machine's)."""


class OutputError(GfdError):
    """The output directory cannot be written."""
