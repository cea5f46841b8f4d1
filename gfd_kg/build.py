"""The build pipeline, stage by stage: source records -> RDF -> SHACL -> OWL RL -> dumps.

Each stage returns a value; ``build`` reports progress through a callback, and only the
last stage writes files, after every check has passed."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from rdflib import Dataset, Graph

from . import artefacts
from .errors import GfdError
from .iris import IRIs
from .model import (CONTACTS_GRAPH, DATA_GRAPH, INFERRED_GRAPH, ONTOLOGY_GRAPH, build_dataset,
                    check_vocabulary)
from .provenance import BuildInfo, personal_lines, provenance_graph
from .publish import PROVENANCE_GRAPH, render, write_tree
from .reason import infer
from .records import Records, load_records
from .settings import DataLayout
from .source import Agenda, load_agenda
from .validate import Report, validate

Progress = Callable[[str], None]


class ValidationFailed(GfdError):
    """The built graph violates the shapes; nothing is published."""

    def __init__(self, report: Report, what: str) -> None:
        self.report = report
        super().__init__(f"the {what} graph does not conform to the shapes:\n{report.text()}")


@dataclass
class Built:
    agenda: Agenda
    records: Records
    dataset: Dataset
    ontology: Graph
    provenance: Graph
    reports: dict[str, Report] = field(default_factory=dict)

    def graph(self, name: str, iris: IRIs) -> Graph:
        return self.dataset.graph(iris.graph(name))


def _timed(progress: Progress, stage: str, started: float, text: str) -> None:
    progress(f"{stage:<9} {text} [{time.perf_counter() - started:.2f}s]")


def build_time(explicit: str | None, data: Path) -> datetime | None:
    """The time the provenance and the dataset description record: ``--build-time``, else
    ``SOURCE_DATE_EPOCH`` (the reproducible-builds convention), else the time of the last
    commit of the data's git checkout; None when none is known. Never the clock, so
    that two builds of the same input give the same bytes."""
    if explicit:
        try:
            value = datetime.fromisoformat(explicit)
        except ValueError:
            raise ValueError(f"--build-time {explicit!r} is not an ISO 8601 date-time, "
                             "e.g. 2026-11-27T12:00:00+00:00") from None
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        try:
            return datetime.fromtimestamp(int(epoch), tz=timezone.utc)
        except ValueError:
            raise ValueError(f"SOURCE_DATE_EPOCH={epoch!r} is not a number of seconds") from None
    try:
        out = subprocess.run(["git", "-C", str(data), "log", "-1", "--format=%cI"],
                             capture_output=True, text=True, timeout=10, check=True).stdout.strip()
        return datetime.fromisoformat(out) if out else None
    except (OSError, subprocess.SubprocessError, ValueError):
        return None


def assemble(data: Path, iris: IRIs, progress: Progress = lambda _: None,
             info: BuildInfo = BuildInfo()) -> Built:
    """Load and check the sources and build the asserted dataset; writes nothing."""
    layout = DataLayout(data)
    t = time.perf_counter()
    agenda = load_agenda(layout.agenda, layout.corrections)
    records = load_records(layout.records, agenda_line_count=len(agenda.lines))
    ontology = artefacts.ontology(iris)
    check_vocabulary(records, ontology, iris)
    _timed(progress, "records", t, f"{len(records)} records from {layout.records} "
           f"({len(agenda.corrections)} corrections of the agenda text)")
    t = time.perf_counter()
    dataset, origins = build_dataset(records, iris)
    target = dataset.graph(iris.graph(ONTOLOGY_GRAPH))
    for triple in ontology:
        target.add(triple)
    data_graph = dataset.graph(iris.graph(DATA_GRAPH))
    personal = personal_lines(agenda, [r.spans for r in records.group("contact")])
    provenance, private = provenance_graph(origins, set(data_graph.subjects()), agenda, iris,
                                           info, personal)
    contacts = dataset.graph(iris.graph(CONTACTS_GRAPH))
    for triple in private:
        contacts.add(triple)
    counts = ", ".join(f"{name} {len(dataset.graph(iris.graph(name)))}"
                       for name in (DATA_GRAPH, "contacts"))
    _timed(progress, "rdf", t, f"{counts}, {PROVENANCE_GRAPH} {len(provenance)} triples")
    return Built(agenda, records, dataset, ontology, provenance)


def _check(built: Built, name: str, graph: Graph, shapes: Graph, progress: Progress) -> None:
    t = time.perf_counter()
    report = validate(graph, shapes, built.ontology)
    built.reports[name] = report
    _timed(progress, "shacl", t, f"{name} graph: {len(report.violations)} violations, "
           f"{len(report.warnings)} warnings")
    if not report.conforms:
        raise ValidationFailed(report, name)


def check_and_reason(built: Built, iris: IRIs, progress: Progress = lambda _: None) -> None:
    """Validate the asserted data, reason over it, validate the reasoned graph; raise
    ``ValidationFailed`` on any violation."""
    shapes = artefacts.shapes(iris)
    data = built.graph(DATA_GRAPH, iris)
    _check(built, "asserted", data, shapes, progress)
    t = time.perf_counter()
    inferred = infer(data, built.ontology, iris)
    target = built.graph(INFERRED_GRAPH, iris)
    for triple in inferred:
        target.add(triple)
    _timed(progress, "owl-rl", t, f"{len(inferred)} inferred triples")
    _check(built, "reasoned", data + inferred, shapes, progress)


def build(data: Path, out: Path, iris: IRIs, progress: Progress = lambda _: None,
          include_personal_contacts: bool = False, time_of_build: str | None = None) -> Built:
    info = BuildInfo(time=build_time(time_of_build, data))
    built = assemble(data, iris, progress, info)
    check_and_reason(built, iris, progress)
    t = time.perf_counter()
    files = render(built.dataset, built.provenance, artefacts.shapes(iris), iris, info,
                   embeddings=_embeddings(built, iris),
                   include_personal_contacts=include_personal_contacts)
    write_tree(out, files)
    _timed(progress, "dumps", t, f"{len(files)} files in {out}")
    return built


def _embeddings(built: Built, iris: IRIs) -> dict[str, bytes]:
    from .embed import dumps, embeddings

    docs = embeddings(built.graph(DATA_GRAPH, iris), iris.base)
    return {name: (dumps(doc) + "\n").encode("utf-8") for name, doc in docs.items()}
