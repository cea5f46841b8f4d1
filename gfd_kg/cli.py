"""``gfd-kg``: a thin command line over the library. Exit codes: 0 success, 1 the graph
does not conform to the shapes, 2 bad input (records, agenda, corrections, files, queries,
options), 3 the output cannot be written, 4 the SPARQL endpoint is down or answers an
error (``diff`` follows diff(1): 0 no change, 1 changes, 2 bad input); 141 (128 +
SIGPIPE, as a shell reports it) when the reader of the output stopped
reading (``gfd-kg query ... | head``), without a traceback."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from rdflib.term import Node

from . import __version__, artefacts, resources
from .build import ValidationFailed, build
from .errors import GfdError, OutputError
from .gsp import StoreUnavailable
from .iris import IRIs
from .links import WIKIDATA_SPARQL
from .publish import dataset_files
from .query import (
    EndpointError,
    QueryError,
    Table,
    graph_result,
    load_dataset,
    load_query,
    parse_bindings,
    select,
    select_remote,
)
from .settings import SETTINGS
from .validate import validate

if TYPE_CHECKING:  # imported where used: serving needs gunicorn and Starlette
    from .web.runner import Limits
    from .web.site import Site

EXIT_OK, EXIT_INVALID, EXIT_BAD_INPUT, EXIT_OUTPUT, EXIT_UNAVAILABLE = 0, 1, 2, 3, 4
EXIT_BROKEN_PIPE = 128 + 13  # SIGPIPE
EXIT_INTERRUPTED = 128 + signal.SIGINT  # Ctrl-C, as a shell reports it
PASSWORD_ENV = "GFD_KG_STORE_PASSWORD"  # publish --password
FORMATS = ("table", "csv", "json", "turtle")


def _add_flag(parser: argparse.ArgumentParser, name: str) -> None:
    s = SETTINGS[name]
    parser.add_argument(f"--{name.replace('_', '-')}", action="store_true",
                        help=f"{s.help} Default: {s.default}")


def _add_setting(parser: argparse.ArgumentParser, name: str) -> None:
    s = SETTINGS[name]
    default = os.environ.get(s.env, s.default) if s.env else s.default
    dest = name
    env = f" Environment: {s.env}." if s.env else ""
    parser.add_argument(f"--{name.replace('_', '-')}", dest=dest, default=default,
                        help=f"{s.help}{env} Default: {s.default or s.unset}")


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gfd-kg",
        description="Build and publish the knowledge graph of the OECD GfD seminar on "
                    "partnerships for e-government (Tunis, 27-28 May 2008).")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("build", help="Check the source records and write the dumps.",
                       description="Load and check the records, build the graph, write dumps.")
    _add_setting(p, "out")
    _add_setting(p, "data")
    _add_setting(p, "base")
    _add_flag(p, "include_personal_contacts")
    _add_setting(p, "build_time")
    _add_setting(p, "jobs")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser(
        "validate", help="Check RDF files against the SHACL shapes.",
        description="Validate RDF files (default: the build's gfd.ttl and inferred.ttl) "
                    "against shapes/ with the ontology. Exit 0 conforms (warnings are "
                    "listed but do not fail), 1 violations, 2 a file cannot be read.")
    p.add_argument("files", nargs="*", metavar="FILE",
                   help="Turtle, N-Triples, N-Quads, TriG or JSON-LD files, read as one graph.")
    _add_setting(p, "out")
    _add_setting(p, "base")
    p.add_argument("--engine", choices=("compiled", "pyshacl"), default="compiled",
                   help="The SHACL engine: compiled (gfd_kg/shacl.py, what the build uses) "
                        "or pyshacl (the reference it is tested against); same report.")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser(
        "serve", help="Serve the build (or RDF files) over HTTP: SPARQL, pages, IRIs.",
        description="Serve the built graph from an embedded store: the SPARQL 1.1 endpoint "
                    "at /sparql, every IRI of the dataset, web pages, /.well-known/void and "
                    "/download/. Given files, serve those instead (endpoint only).")
    p.add_argument("paths", nargs="*", metavar="PATH",
                   help="Turtle, N-Triples, N-Quads, TriG or JSON-LD files to serve instead "
                        "of the build.")
    for name in ("host", "port", "store", "timeout", "max_rows", "max_query_bytes", "workers",
                 "max_waiting", "max_per_client", "out", "base", "assets"):
        _add_setting(p, name)
    p.add_argument("--include-personal-contacts", action="store_true",
                   help="Also serve the personal contact details (the build's contacts.ttl, "
                        "written only by `build --include-personal-contacts`), in the graph "
                        "<{base}graph/contacts>. Off by default: they are personal data.")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser(
        "publish", help="Load the build's named graphs into an external SPARQL store.",
        description="Replace each public named graph of the build (dist/gfd.trig) and "
                    "each SDMX import (dist/sdmx/*.trig) in a SPARQL 1.1 Graph Store HTTP "
                    "Protocol store, e.g. the Oxigraph server's http://HOST:7878/store or "
                    "Virtuoso's http://HOST:8890/sparql-graph-crud-auth. A re-run replaces, "
                    "it does not append.")
    p.add_argument("--store", required=True, metavar="URL",
                   help="The store's Graph Store Protocol endpoint.")
    p.add_argument("--timeout", type=float, default=30.0,
                   help="Seconds to wait for each graph. Default: 30")
    p.add_argument("--user", help="User name for a store that asks for one (HTTP Digest).")
    p.add_argument("--password", default=os.environ.get(PASSWORD_ENV) or None,
                   help=f"The user's password. Environment: {PASSWORD_ENV} (keeps it out of "
                        "the process list).")
    _add_setting(p, "out")
    p.set_defaults(func=cmd_publish)

    p = sub.add_parser(
        "synth", help="Write N synthetic seminars shaped like the real one, as source records.",
        description="Write a data folder of N synthetic seminars, each a renamed copy of the "
                    "real seminar's records (distinct IRIs for events, talks and people; "
                    "shared countries and international organisations), for benchmarks: "
                    "`gfd-kg build --data DIR` builds it.")
    p.add_argument("n", type=int, metavar="N", help="How many seminars.")
    p.add_argument("--out", required=True, help="The new data folder (must not exist or be empty).")
    p.add_argument("--seed", type=int, default=0, help="Shifts the series in time. Default: 0")
    _add_setting(p, "data")
    p.set_defaults(func=cmd_synth)

    p = sub.add_parser(
        "import-sdmx", help="Import OECD statistics (SDMX-CSV) as RDF Data Cube observations.",
        description="Read an SDMX-CSV file (v1 or v2, as OECD's data explorer exports it) and "
                    "write its observations as RDF Data Cube (qb:) in their own named graph, "
                    "DIR/sdmx/NAME.trig, with sdmx-dimension:refArea pointing at the build's "
                    "country IRIs, so a SPARQL query can join them with the seminar. Nothing is "
                    "written if the file has any error. `query` and `serve` read the imports; "
                    "a rebuild keeps them.")
    p.add_argument("file", metavar="FILE.csv", help="The SDMX-CSV file.")
    p.add_argument("--name", help="Name of the import (default: the file's name).")
    _add_setting(p, "out")
    _add_setting(p, "base")
    p.set_defaults(func=cmd_import_sdmx)

    p = sub.add_parser("links", help="Check the link table against Wikidata (online).")
    links_sub = p.add_subparsers(dest="links_command", required=True, metavar="ACTION")
    q = links_sub.add_parser(
        "check", help="Ask Wikidata whether each linked item has the expected label and codes.",
        description="Ask Wikidata's SPARQL endpoint (through SPARQLWrapper) whether each item of "
                    "the link table still has the expected English label and ISO 3166-1 codes, "
                    "and report differences. Optional: when the endpoint cannot be reached "
                    "(offline), it says so and exits 0. Exit 1 on a mismatch.")
    q.add_argument("--links", default="",
                   help="The link table. Default: the one installed with the package "
                        "(gfd_kg/data/reference/links.csv)")
    q.add_argument("--endpoint", default=WIKIDATA_SPARQL,
                   help=f"Wikidata's SPARQL endpoint. Default: {WIKIDATA_SPARQL}")
    q.add_argument("--timeout", type=float, default=20.0,
                   help="Seconds to wait for Wikidata's answer. Default: 20")
    q.set_defaults(func=cmd_links_check)

    p = sub.add_parser(
        "query", help="Run a SPARQL query over the built graph or an endpoint.",
        description="Run a SPARQL query (a .rq file, e.g. queries/people-roles.rq, or the "
                    "query text) over the built graph (dist/gfd.trig: data, ontology, "
                    "inferred and provenance graphs, the default graph their union) or, "
                    "with --endpoint, over any SPARQL endpoint.")
    p.add_argument("query", metavar="QUERY", help="A .rq file or the text of a query.")
    p.add_argument("--format", choices=FORMATS, default="table",
                   help="table (aligned text), csv or json (SPARQL 1.1 results formats) for "
                        "SELECT and ASK; turtle for CONSTRUCT and DESCRIBE. Default: table")
    p.add_argument("--bind", action="append", default=[], metavar="NAME=VALUE",
                   help="Bind the query's variable ?NAME to VALUE, written as in SPARQL: an "
                        "IRI (<...>, http(s)://... or prefix:local with a prefix of the "
                        "dataset, e.g. person:khedija-zammouri), a quoted literal (\"text\", "
                        "\"text\"@en, \"text\"^^xsd:date), a number or true/false; as a "
                        "VALUES clause. A name that is not a variable of the query, or a bare "
                        "id, is refused. Repeatable.")
    p.add_argument("--endpoint", metavar="URL",
                   help="Query this SPARQL endpoint (SPARQL 1.1 Protocol) instead of the build.")
    p.add_argument("--timeout", type=float, default=30.0,
                   help="Seconds to wait for the endpoint. Default: 30")
    _add_setting(p, "out")
    _add_setting(p, "base")
    p.set_defaults(func=cmd_query)

    p = sub.add_parser(
        "diff", help="Say what changed between two builds (or two N-Quads/TriG dumps).",
        description="Compare two builds (dist/ folders: their gfd.nq) or two N-Quads (.nq) or "
                    "TriG (.trig) dumps: the triples removed and added in each named graph, "
                    "grouped by the resource they describe (blank nodes inside the resource "
                    "that reaches them), with its label. Writes Turtle in the Changeset "
                    "vocabulary, an HTML page, or a line per change. Exit 0 no change, 1 "
                    "changes, 2 an input cannot be read (the message names it).")
    p.add_argument("old", metavar="OLD", help="The earlier build folder or dump.")
    p.add_argument("new", metavar="NEW", help="The later build folder or dump.")
    p.add_argument("--format", choices=("turtle", "html", "text"), default="turtle",
                   help="turtle (what dist/changes.ttl holds), html (the /changes page) or "
                        "text (one line per triple, - removed, + added). Default: turtle")
    _add_setting(p, "base")
    p.set_defaults(func=cmd_diff)
    return parser


def cmd_build(args: argparse.Namespace) -> int:
    iris = IRIs(args.base)
    try:
        jobs = int(args.jobs)
        if jobs < 0:
            raise ValueError
    except ValueError:
        raise ValueError(f"--jobs {args.jobs!r}: give a number of processes, or 0 for one "
                         "per core") from None
    bar = ProgressBar(sys.stderr)
    build(resources.data_folder(args.data), Path(args.out), iris, progress=bar.line,
          include_personal_contacts=args.include_personal_contacts,
          time_of_build=args.build_time or None, jobs=jobs or None, advance=bar.advance)
    print(f"built     {Path(args.out) / 'gfd.ttl'}")
    return EXIT_OK


class ProgressBar:
    """Stage lines on stdout; over the seminars, a bar on the terminal (redrawn in
    place), or a line at every tenth when stderr is not a terminal. Silent for one."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.shown = 0
        self.started = time.monotonic()

    def line(self, text: str) -> None:
        if self.tty and self.shown:
            self.stream.write("\r\033[K")
            self.shown = 0
        print(text, flush=True)

    def advance(self, done: int, total: int) -> None:
        if total < 2:
            return
        rate = done / max(time.monotonic() - self.started, 1e-9)
        left = (total - done) / rate if rate else 0
        text = f"seminars {done}/{total} {rate:.1f}/s, {left:.0f}s left"
        if self.tty:
            filled = done * 30 // total
            self.stream.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {text}\033[K")
            self.shown = 1
        elif done == total or done * 10 // total != (done - 1) * 10 // total:
            self.stream.write(text + "\n")
        self.stream.flush()


def cmd_validate(args: argparse.Namespace) -> int:
    iris = IRIs(args.base)
    out = Path(args.out)
    files = [Path(f) for f in args.files] or [
        p for p in (out / "gfd.ttl", out / "inferred.ttl") if p.exists() or p.name == "gfd.ttl"]
    data = artefacts.read_rdf_files(files)
    report = validate(data, artefacts.shapes(iris), artefacts.ontology(iris),
                      engine=args.engine)
    print(report.text())
    return EXIT_OK if report.conforms else EXIT_INVALID


def cmd_serve(args: argparse.Namespace) -> int:
    from .web.editor import HOW_TO_GET_IT
    from .web.runner import Limits
    from .web.server import check_address, serve

    try:
        limits = Limits(timeout=float(args.timeout), max_rows=int(args.max_rows),
                        max_query_bytes=int(args.max_query_bytes), workers=int(args.workers),
                        max_waiting=int(args.max_waiting),
                        max_per_client=int(args.max_per_client))
        port = int(args.port)
    except ValueError as e:
        raise ValueError(f"a server setting is not a number: {e}") from None
    if args.store not in ("memory", "disk"):
        raise ValueError(f"--store is memory or disk, not {args.store!r}")
    # until the server runs, a TERM or HUP unwinds like an error (and Ctrl-C like Ctrl-C),
    # so that the store folder is removed; the server takes the signals over once it runs
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _exit_on_signal)
    try:
        port = check_address(args.host, port)  # first: a port in use is said before the load
        site, paths, graphs = _site(args, limits)
        if site.assets is None:
            print(f"editor    off: the pages have the plain query form ({HOW_TO_GET_IT})",
                  flush=True)
        with site:
            site.load(paths, graphs, in_memory=args.store == "memory")
            url = f"http://{args.host}:{port}/"
            serve(site, args.host, port, lambda _: print(
                f"serving   {url}  (SPARQL: {url}sparql)", flush=True))
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    return EXIT_OK


