"""SHACL engines side by side: the cost of validating one seminar, as the build does (the
asserted graph, then the reasoned one, each with the ontology's subclass axioms), by the
compiled engine (gfd_kg/shacl.py), pySHACL (the reference path, ``validate --engine
pyshacl``) and the ``shacl`` package (``pip install shacl``; skipped when it is not
installed), all in one run, on this machine.

    python benchmarks/shacl_engines.py [--repeat 5] [--out benchmarks/results/shacl.json]

Each engine validates the real seminar ``--repeat`` times; the table gives the median and
the fastest run, per seminar (both passes), and the results each engine found (the same
count is a sanity check, not a comparison: tests/test_shacl_engine.py compares reports).
What is timed: for the compiled engine, indexing the graph and checking it (the shapes
are compiled once, as the build does); for pySHACL, assembling its graph and validating;
for the ``shacl`` package, validating N-Triples text written beforehand (its shapes
compiled once). A script, not a test: the machine is shared, timings are noisy; read the
ratios.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from rdflib import Graph
from rdflib.namespace import RDFS

ROOT = Path(__file__).resolve().parents[1]


def _timed(run: Callable[[], int], repeat: int) -> dict[str, float | int]:
    seconds, found = [], 0
    for _ in range(repeat):
        t = time.perf_counter()
        found = run()
        seconds.append(time.perf_counter() - t)
    return {"median_ms": round(statistics.median(seconds) * 1000, 1),
            "fastest_ms": round(min(seconds) * 1000, 1), "results": found}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--out", type=Path, default=None, help="also write the figures as JSON")
    args = ap.parse_args()

    from gfd_kg import artefacts
    from gfd_kg.build import assemble
    from gfd_kg.iris import IRIs
    from gfd_kg.model import DATA_GRAPH
    from gfd_kg.reason import infer
    from gfd_kg.validate import (
        compiled,
        index_of,
        shapes_graph,
        validate,
        validation_graph,
    )

    iris = IRIs()
    shapes, ontology = shapes_graph(artefacts.shapes(iris)), artefacts.ontology(iris)
    data = assemble(ROOT / "data", iris).graph(DATA_GRAPH, iris)
    graphs = [data, data + infer(data, ontology, iris)]
    compiled(shapes)  # compiled once, as the build does

    def ours() -> int:
        return sum(len(validate(index_of(g, ontology), shapes).results) for g in graphs)

    def pyshacl() -> int:
        return sum(len(validate(validation_graph(g, ontology), shapes, engine="pyshacl").results)
                   for g in graphs)

    figures = {"compiled": _timed(ours, args.repeat), "pyshacl": _timed(pyshacl, args.repeat)}
    try:
        import shacl  # type: ignore[import-not-found]
    except ImportError:
        print("(the shacl package is not installed: pip install shacl)", file=sys.stderr)
    else:
        package_shapes = shacl.Shapes.from_text(shapes.serialize(format="nt"), format="nt")
        texts = []
        for g in graphs:
            whole = Graph()
            for t in g:
                whole.add(t)
            for t in ontology.triples((None, RDFS.subClassOf, None)):
                whole.add(t)
            texts.append(whole.serialize(format="nt"))

        def package() -> int:
            return sum(len(package_shapes.validate_text(text, format="nt",
                                                        allow_warnings=True).results)
                       for text in texts)
        figures["shacl package"] = _timed(package, args.repeat)

    base = figures["compiled"]["median_ms"]
    print(f"one seminar ({len(graphs[0])} asserted triples, {len(graphs[1])} reasoned), "
          f"both passes, {args.repeat} runs")
    print("| engine | median ms | fastest ms | results | median / compiled |")
    print("|---|---:|---:|---:|---:|")
    for name, f in figures.items():
        print(f"| {name} | {f['median_ms']} | {f['fastest_ms']} | {f['results']} | "
              f"{float(f['median_ms']) / float(base):.1f} |")
    if args.out is not None:
        args.out.write_text(json.dumps({
            "what": "one seminar, asserted and reasoned passes, milliseconds",
            "triples": {"asserted": len(graphs[0]), "reasoned": len(graphs[1])},
            "repeat": args.repeat, "engines": figures}, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
