"""The build pipeline, stage by stage: source records -> RDF -> SHACL -> OWL RL -> dumps.

Each stage returns a value; ``build`` reports progress through a callback, and only the
last stage writes files, after every check has passed."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from rdflib import Dataset, Graph

from . import artefacts
from .errors import GfdError
from .iris import IRIs
from .model import DATA_GRAPH, INFERRED_GRAPH, ONTOLOGY_GRAPH, build_dataset, check_vocabulary
from .publish import write_dumps
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
    reports: dict[str, Report] = field(default_factory=dict)

    def graph(self, name: str, iris: IRIs) -> Graph:
        return self.dataset.graph(iris.graph(name))


def _timed(progress: Progress, stage: str, started: float, text: str) -> None:
    progress(f"{stage:<9} {text} [{time.perf_counter() - started:.2f}s]")


def assemble(data: Path, iris: IRIs, progress: Progress = lambda _: None) -> Built:
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
    dataset = build_dataset(records, iris)
    target = dataset.graph(iris.graph(ONTOLOGY_GRAPH))
    for triple in ontology:
        target.add(triple)
    counts = ", ".join(f"{name} {len(dataset.graph(iris.graph(name)))}"
                       for name in (DATA_GRAPH, "contacts"))
    _timed(progress, "rdf", t, f"{counts} triples")
    return Built(agenda, records, dataset, ontology)


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
          include_personal_contacts: bool = False) -> Built:
    built = assemble(data, iris, progress)
    check_and_reason(built, iris, progress)
    t = time.perf_counter()
    written = write_dumps(built.dataset, iris, out, artefacts.shapes(iris),
                          include_personal_contacts)
    _timed(progress, "dumps", t, ", ".join(str(p) for p in written))
    return built