def _site(args: argparse.Namespace, limits: Limits) -> tuple[Site, list[Path], dict[Path, str]]:
    """What to serve: the site (not loaded yet), the files to load in its store (the build's
    dataset, or the paths given) and the named graph of each file that needs one."""
    from .query import load_query
    from .web.editor import find_assets
    from .web.runner import ClientCounts
    from .web.site import Site

    counts = ClientCounts(rows=4 * limits.workers + 4)  # a row a worker, and their successors
    iris = IRIs(args.base)
    if args.paths:
        return Site(iris.base, limits, counts=counts, assets=find_assets(args.assets)), \
            [Path(p) for p in args.paths], {}
    out = Path(args.out)
    paths, graphs = dataset_files(out), {}
    if args.include_personal_contacts:
        contacts = out / "contacts.ttl"
        if not contacts.is_file():
            raise ValueError(f"{contacts} does not exist: build with "
                             "--include-personal-contacts first")
        paths.append(contacts)
        graphs[contacts] = str(iris.graph("contacts"))
    examples = [load_query(p) for p in sorted(resources.queries_dir().glob("*.rq"))]
    return Site(iris.base, limits, dist=out, examples=examples, counts=counts,
                assets=find_assets(args.assets)), paths, graphs


def _exit_on_signal(signum: int, frame: object) -> None:
    sys.exit(128 + signum)


