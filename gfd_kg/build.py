"""The build pipeline, stage by stage: source records -> RDF -> dumps.

Each stage returns a value; ``build`` reports progress through a callback and only the
last stage writes files, after every check has passed."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rdflib import Dataset

from .iris import IRIs
from .model import build_dataset
from .publish import write_dumps
from .records import Records, load_records
from .settings import DataLayout
from .source import Agenda, load_agenda

Progress = Callable[[str], None]


@dataclass
class Built:
    agenda: Agenda
    records: Records
    dataset: Dataset


def assemble(data: Path, iris: IRIs, progress: Progress = lambda _: None) -> Built:
    """Load and check the sources and build the asserted dataset; writes nothing."""
    layout = DataLayout(data)
    t = time.perf_counter()
    agenda = load_agenda(layout.agenda, layout.corrections)
    records = load_records(layout.records, agenda_line_count=len(agenda.lines))
    progress(f"records   {len(records)} records from {layout.records} "
             f"({len(agenda.corrections)} corrections of the agenda text) "
             f"[{time.perf_counter() - t:.2f}s]")
    t = time.perf_counter()
    dataset = build_dataset(records, iris)
    counts = ", ".join(f"{g.identifier.rsplit('/', 1)[-1]} {len(g)}"
                       for g in sorted(dataset.graphs(), key=lambda g: str(g.identifier))
                       if len(g))
    progress(f"rdf       {counts} triples [{time.perf_counter() - t:.2f}s]")
    return Built(agenda, records, dataset)


def build(data: Path, out: Path, iris: IRIs, progress: Progress = lambda _: None,
          include_personal_contacts: bool = False) -> Built:
    built = assemble(data, iris, progress)
    t = time.perf_counter()
    written = write_dumps(built.dataset, iris, out, include_personal_contacts)
    progress(f"dumps     {', '.join(str(p) for p in written)} [{time.perf_counter() - t:.2f}s]")
    return built
