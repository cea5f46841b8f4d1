"""The query editor of the landing page and of ``/sparql``: YASGUI (``@zazuko/yasgui``, from
the npm registry), served by the app from where npm put it, never vendored.

The pages keep their plain ``<form>``; a script of ours (``templates/editor.js``) puts
YASGUI in its place when JavaScript runs and the editor's files are there. Where they are:

- ``--assets DIR`` (``GFD_KG_ASSETS``): a folder holding ``yasgui.min.js`` and
  ``yasgui.min.css``, or a ``node_modules`` folder (or the folder above one) that npm
  installed ``@zazuko/yasgui`` into: for an installed gfd-kg;
- else, in a checkout, the repository's ``node_modules`` (``scripts/npm-deps.sh``);
- else none: the pages have the plain form only, and ``serve`` says so once.

Only the two built files are served (``/static/yasgui/yasgui.min.js`` and ``.css``), and
our script (``/static/editor.js``); any other name under ``/static/`` is 404."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import SourceError
from ..iris import DEFAULT_BASE
from ..query import QueryError, QueryFile, term, with_bindings
from ..resources import templates_dir

ASSETS_ENV = "GFD_KG_ASSETS"
PACKAGE = Path("@zazuko") / "yasgui"
BUILD = PACKAGE / "build"
FILES = {"yasgui.min.js": "text/javascript; charset=utf-8",
         "yasgui.min.css": "text/css; charset=utf-8"}
SCRIPT = "editor.js"  # ours, in templates/
# a checkout: the folder above the package, where package.json and node_modules are
CHECKOUT = Path(__file__).resolve().parent.parent.parent
HOW_TO_GET_IT = ("in a checkout run `bash scripts/npm-deps.sh` (npm ci); for an installed "
                 "gfd-kg, `npm install @zazuko/yasgui` somewhere and give that node_modules "
                 f"folder as --assets DIR (or {ASSETS_ENV})")


@dataclass(frozen=True)
class Assets:
    """The folder YASGUI's built files are in, and its version (for the addresses, so that
    a new version is a new address and the old one can be cached for good)."""

    folder: Path
    version: str

    def path(self, name: str) -> Path | None:
        """The file ``name`` of the editor's, None for any other name."""
        return self.folder / name if name in FILES else None


def _built(folder: Path) -> bool:
    return all((folder / name).is_file() for name in FILES)


def _version(build: Path) -> str:
    try:
        meta = json.loads((build.parent / "package.json").read_text(encoding="utf-8"))
        return str(meta.get("version", "0"))
    except (OSError, ValueError):
        return "0"


def find_assets(given: str = "") -> Assets | None:
    """The editor's files: in ``given`` (the --assets setting) when set, else in the
    checkout's node_modules; None when a checkout has none. A folder given that holds no
    YASGUI build is an error, said with what it should hold."""
    if given:
        root = Path(given)
        for build in (root, root / BUILD, root / "node_modules" / BUILD):
            if _built(build):
                return Assets(build.resolve(), _version(build))
        raise SourceError(f"--assets {given}: no YASGUI build there (give the folder with "
                          f"{' and '.join(FILES)}, or a node_modules folder with {BUILD}); "
                          + HOW_TO_GET_IT)
    build = CHECKOUT / "node_modules" / BUILD
    if (CHECKOUT / "package.json").is_file() and _built(build):
        return Assets(build, _version(build))
    return None


def script_path() -> Path:
    return templates_dir() / SCRIPT


DEFAULT_QUERY = """PREFIX schema: <http://schema.org/>

SELECT ?person ?name ?jobTitle WHERE {
  ?person a schema:Person ;
          schema:name ?name .
  OPTIONAL { ?person schema:jobTitle ?jobTitle }
}
ORDER BY ?name
"""  # the landing page's form holds it too


# --- the configuration the page embeds (a JSON data block the script reads) ----------

_PARAMETER_RE = re.compile(r"\(parameter \?(\w+)\)|Parameter: \?(\w+)")
_EXAMPLE_RE = re.compile(r"e\.g\.\s+(\w+)=(\S+?)[.,;]?(?=\s|$)")


def _comments(text: str) -> str:
    return " ".join(line.lstrip("#").strip() for line in text.splitlines()
                    if line.lstrip().startswith("#"))


def parameters(q: QueryFile) -> dict[str, str]:
    """The parameters a query's comments declare (``(parameter ?name)`` or
    ``Parameter: ?name``), each with the example value its comment gives (``e.g.
    name=VALUE``), as ``gfd-kg query --bind`` takes it."""
    comments = _comments(q.text)
    names = [a or b for a, b in _PARAMETER_RE.findall(comments)]
    examples = dict(_EXAMPLE_RE.findall(comments))
    return {name: examples[name] for name in dict.fromkeys(names) if name in examples}


def example_text(q: QueryFile, prefixes: dict[str, str]) -> str:
    """The query as the editor offers it: a parameterised query with its parameter bound
    to the example value by a VALUES block, and a comment above it saying to change it."""
    params = parameters(q)
    if not params:
        return q.text
    base = prefixes.get("gfdo", DEFAULT_BASE).removesuffix("ontology/")
    try:  # an example written under the default base, on a site of another base
        bound = {name: term(base + value[len(DEFAULT_BASE):] if value.startswith(DEFAULT_BASE)
                            else value, prefixes) for name, value in params.items()}
    except QueryError:
        return q.text
    text = with_bindings(q.text, bound)
    names = ", ".join("?" + n for n in sorted(bound))
    return text.replace("  VALUES (", f"  # the parameter {names}: put your value here\n"
                                      "  VALUES (", 1)


def editor_config(examples: list[QueryFile], prefixes: dict[str, str],
                  endpoint: str) -> dict[str, Any]:
    """What the script starts YASGUI with: the endpoint (a path, resolved against the
    page's address by the script), the dataset's prefixes (for the prefix completion and
    the result table's short IRIs), the query to start with where the form has none, and
    every example query with its title and why."""
    return {
        "endpoint": endpoint,
        "prefixes": prefixes,
        "query": DEFAULT_QUERY,
        "examples": [{"name": q.name, "title": q.title, "why": q.why,
                      "query": example_text(q, prefixes)} for q in examples],
    }


@dataclass(frozen=True)
class Editor:
    """What a page needs to offer the editor: the addresses of its files and its
    configuration. A page given none keeps the plain form."""

    script: str
    stylesheet: str
    library: str
    config: dict[str, Any]


def editor(assets: Assets | None, examples: Sequence[QueryFile],
           prefixes: tuple[tuple[str, str], ...], endpoint: str) -> Editor | None:
    """The editor of a page, None without its files. Made once per site and endpoint: the
    examples' bindings are a parse each (tens of milliseconds for all)."""
    if assets is None:
        return None
    return _editor(assets, tuple(examples), prefixes, endpoint)


@functools.lru_cache(maxsize=16)
def _editor(assets: Assets, examples: tuple[QueryFile, ...],
            prefixes: tuple[tuple[str, str], ...], endpoint: str) -> Editor:
    v = f"?v={assets.version}"
    return Editor(script="/static/" + SCRIPT + v, stylesheet="/static/yasgui/yasgui.min.css" + v,
                  library="/static/yasgui/yasgui.min.js" + v,
                  config=editor_config(list(examples), dict(prefixes), endpoint))
