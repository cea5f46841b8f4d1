"""Scale benchmark: the build at N = 1, 10, 100, 1000 synthetic seminars, beside a naive
reference pipeline, and the endpoint on the largest build beside the Oxigraph server and
rdflib-endpoint; all in one run, on this machine.

    python benchmarks/scale.py [--sizes 1,10,100,1000] [--naive-cap 600] [--repeat 1]
                               [--endpoint-seconds 3] [--work DIR]
                               [--out benchmarks/results/scale.json]

For each N: `gfd-kg synth N` writes the corpus (once, kept in --work), then

- the build (`gfd_kg.build.build`, in a child process): wall time of each stage
  (records; seminars through rdf, shacl, owl-rl, shacl in worker processes; dumps) and
  the peak memory of the process tree (the sum of the proportional set sizes of the
  build and its workers, sampled every half second: shared pages counted once);
- the naive reference (the same records and the same model code, then what one would
  write first: rdflib's default store, pySHACL over the whole graph with the ontology
  mixed in, owlrl's closure of the whole graph, pySHACL again, rdflib's serialisers): the
  same figures, stopped at --naive-cap seconds (its completed stages are kept); a size
  whose smaller size was stopped is not run.

With --repeat K the builds run in K rounds over the sizes (100, 1000, 100, 1000...), so
that a change in the shared machine's speed reaches every size alike; a size's figures
are its median run, and t(1000) / t(100) is given round by round too. Every timed build
writes a fresh folder (the previous one is removed first, untimed).

Then on the largest N: a seminar drawn at random has its inferred graph recomputed by owlrl
over that seminar alone and compared with what the build published; and the endpoint
benchmark (benchmarks/endpoint.py) runs on the build. The results go to --out as JSON,
a plot beside it (.png, when matplotlib is installed: `pip install -e '.[bench]'`), and a
table on stdout (the README shows the latest). A script, not a test: the machine is shared
and 2 cores, timings are noisy; read the ratios."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as `python benchmarks/scale.py` from anywhere
    sys.path.insert(0, str(ROOT))

TARGET_SECONDS_1000 = 300.0
TARGET_BYTES = 4 * 1024 ** 3
TARGET_GROWTH = 11.0  # t(1000) / t(100)


# -- measuring a child process ------------------------------------------------------------

def _tree(pid: int) -> list[int]:
    """The process and its descendants, from /proc (Linux)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except OSError:
            continue
    return out