def cmd_synth(args: argparse.Namespace) -> int:
    from .synth import synthesise

    out = synthesise(resources.data_folder(args.data), args.n, Path(args.out), seed=args.seed)
    print(f"synth     {args.n} seminars in {out}")
    return EXIT_OK


def cmd_import_sdmx(args: argparse.Namespace) -> int:
    from .sdmx import import_sdmx

    import_sdmx(Path(args.file), Path(args.out), IRIs(args.base), name=args.name, progress=print)
    return EXIT_OK


def cmd_links_check(args: argparse.Namespace) -> int:
    from .links import check_links, is_offline_error

    try:
        links = Path(args.links) if args.links else resources.links_csv()
        report = check_links(links, endpoint=args.endpoint, timeout=args.timeout)
    except EndpointError as e:
        if is_offline_error(e):
            print(f"skipped: Wikidata's endpoint cannot be reached (offline?): {e}")
            return EXIT_OK
        raise
    print(report.text())
    return EXIT_OK if report.ok else EXIT_INVALID


def cmd_publish(args: argparse.Namespace) -> int:
    from . import gsp

    if (args.user is None) != (args.password is None):
        raise GfdError("give both --user and --password (or $" + PASSWORD_ENV + "), or neither")
    credentials = gsp.Credentials(args.user, args.password) if args.user is not None else None
    graphs = gsp.read_build(args.out)
    for graph, count in gsp.publish(args.store, graphs, timeout=args.timeout,
                                    credentials=credentials):
        print(f"replaced  {graph}  ({count} triples)")
    return EXIT_OK


