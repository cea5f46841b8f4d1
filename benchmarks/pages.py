"""How fast each kind of page answers, through the real server: `gfd-kg serve` on
127.0.0.1, one httpx connection, requests one after another (issue 17's targets: every page
at most 30 ms p50 on the real seminar, the search at most 50 ms; at 1,000 seminars a person
page and a search at most 200 ms p50).

    python benchmarks/pages.py --dist DIR [--scale-dist DIR] [--requests 200]

``--dist`` is the real seminar's build. ``--scale-dist`` a build of `gfd-kg synth 1000`; one
made before the search index existed (the scale benchmark's) is served from a folder of
links to its files with the index built beside them from its dumps. Every answer is checked
(200, and the page's own name in it) before it counts.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import httpx
import pyoxigraph as ox

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from gfd_kg.search import INDEX_NAME, build_index  # noqa: E402
from tests.server import free_port, stop, wait_until_up  # noqa: E402

# kind -> (path, a text the answer must hold)
REAL_PAGES: dict[str, tuple[str, str]] = {
    "landing": ("/", "Downloads"),
    "seminar": ("/event/gfd-2008-tunis", "6th High Level Seminar"),
    "session": ("/event/gfd-2008-tunis/session-2", "Partnering with the private sector"),
    "talk": ("/event/gfd-2008-tunis/session-2/talk-7", "The experience of PPPs in Dubai"),
    "meeting": ("/event/wg-egovernment-2008-tunis", "Fourth Regional Meeting"),
    "person": ("/person/khedija-zammouri", "Khedija Zammouri"),
    "organisation": ("/organization/consip", "Consip"),
    "country": ("/country/tunisia", "Tunisia"),
    "list: people": ("/person/", "Khedija Zammouri"),
    "list: organisations": ("/organization/", "Consip"),
    "list: countries": ("/country/", "Tunisia"),
    "list: events": ("/event/", "Welcome Cocktail"),
    "list: schemes": ("/scheme/", "Arrangement forms"),
    "list: a scheme": ("/scheme/ArrangementFormScheme", "Informal network"),
    "search: zammouri": ("/search?q=zammouri", "Khedija Zammouri"),
    "search: e-government": ("/search?q=e-government", "E-government Unit"),
    "ontology": ("/ontology/", "gfdo"),
}
BASE = "https://w3id.org/gfd-kg/"
PERSON = "SELECT ?p ?n WHERE { ?p a <http://schema.org/Person> ; <http://schema.org/name> ?n } " \
         "ORDER BY ?p LIMIT 1 OFFSET 500"


def timed(client: httpx.Client, path: str, must: str, n: int, warmup: int) -> dict[str, float]:
    """p50 and p95 in ms of ``n`` requests of ``path`` after ``warmup`` unmeasured ones."""
    took = []
    for i in range(warmup + n):
        t = time.perf_counter()
        r = client.get(path, headers={"Accept": "text/html"})
        elapsed = time.perf_counter() - t
        if r.status_code != 200 or must not in r.text:
            raise SystemExit(f"{path}: {r.status_code}, {must!r} not in the answer")
        if i >= warmup:
            took.append(elapsed * 1000)
    took.sort()
    return {"p50": statistics.median(took), "p95": took[max(0, int(len(took) * 0.95) - 1)],
            "n": n}


@contextmanager
def serving(dist: Path) -> Iterator[str]:
    """`gfd-kg serve` of ``dist`` on a free port of 127.0.0.1 (waited for up to 15
    minutes: 1,000 seminars take minutes to load on a busy machine), stopped after."""
    port = free_port()
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen([sys.executable, "-m", "gfd_kg", "serve", "--out", str(dist),
                                    "--host", "127.0.0.1", "--port", str(port)],
                                   stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_until_up(f"http://127.0.0.1:{port}/health", process, deadline=900)
            yield f"http://127.0.0.1:{port}"
        finally:
            stop(process)


def measure(dist: Path, pages: dict[str, tuple[str, str]], n: int, warmup: int,
            pick: bool = False) -> dict[str, dict[str, float]]:
    with serving(dist) as base, \
            httpx.Client(base_url=base, timeout=60, limits=httpx.Limits(
                max_connections=1, keepalive_expiry=1.0)) as client:
        if pick:  # a person of the synthetic corpus, and a search for their family name
            r = client.get("/sparql", params={"query": PERSON},
                           headers={"Accept": "application/sparql-results+json"})
            row = r.json()["results"]["bindings"][0]
            path = "/" + row["p"]["value"].removeprefix(BASE)
            name = row["n"]["value"]
            pages = {"person": (path, name),
                     "search: a family name": (f"/search?q={quote(name.split()[-1])}", name),
                     "search: a full name": (f"/search?q={quote(name)}", name)}
        return {kind: {**timed(client, path, must, n, warmup), "path": path}  # type: ignore[dict-item]
                for kind, (path, must) in pages.items()}


def with_index(dist: Path, work: Path) -> Path:
    """``dist``, or, when it has no search index, a folder of links to its files with the
    index built from its dumps (the data as gfd.nt, the inferred and ontology graphs)."""
    if (dist / INDEX_NAME).is_file():
        return dist
    folder = work / "dist"
    if (folder / INDEX_NAME).is_file():  # made by an earlier run with the same --work
        return folder
    folder.mkdir(parents=True)
    for entry in dist.iterdir():
        (folder / entry.name).symlink_to(entry.absolute())
    graphs = {"data": (dist / "gfd.nt").read_bytes()}
    for name in ("inferred", "ontology"):
        triples = ox.parse(path=str(dist / f"{name}.ttl"), format=ox.RdfFormat.TURTLE)
        graphs[name] = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES) or b""
    t = time.perf_counter()
    build_index(folder, graphs, BASE)
    print(f"index built from {dist}'s dumps in {time.perf_counter() - t:.1f} s, "
          f"{(folder / INDEX_NAME).stat().st_size / 1e6:.1f} MB", file=sys.stderr)
    return folder


def table(title: str, figures: dict[str, dict[str, float]], target: dict[str, float]) -> str:
    lines = [title, "| page | path | p50 ms | p95 ms | target p50 |",
             "| --- | --- | ---: | ---: | ---: |"]
    for kind, f in figures.items():
        limit = target.get(kind.split(":")[0], target["page"])
        lines.append(f"| {kind} | `{f['path']}` | {f['p50']:.1f} | {f['p95']:.1f} | "
                     f"{limit:g}{'' if f['p50'] <= limit else ' (missed)'} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dist", type=Path, required=True, help="the real seminar's build")
    ap.add_argument("--scale-dist", type=Path, help="a build of `gfd-kg synth 1000`")
    ap.add_argument("--requests", type=int, default=200, help="measured requests a page")
    ap.add_argument("--warmup", type=int, default=20, help="unmeasured requests first")
    ap.add_argument("--out", type=Path, help="write the figures here as JSON")
    ap.add_argument("--work", type=Path, help="where the index of an older --scale-dist is "
                    "built and kept for the next run (default: a temporary folder)")
    args = ap.parse_args()
    results: dict[str, dict] = {}
    results["real"] = measure(args.dist, REAL_PAGES, args.requests, args.warmup)
    print(table("On the real seminar:", results["real"], {"page": 30, "search": 50}))
    if args.scale_dist:
        with tempfile.TemporaryDirectory(prefix="gfd-pages-") as temporary:
            served = with_index(args.scale_dist, args.work or Path(temporary))
            results["scale"] = measure(served, {}, args.requests, args.warmup, pick=True)
        print(table(f"\nAt {args.scale_dist.name}:", results["scale"],
                    {"page": 200, "search": 200}))
    if args.out:
        args.out.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
