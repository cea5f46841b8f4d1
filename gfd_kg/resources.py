"""The files the package ships, found in one place: the ontology, the shapes, the example
queries and the curated data. They stay top-level folders of the repository (the
artefacts a linked-data person opens first) and are installed as data-only subpackages
(``pyproject.toml`` maps ``gfd_kg.ontology`` to ``ontology/``, and so on), so that
``importlib.resources`` finds them in a checkout's editable install and in a wheel alike,
whatever the current folder; a source tree that is not installed at all is read in place."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from .errors import SourceError

# the folder of the repository each subpackage is made from, for the error messages
_FOLDERS = {"ontology": "ontology/", "shapes": "shapes/", "queries": "queries/",
            "data": "data/", "templates": "templates/"}


# a source tree run without installing it (PYTHONPATH=checkout): the folders are beside
# the package, where no import finds them
_SOURCE_TREE = Path(__file__).resolve().parent.parent


def _folder(name: str) -> Path:
    """The installed folder ``gfd_kg/<name>``, as a path: the build globs and reads
    folders with pathlib, so a package imported from a zip file is refused here."""
    try:
        found = files(f"gfd_kg.{name}")
    except ModuleNotFoundError:
        beside = _SOURCE_TREE / name
        if (beside / "__init__.py").is_file():
            return beside
        raise SourceError(f"the package's {_FOLDERS[name]} folder (gfd_kg.{name}) is not "
                          "installed: reinstall gfd-kg (pip install gfd-kg, or "
                          "`pip install .` from a checkout)") from None
    if not isinstance(found, Path):
        raise SourceError(f"the package's {_FOLDERS[name]} folder is at {found}, not in "
                          "a folder of the file system: install gfd-kg unzipped")
    return found


def ontology_dir() -> Path:
    """``ontology/``: the OWL ontology, Turtle files read as one graph."""
    return _folder("ontology")


def shapes_dir() -> Path:
    """``shapes/``: the SHACL shapes, Turtle files read as one graph."""
    return _folder("shapes")


def queries_dir() -> Path:
    """``queries/``: the example SPARQL queries (``*.rq``; ``sdmx/`` needs an import)."""
    return _folder("queries")


def data_dir() -> Path:
    """``data/``: the curated source of the real seminar, built when no ``--data`` is given."""
    return _folder("data")


def templates_dir() -> Path:
    """``templates/``: the Jinja2 templates of the pages and their stylesheet."""
    return _folder("templates")


def links_csv() -> Path:
    """The link table (``data/reference/links.csv``) that ``links check`` reads."""
    return data_dir() / "reference" / "links.csv"


def data_folder(given: str) -> Path:
    """The data folder of a build: ``given`` (the ``--data`` setting) when set, else the
    curated data installed with the package. A folder given but absent is said as such,
    before a file inside it is missed."""
    if not given:
        return data_dir()
    folder = Path(given)
    if not folder.is_dir():
        raise SourceError(f"--data {given}: no such folder (give a folder with source/, "
                          "corrections.yaml and records/, or leave --data out to build "
                          "the curated data installed with gfd-kg)")
    return folder
