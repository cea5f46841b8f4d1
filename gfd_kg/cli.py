"""``gfd-kg``: a thin command line over the library. Exit codes: 0 success, 2 bad
input (records, agenda, corrections, options), 3 the output cannot be written."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from . import __version__
from .build import build
from .errors import GfdError, OutputError
from .iris import IRIs
from .settings import SETTINGS

EXIT_OK, EXIT_BAD_INPUT, EXIT_OUTPUT = 0, 2, 3


def _add_flag(parser: argparse.ArgumentParser, name: str) -> None:
    s = SETTINGS[name]
    parser.add_argument(f"--{name.replace('_', '-')}", action="store_true",
                        help=f"{s.help} Default: {s.default}")


def _add_setting(parser: argparse.ArgumentParser, name: str) -> None:
    s = SETTINGS[name]
    default = os.environ.get(s.env, s.default) if s.env else s.default
    env = f" Environment: {s.env}." if s.env else ""
    parser.add_argument(f"--{name}", default=default, help=f"{s.help}{env} Default: {s.default}")


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
    p.set_defaults(func=cmd_build)
    return parser


def cmd_build(args: argparse.Namespace) -> int:
    iris = IRIs(args.base)
    build(Path(args.data), Path(args.out), iris, progress=lambda line: print(line, flush=True),
          include_personal_contacts=args.include_personal_contacts)
    print(f"built     {Path(args.out) / 'gfd.ttl'}")
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    parser = make_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except OutputError as e:
        print(f"gfd-kg: error: {e}", file=sys.stderr)
        return EXIT_OUTPUT
    except (GfdError, ValueError) as e:
        print(f"gfd-kg: error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