def _is_file(path: Path) -> bool:
    """Whether a query argument names a file; a query text too long to be a file name
    (the system says so) is not one."""
    try:
        return path.is_file()
    except OSError:
        return False


def cmd_query(args: argparse.Namespace) -> int:
    path = Path(args.query)
    if args.query.endswith(".rq") or (path.suffix == "" and _is_file(path)):
        text = load_query(path).text
    else:
        text = args.query
    if args.endpoint and args.format == "turtle":
        raise QueryError("--format turtle is not available with --endpoint")
    run: Callable[[str, dict[str, Node]], Table]
    if args.endpoint:
        run = partial(select_remote, args.endpoint, timeout=args.timeout)
    else:
        dataset = load_dataset(dataset_files(Path(args.out)))
        run = partial(select, dataset)
    bindings = parse_bindings(args.bind, IRIs(args.base).prefixes_text(), query=text,
                              run=lambda q: run(q, {}))
    if args.format == "turtle":
        sys.stdout.write(graph_result(dataset, text, bindings).serialize(format="turtle"))
        return EXIT_OK
    table = run(text, bindings)
    if args.format == "csv":
        sys.stdout.write(table.csv())
    elif args.format == "json":
        print(table.json())
    else:
        print(table.text())
    return EXIT_OK


def cmd_diff(args: argparse.Namespace) -> int:
    from .diff import changes_text, diff, load_side, page_context
    from .publish import changes_turtle
    from .render import render

    iris = IRIs(args.base)
    changes = diff(load_side(Path(args.old), iris), load_side(Path(args.new), iris))
    if args.format == "turtle":
        sys.stdout.write(changes_turtle(changes, iris).decode("utf-8"))
    elif args.format == "html":
        sys.stdout.write(render("changes.html", **page_context(changes, iris)))
    else:
        sys.stdout.write(changes_text(changes, iris))
    print(changes.summary(), file=sys.stderr)
    return EXIT_OK if changes.empty else EXIT_INVALID


def main(argv: list[str] | None = None) -> int:
    parser = make_parser()
    args = parser.parse_args(argv)
    try:
        code = int(args.func(args))
        sys.stdout.flush()  # here, where a closed pipe can still be reported cleanly
        return code
    except KeyboardInterrupt:
        # a build writes into a folder of its own and swaps it in whole: an interrupted
        # one leaves the output folder as it was
        where = (f"; {args.out} is as it was, nothing half-written is left"
                 if args.func is cmd_build else "")
        print(f"gfd-kg: interrupted{where}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # Nothing more can be written; Python would report the failed flush at exit too.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except (EndpointError, StoreUnavailable) as e:
        print(f"gfd-kg: error: {e}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    except ValidationFailed as e:
        print(f"gfd-kg: {e}", file=sys.stderr)
        return EXIT_INVALID
    except OutputError as e:
        print(f"gfd-kg: error: {e}", file=sys.stderr)
        return EXIT_OUTPUT
    except (GfdError, ValueError) as e:
        print(f"gfd-kg: error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