def _pss(pid: int) -> int:
    """The process's proportional set size: its private memory plus its share of pages it
    shares (forked workers share most of the parent's), so that the sum over a tree is
    the memory it takes."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


@dataclass
class Run:
    seconds: float
    peak_bytes: int
    stages: dict[str, float]
    finished: bool
    error: str = ""


def measured(args: list[str], cap: float | None = None) -> Run:
    """Run ``python benchmarks/scale.py <args>`` (one of the ``_build`` / ``_naive``
    children below), sampling its tree's memory; its stdout is JSON lines, one per
    finished stage: {"stage": name, "seconds": s}."""
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), *args],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, sum(_pss(p) for p in _tree(child.pid)))
            done.wait(0.5)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    finished, error = True, ""
    try:
        out, err = child.communicate(timeout=cap)
    except subprocess.TimeoutExpired:
        for p in reversed(_tree(child.pid)):
            with contextlib.suppress(OSError):
                os.kill(p, 9)
        out, err = child.communicate()
        finished, error = False, f"stopped at the cap of {cap:g} s"
    done.set()
    sampler.join()
    seconds = time.perf_counter() - started
    stages: dict[str, float] = {}
    for line in out.splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            stages[record["stage"]] = record["seconds"]
    if finished and child.returncode != 0:
        finished, error = False, f"exit {child.returncode}: {err.strip()[-500:]}"
    return Run(seconds, peak, stages, finished, error)


def _emit(stage: str, seconds: float) -> None:
    print(json.dumps({"stage": stage, "seconds": round(seconds, 3)}), flush=True)


# -- the two pipelines, run as children ---------------------------------------------------

def child_build(data: Path, out: Path) -> None:
    from gfd_kg.build import build
    from gfd_kg.iris import IRIs

    figures = build(data, out, IRIs(), time_of_build="2026-01-01T00:00:00+00:00")
    for stage in ("records", "seminars", "dumps"):
        _emit(stage, figures["seconds"][stage])
    for stage, seconds in figures["seconds"]["in workers"].items():
        _emit(f"worker {stage}", seconds)


def child_naive(data: Path, out: Path) -> None:
    """The reference: the whole graph in rdflib, pySHACL and owlrl over all of it."""
    import owlrl
    from pyshacl import validate
    from rdflib import Dataset

    from gfd_kg import artefacts
    from gfd_kg.build import assemble
    from gfd_kg.iris import IRIs
    from gfd_kg.model import DATA_GRAPH

    iris = IRIs()
    t = time.perf_counter()
    built = assemble(data, iris)
    data_graph = built.graph(DATA_GRAPH, iris)
    shapes, ontology = artefacts.shapes(iris), built.ontology
    _emit("records+rdf", time.perf_counter() - t)
    t = time.perf_counter()
    conforms, _g, _text = validate(data_graph, shacl_graph=shapes, ont_graph=ontology,
                                   advanced=True, allow_warnings=True)
    _emit("shacl", time.perf_counter() - t)
    t = time.perf_counter()
    closure = data_graph + ontology
    owlrl.DeductiveClosure(owlrl.OWLRL_Semantics, axiomatic_triples=False,
                           datatype_axioms=False).expand(closure)
    _emit("owl-rl", time.perf_counter() - t)
    t = time.perf_counter()
    validate(closure, shacl_graph=shapes, advanced=True, allow_warnings=True)
    _emit("shacl reasoned", time.perf_counter() - t)
    t = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    data_graph.serialize(out / "gfd.ttl", format="turtle")
    data_graph.serialize(out / "gfd.nt", format="nt")
    data_graph.serialize(out / "gfd.jsonld", format="json-ld")
    ds = Dataset()
    for quad in built.dataset.quads():
        ds.add(quad)
    ds.serialize(out / "gfd.trig", format="trig")
    ds.serialize(out / "gfd.nq", format="nquads")
    _emit("dumps", time.perf_counter() - t)
    if not conforms:
        raise SystemExit("the naive pipeline found violations")


# -- checks on the largest build ----------------------------------------------------------

def sampled_seminar_check(data: Path, dist: Path, seed: int = 2008) -> dict:
    """A seminar drawn at random: owlrl's closure of it alone equals what the build
    published about its own resources, and pySHACL's report on it, asserted and reasoned,
    equals the compiled engine's, which the build ran."""
    from rdflib import URIRef

    from gfd_kg import artefacts
    from gfd_kg.iris import IRIs
    from gfd_kg.model import DATA_GRAPH, build_dataset
    from gfd_kg.publish import ntriples_bytes
    from gfd_kg.reason import infer_owlrl
    from gfd_kg.records import load_records, partition
    from gfd_kg.settings import DataLayout
    from gfd_kg.validate import validate, validation_graph

    iris = IRIs()
    layout = DataLayout(data)
    parts = partition(load_records(layout.records), layout.records)
    name, records = random.Random(seed).choice(parts)
    dataset, _origins, _web = build_dataset(records, iris)
    seminar_data = dataset.graph(iris.graph(DATA_GRAPH))
    own = {x for x in seminar_data.subjects() if isinstance(x, URIRef)}
    other = next((p for p in parts if p[0] != name), None)
    if other is not None:  # what another seminar also has is common, not the seminar's own
        other_ds, _, _ = build_dataset(other[1], iris)
        own -= set(other_ds.graph(iris.graph(DATA_GRAPH)).subjects())
    t = time.perf_counter()
    expected_graph = infer_owlrl(seminar_data, artefacts.ontology(iris), iris)
    seconds = time.perf_counter() - t
    expected = set(ntriples_bytes(expected_graph).splitlines())
    mine = {f"<{x}>".encode() for x in own}
    suffix = b" " + f"<{iris.graph('inferred')}>".encode() + b" ."
    published = set()
    with open(dist / "gfd.nq", "rb") as f:
        for line in f:
            line = line.rstrip(b"\n")
            if line.endswith(suffix):
                published.add(line[: -len(suffix)] + b" .")

    shapes, ontology = artefacts.shapes(iris), artefacts.ontology(iris)
    same_reports = []
    for graph in (seminar_data, seminar_data + expected_graph):
        checked = validation_graph(graph, ontology)
        reports = [sorted(validate(checked, shapes, engine=e).results, key=repr)
                   for e in ("compiled", "pyshacl")]
        same_reports.append(reports[0] == reports[1])

    def about(lines: set[bytes]) -> set[bytes]:
        """The triples whose subject or (IRI) object is one of the seminar's own."""
        return {x for x in lines if x.split(b" ", 1)[0] in mine
                or x[:-2].rsplit(b" ", 1)[-1] in mine}

    return {"seminar": name, "owlrl_seconds": round(seconds, 2),
            "owlrl_triples": len(expected),
            "published_about_it": len(about(published)),
            "equal": about(expected) == about(published) and expected <= published,
            "shacl_reports_equal": all(same_reports)}


