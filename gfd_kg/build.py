"""The build pipeline, stage by stage: source records -> RDF -> SHACL -> OWL RL -> dumps.

The records are loaded and checked whole; then each seminar (a folder of records, with the
common records) goes through RDF, SHACL, OWL RL and SHACL again on its own, in worker
processes when there are several seminars: the shapes and the ontology are local to a
seminar, so this is the same check and the same closure as over the whole graph (tests
compare the two), in time linear in the number of seminars and using every core. Each
seminar comes back as sorted N-Triples; the dumps merge them, and the same number of
processes write their files. Only the last stage writes files, after every check has
passed. ``build`` reports progress through callbacks.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from rdflib import Dataset, Graph, URIRef

from . import artefacts
from .diff import release_notes
from .errors import GfdError
from .fidelity import check_fidelity, read_link_rows
from .iris import IRIs
from .model import (
    CONTACTS_GRAPH,
    DATA_GRAPH,
    INFERRED_GRAPH,
    ONTOLOGY_GRAPH,
    build_dataset,
    check_vocabulary,
)
from .provenance import BuildInfo, personal_lines, provenance_graph
from .publish import (
    PROVENANCE_GRAPH,
    PUBLIC_GRAPHS,
    merge_ntriples,
    nquads_lines,
    ntriples_bytes,
    render,
    write_tree,
)
from .reason import ReasoningError, Rules, infer
from .records import Records, load_records, partition
from .search import build_index
from .settings import DataLayout
from .source import Agenda, load_agenda
from .validate import Report, compiled, index_of, shapes_graph, validate
from .workers import can_fork, forked_map, quiet_on_interrupt

Progress = Callable[[str], None]
Advance = Callable[[int, int], None]  # seminars done, seminars in all


class ValidationFailed(GfdError):
    """The built graph violates the shapes; nothing is published."""

    def __init__(self, report: Report, what: str) -> None:
        self.report = report
        self.what = what
        super().__init__(f"the {what} graph does not conform to the shapes:\n{report.text()}")

    def __reduce__(self):  # raised in a worker process, re-raised in the main one
        return (ValidationFailed, (self.report, self.what))


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
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        try:
            return datetime.fromtimestamp(int(epoch), tz=UTC)
        except ValueError:
            raise ValueError(f"SOURCE_DATE_EPOCH={epoch!r} is not a number of seconds") from None
    try:
        out = subprocess.run(["git", "-C", str(data), "log", "-1", "--format=%cI"],
                             capture_output=True, text=True, timeout=10, check=True).stdout.strip()
        return datetime.fromisoformat(out) if out else None
    except (OSError, subprocess.SubprocessError, ValueError):
        return None


def load_sources(layout: DataLayout, iris: IRIs) -> tuple[Agenda, Records, Graph]:
    """The agenda with its corrections, the checked records (each text in the lines it
    cites) and the ontology."""
    agenda = load_agenda(layout.agenda, layout.corrections)
    records = load_records(layout.records, agenda_line_count=len(agenda.lines))
    check_fidelity(records, agenda, read_link_rows(layout.links))
    ontology = artefacts.ontology(iris)
    check_vocabulary(records, ontology, iris)
    return agenda, records, ontology


def asserted(records: Records, agenda: Agenda, iris: IRIs,
             info: BuildInfo) -> tuple[Dataset, Graph]:
    """The records as the ``data`` and ``contacts`` graphs, and their provenance graph
    (the personal lines' quotes go to ``contacts``)."""
    dataset, origins, web = build_dataset(records, iris)
    data = dataset.graph(iris.graph(DATA_GRAPH))
    personal = personal_lines(agenda, [r.spans for r in records.group("contact")])
    # the IRIs only: provenance is kept of the records' resources, never of a blank node
    subjects = {s for s in data.subjects() if isinstance(s, URIRef)}
    provenance, private = provenance_graph(origins, subjects, agenda, iris, info, personal,
                                           web)
    contacts = dataset.graph(iris.graph(CONTACTS_GRAPH))
    for triple in private:
        contacts.add(triple)
    return dataset, provenance


def assemble(data: Path, iris: IRIs, progress: Progress = lambda _: None,
             info: BuildInfo = BuildInfo()) -> Built:
    """Load and check the sources and build the asserted dataset, whole; writes nothing."""
    layout = DataLayout(data)
    t = time.perf_counter()
    agenda, records, ontology = load_sources(layout, iris)
    _timed(progress, "records", t, f"{len(records)} records from {layout.records} "
           f"({len(agenda.corrections)} corrections of the agenda text)")
    t = time.perf_counter()
    dataset, provenance = asserted(records, agenda, iris, info)
    target = dataset.graph(iris.graph(ONTOLOGY_GRAPH))
    for triple in ontology:
        target.add(triple)
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


@dataclass(frozen=True)
class Context:
    """What every seminar's pipeline reads: loaded once, shared by the workers."""

    agenda: Agenda
    iris: IRIs
    info: BuildInfo
    ontology: Graph
    shapes: Graph
    rules: Rules


@dataclass
class SeminarBuild:
    """One seminar through RDF, SHACL, OWL RL and SHACL: its graphs as sorted N-Triples
    (``data``, ``inferred``, ``provenance``, ``contacts``), its reports, its embeddings."""

    name: str
    graphs: dict[str, bytes]
    reports: dict[str, Report]
    embeddings: dict[str, bytes]
    seconds: dict[str, float]


def build_seminar(ctx: Context, name: str, records: Records) -> SeminarBuild:
    """The pipeline of one seminar; raises ``ValidationFailed`` or ``ReasoningError``."""
    from .embed import dumps, embeddings

    iris, seconds = ctx.iris, {}
    t = time.perf_counter()
    dataset, provenance = asserted(records, ctx.agenda, iris, ctx.info)
    data = dataset.graph(iris.graph(DATA_GRAPH))
    contacts = dataset.graph(iris.graph(CONTACTS_GRAPH))
    seconds["rdf"] = time.perf_counter() - t
    t = time.perf_counter()
    checked = index_of(data, ctx.ontology)
    reports = {"asserted": validate(checked, ctx.shapes)}
    if not reports["asserted"].conforms:
        raise ValidationFailed(reports["asserted"], _what("asserted", name))
    seconds["shacl asserted"] = time.perf_counter() - t
    t = time.perf_counter()
    try:
        inferred = infer(data, ctx.ontology, iris, ctx.rules)
    except ReasoningError as e:
        raise ReasoningError(f"seminar {name}: {e}") from None
    seconds["owl-rl"] = time.perf_counter() - t
    t = time.perf_counter()
    checked.extend(inferred)  # the reasoned graph: the same graph, grown
    reports["reasoned"] = validate(checked, ctx.shapes)
    if not reports["reasoned"].conforms:
        raise ValidationFailed(reports["reasoned"], _what("reasoned", name))
    seconds["shacl reasoned"] = time.perf_counter() - t
    t = time.perf_counter()
    docs = {doc: (dumps(content) + "\n").encode("utf-8")
            for doc, content in embeddings(data, iris.base).items()}
    graphs = {DATA_GRAPH: ntriples_bytes(data), INFERRED_GRAPH: ntriples_bytes(inferred),
              PROVENANCE_GRAPH: ntriples_bytes(provenance),
              CONTACTS_GRAPH: ntriples_bytes(contacts)}
    seconds["serialise"] = time.perf_counter() - t
    return SeminarBuild(name, graphs, reports, docs, seconds)


def _what(graph: str, seminar: str) -> str:
    from .records import COMMON

    return graph if seminar == COMMON else f"{graph} (seminar {seminar})"


# What a spawned worker reads (where processes cannot be forked): set by _start_worker.
_CONTEXT: Context | None = None
_PARTS: list[tuple[str, Records]] = []


def _start_worker(ctx: Context | None, parts: list[tuple[str, Records]]) -> None:
    global _CONTEXT, _PARTS
    quiet_on_interrupt()
    _CONTEXT, _PARTS = ctx, parts


def _in_worker(index: int) -> SeminarBuild:
    assert _CONTEXT is not None
    return build_seminar(_CONTEXT, *_PARTS[index])


def seminar_builds(ctx: Context, parts: list[tuple[str, Records]],
                   jobs: int) -> Iterator[SeminarBuild]:
    """Every seminar's build, in the order of ``parts``; in ``jobs`` worker processes
    when there is more than one seminar."""
    chunk = max(1, min(8, len(parts) // (jobs * 8)))
    if jobs <= 1 or len(parts) == 1 or can_fork():
        yield from forked_map(lambda i: build_seminar(ctx, *parts[i]), len(parts), jobs, chunk)
        return
    # spawned workers get the context and the records pickled, once each
    with ProcessPoolExecutor(max_workers=jobs, mp_context=mp.get_context("spawn"),
                             initializer=_start_worker, initargs=(ctx, parts)) as pool:
        try:
            yield from pool.map(_in_worker, range(len(parts)), chunksize=chunk)
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def build(data: Path, out: Path, iris: IRIs, progress: Progress = lambda _: None,
          include_personal_contacts: bool = False, time_of_build: str | None = None,
          jobs: int | None = None, advance: Advance = lambda _done, _total: None) -> dict:
    """Build ``data`` into ``out``; returns figures of the build (counts and seconds by
    stage), for the progress line and the benchmarks."""
    info = BuildInfo(time=build_time(time_of_build, data))
    layout = DataLayout(data)
    started = t = time.perf_counter()
    agenda, records, ontology = load_sources(layout, iris)
    parts = partition(records, layout.records)
    shapes = artefacts.shapes(iris)
    ctx = Context(agenda, iris, info, ontology, shapes_graph(shapes), Rules.of(ontology))
    compiled(ctx.shapes)  # once, before the workers fork; refuses SHACL it cannot check
    figures: dict = {"seminars": len(parts), "records": len(records), "seconds": {}}
    _timed(progress, "records", t, f"{len(records)} records from {layout.records}, "
           f"{len(parts)} seminar{'s' if len(parts) != 1 else ''} "
           f"({len(agenda.corrections)} corrections of the agenda text)")
    figures["seconds"]["records"] = time.perf_counter() - t
    t = time.perf_counter()
    collected: dict[str, list[bytes]] = {}
    embeds: dict[str, bytes] = {}
    warnings = {"asserted": 0, "reasoned": 0}
    spent: dict[str, float] = {}  # seconds by stage, summed over the seminars
    n = min(jobs or default_jobs(), len(parts))
    for i, done in enumerate(seminar_builds(ctx, parts, n), start=1):
        for graph, nt in done.graphs.items():
            collected.setdefault(graph, []).append(nt)
        embeds.update(done.embeddings)
        for graph, report in done.reports.items():
            warnings[graph] += len(report.warnings)
        for step, sec in done.seconds.items():
            spent[step] = spent.get(step, 0.0) + sec
        advance(i, len(parts))
    graphs = {graph: merge_ntriples(collected.pop(graph)) for graph in list(collected)}
    graphs[ONTOLOGY_GRAPH] = ntriples_bytes(ontology)
    counts = {g: nt.count(b"\n") for g, nt in graphs.items()}
    figures["seconds"]["seminars"] = time.perf_counter() - t
    figures["seconds"]["in workers"] = spent
    figures["triples"] = counts
    if len(parts) > 1:
        _timed(progress, "seminars", t, f"{len(parts)} seminars in {n} process"
               f"{'es' if n > 1 else ''}; the stages' times below are summed over them")

    def stage(name: str, key: str, text: str) -> None:
        progress(f"{name:<9} {text} [{spent.get(key, 0.0):.2f}s]")

    stage("rdf", "rdf", f"data {counts[DATA_GRAPH]}, contacts {counts[CONTACTS_GRAPH]}, "
          f"{PROVENANCE_GRAPH} {counts[PROVENANCE_GRAPH]} triples")
    stage("shacl", "shacl asserted",
          f"asserted graph: 0 violations, {warnings['asserted']} warnings")
    stage("owl-rl", "owl-rl", f"{counts[INFERRED_GRAPH]} inferred triples")
    stage("shacl", "shacl reasoned",
          f"reasoned graph: 0 violations, {warnings['reasoned']} warnings")
    t = time.perf_counter()
    shapes_text = artefacts.shapes_source(iris)
    if shapes_text is None:
        from .publish import graph_turtle_bytes
        shapes_text = graph_turtle_bytes(shapes, iris)
    # the release: its version, and what changed since the dist/ it replaces
    public = {g: graphs[g] for g in PUBLIC_GRAPHS}
    notes = release_notes(out, public, iris, info.time.isoformat() if info.time else None,
                          info.time.date().isoformat() if info.time else None,
                          nquads=lambda: nquads_lines(public, iris))
    names: list[str] = []

    write_tree(out, lambda folder: names.extend(render(
        folder, graphs, ontology, shapes, shapes_text, iris, info, embeddings=embeds,
        include_personal_contacts=include_personal_contacts, notes=notes,
        extra=lambda folder: [build_index(folder, graphs, iris.base)],  # the site's search
        jobs=n)))
    figures["seconds"]["dumps"] = time.perf_counter() - t
    figures["seconds"]["total"] = time.perf_counter() - started
    previous = notes.release.previous
    _timed(progress, "dumps", t, f"{len(names)} files in {out}, release "
           f"{notes.release.version} ({f'after {previous.version}' if previous else 'the first'})")
    return figures