# -- the run ------------------------------------------------------------------------------

@dataclass
class SizeResult:
    n: int
    triples: int = 0
    ours: dict = field(default_factory=dict)  # the median run of ``runs``
    naive: dict = field(default_factory=dict)
    runs: list[dict] = field(default_factory=list)


def _median_run(runs: list[dict]) -> dict:
    """The run of median time (of an even number, the slower of the two middle ones)
    among the finished ones; the last run when none finished."""
    finished = sorted((r for r in runs if r["finished"]), key=lambda r: r["seconds"])
    return finished[len(finished) // 2] if finished else runs[-1]


def corpus(n: int, work: Path) -> Path:
    folder = work / f"synth-{n}"
    if not (folder / ".complete").exists():
        from gfd_kg.synth import synthesise

        if folder.exists():
            shutil.rmtree(folder)
        synthesise(ROOT / "data", n, folder)
        (folder / ".complete").write_text("")
    return folder


def _as_dict(run: Run) -> dict:
    return {"seconds": round(run.seconds, 2), "peak_mib": round(run.peak_bytes / 2 ** 20, 1),
            "stages": run.stages, "finished": run.finished, "error": run.error}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("_build", "_naive"):
        (child_build if argv[0] == "_build" else child_naive)(Path(argv[1]), Path(argv[2]))
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1,10,100,1000")
    ap.add_argument("--naive-cap", type=float, default=600.0)
    ap.add_argument("--endpoint-seconds", type=float, default=3.0)
    ap.add_argument("--no-endpoint", action="store_true")
    ap.add_argument("--repeat", type=int, default=1,
                    help="rounds over the sizes; each size's figures are its median run")
    ap.add_argument("--work", type=Path, default=Path("/tmp/gfd-kg-scale"))
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "scale.json")
    args = ap.parse_args(argv)
    sizes = [int(x) for x in args.sizes.split(",")]
    args.work.mkdir(parents=True, exist_ok=True)
    report: dict = {"machine": {"cores": os.cpu_count(), "python": sys.version.split()[0]},
                    "sizes": [], "targets": {"build_1000_seconds": TARGET_SECONDS_1000,
                                             "peak_bytes": TARGET_BYTES,
                                             "growth_1000_over_100": TARGET_GROWTH}}
    naive_stopped = False
    results = {n: SizeResult(n) for n in sizes}
    # --repeat K: K rounds over the sizes, one after the other (100, 1000, 100, 1000...),
    # so that a change in the shared machine's speed reaches every size alike; each size's
    # figures are its median run. Every timed build is a first build, into no folder.
    for round_ in range(1, args.repeat + 1):
        for n in sizes:
            data, result, dist = corpus(n, args.work), results[n], args.work / f"dist-{n}"
            shutil.rmtree(dist, ignore_errors=True)
            print(f"N={n}: our build (round {round_} of {args.repeat})...", file=sys.stderr,
                  flush=True)
            result.runs.append(_as_dict(measured(["_build", str(data), str(dist)])))
            result.ours = _median_run(result.runs)
            if result.runs[-1]["finished"] and not result.triples:
                with open(dist / "gfd.nt", "rb") as f:
                    result.triples = sum(1 for _ in f)
            if round_ > 1:  # the naive pipeline runs once
                continue
            if not naive_stopped:
                print(f"N={n}: naive pipeline (cap {args.naive_cap:g} s)...", file=sys.stderr,
                      flush=True)
                naive = measured(["_naive", str(data), str(args.work / f"naive-{n}")],
                                 cap=args.naive_cap)
                result.naive = _as_dict(naive)
                naive_stopped = not naive.finished
            else:
                result.naive = {"finished": False,
                                "error": "not run: a smaller size hit the cap"}
        report["sizes"] = [r.__dict__ for r in results.values() if r.runs]
        print(table(report), file=sys.stderr, flush=True)
    largest = sizes[-1]
    dist = args.work / f"dist-{largest}"
    print(f"N={largest}: sampled seminar against owlrl...", file=sys.stderr, flush=True)
    report["sampled_seminar"] = sampled_seminar_check(corpus(largest, args.work), dist)
    if not args.no_endpoint:
        sys.path.insert(0, str(ROOT / "benchmarks"))
        import endpoint  # benchmarks/endpoint.py

        print(f"N={largest}: endpoint...", file=sys.stderr, flush=True)
        report["endpoint"] = endpoint.measure(dist, seconds=args.endpoint_seconds)
        report["endpoint"]["seminars"] = largest
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    plot(report, args.out.with_suffix(".png"))
    print(table(report))
    if "endpoint" in report:
        print()
        print(endpoint.table(report["endpoint"]))
    return 0


def _by_n(report: dict) -> dict[int, dict]:
    return {s["n"]: s for s in report["sizes"]}


def table(report: dict) -> str:
    rows = ["| seminars | triples | build s | runs s | peak MiB | naive s | naive peak MiB "
            "| naive / build |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for s in report["sizes"]:
        ours, naive = s["ours"], s["naive"]
        ns = f"{naive['seconds']:.1f}" if naive.get("finished") else (
            f">{naive['seconds']:.0f} (stopped)" if "seconds" in naive else "not run")
        ratio = (f"{naive['seconds'] / ours['seconds']:.1f}x"
                 if naive.get("finished") and ours.get("finished") else "")
        runs = ", ".join(f"{r['seconds']:.1f}" if r["finished"] else "failed"
                         for r in s.get("runs", [ours]))
        rows.append(f"| {s['n']} | {s['triples']} | {ours['seconds']:.1f} | {runs} | "
                    f"{ours['peak_mib']:.0f} | {ns} | {naive.get('peak_mib', '')} | {ratio} |")
    by = _by_n(report)
    lines = ["\n".join(rows)]
    if 100 in by and 1000 in by and by[1000]["ours"].get("finished"):
        growth = by[1000]["ours"]["seconds"] / by[100]["ours"]["seconds"]
        lines.append(f"t(1000) / t(100) = {growth:.1f} (target <= {TARGET_GROWTH:g}); "
                     f"t(1000) = {by[1000]['ours']['seconds']:.0f} s (target <= "
                     f"{TARGET_SECONDS_1000:.0f} s); peak {by[1000]['ours']['peak_mib']:.0f} MiB "
                     f"(target <= {TARGET_BYTES / 2 ** 20:.0f} MiB)")
        paired = [b["seconds"] / a["seconds"] for a, b in zip(
            by[100].get("runs", []), by[1000].get("runs", []), strict=False)
            if a["finished"] and b["finished"]]
        if len(paired) > 1:
            lines.append("t(1000) / t(100) round by round: "
                         + ", ".join(f"{r:.1f}" for r in paired))
    if "sampled_seminar" in report:
        c = report["sampled_seminar"]
        lines.append(f"sampled seminar {c['seminar']}: owlrl closure equals the published "
                     f"inferences: {c['equal']} ({c['owlrl_triples']} triples); pySHACL's "
                     f"reports equal the compiled engine's: {c.get('shacl_reports_equal')}")
    return "\n".join(lines)


def plot(report: dict, path: Path) -> None:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(no plot: matplotlib is not installed)", file=sys.stderr)
        return
    fig, ax = plt.subplots(figsize=(6, 4))
    for who, label in (("ours", "gfd-kg build"), ("naive", "naive (rdflib, whole graph)")):
        points = [(s["n"], s[who]["seconds"]) for s in report["sizes"]
                  if s[who].get("finished")]
        if points:
            ax.plot(*zip(*points, strict=True), marker="o", label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("seminars")
    ax.set_ylabel("build wall time, s")
    ax.axhline(TARGET_SECONDS_1000, linestyle=":", color="grey", label="target at 1000")
    ax.legend()
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100, metadata={"Software": None})
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
