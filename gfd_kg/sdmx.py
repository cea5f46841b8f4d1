"""Statistics beside the seminar: an SDMX-CSV file (as the OECD Data Explorer exports it)
as a W3C RDF Data Cube whose observations point at the seminar graph's own country nodes,
so a researcher can join what a talk presents with a country's indicator on one IRI.

Reading follows the SDMX-CSV field guides (sdmx-twg/sdmx-csv):

- **1.0** (SDMX 2.1): the first column is ``DATAFLOW`` (``AGENCY:ID(VERSION)``), then one
  column per component.
- **2.0** (SDMX 3.0): ``STRUCTURE`` (``dataflow``, ``datastructure`` or ``dataprovision``),
  ``STRUCTURE_ID``, optionally ``STRUCTURE_NAME`` (``labels=name``), ``ACTION`` (absent
  means ``I``), optionally ``SERIES_KEY`` / ``OBS_KEY``, then the components.
- **labels**: ``labels=both`` writes ``ID: Name`` in headers and coded values
  (``REF_AREA: Reference area``, ``TUN: Tunisia``; BIS writes ``ID:Name`` headers);
  ``labels=name`` (the OECD's "csvfilewithlabels") follows every column with a name
  column. Either way the cube keeps the code and uses the names as labels.
- The separator is the character after the first header term (``,``, ``;`` or a tab).
  With ``;`` or a tab, a decimal comma in ``OBS_VALUE`` is read as a point.

Component columns before ``OBS_VALUE`` are dimensions, those after it attributes: the
order in which SDMX web services (and the OECD) write them. ``REF_AREA`` and
``TIME_PERIOD`` are dimensions wherever they stand. A dimension value is always reduced to
its code; an attribute value only when the file carries labels (an attribute may be free
text that happens to contain ``": "``).

An empty ``OBS_VALUE`` (or ``NaN``, SDMX's marker for a missing value) is a missing
observation: the row is checked like any other, then skipped, and its line reported in
``SdmxTable.skipped``. Every other problem is an ``SdmxError`` naming the file, the line
and what to fix; the whole file is checked before anything is built or written.
"""

from __future__ import annotations

import csv
import io
import os
import re
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from urllib.parse import quote

from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, RDF, RDFS, SKOS, XSD

from .errors import GfdError, OutputError, SourceError
from .iris import IRIs
from .query import load_dataset

# The RDF Data Cube vocabulary (W3C Recommendation 2014) and the SDMX-RDF content-oriented
# guidelines it ships with. (These belong in iris.py with the other namespaces.)
QB = Namespace("http://purl.org/linked-data/cube#")
SDMX_DIMENSION = Namespace("http://purl.org/linked-data/sdmx/2009/dimension#")
SDMX_MEASURE = Namespace("http://purl.org/linked-data/sdmx/2009/measure#")
CUBE_PREFIXES = {"qb": QB, "sdmx-dimension": SDMX_DIMENSION, "sdmx-measure": SDMX_MEASURE}

REF_AREA, TIME_PERIOD, OBS_VALUE = "REF_AREA", "TIME_PERIOD", "OBS_VALUE"
REQUIRED = (REF_AREA, TIME_PERIOD, OBS_VALUE)
# Actions a cube import can honour: all three add observations. D (delete) cannot be.
ACTIONS = {"I": "information", "A": "append", "R": "replace"}
STRUCTURE_TYPES = ("dataflow", "datastructure", "dataprovision")
V2_KEY_COLUMNS = ("SERIES_KEY", "OBS_KEY")
MISSING_VALUES = ("", "NaN")

_ID_RE = re.compile(r"^[A-Za-z0-9_@$\-]+$")          # SDMX IDType
_CODE_RE = re.compile(r"^[A-Za-z0-9_@$\-.]+$")       # a code or a time period
_NUMBER_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_SLUG_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_GYEAR_RE = re.compile(r"^\d{4}$")
_GYEARMONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_MAX_LISTED = 20


class SdmxError(GfdError):
    """An SDMX-CSV file that cannot be imported: every problem found, each with its line."""

    def __init__(self, path: Path, problems: list[tuple[int | None, str]]) -> None:
        self.path = path
        self.problems = problems
        self.line = problems[0][0]
        lines = [f"{path}:{line}: {msg}" if line is not None else f"{path}: {msg}"
                 for line, msg in problems[:_MAX_LISTED]]
        if len(problems) > _MAX_LISTED:
            lines.append(f"... and {len(problems) - _MAX_LISTED} more")
        if len(problems) == 1:
            super().__init__(lines[0])
        else:
            body = "\n".join(f"  {line}" for line in lines)
            super().__init__(f"{len(problems)} problems in {path}:\n{body}")


@dataclass(frozen=True)
class Observation:
    line: int
    key: tuple[str, ...]                       # the codes, in SdmxTable.dimensions order
    value: str                                 # canonical xsd:decimal
    attributes: tuple[tuple[str, str], ...]    # (component id, value), non-empty only
    action: str


@dataclass(frozen=True)
class SdmxTable:
    path: Path
    version: str                               # "1.0" or "2.0"
    structure_type: str                        # dataflow, datastructure or dataprovision
    structure_id: str                          # AGENCY:ID(VERSION)
    structure_name: str | None
    dimensions: tuple[str, ...]
    attributes: tuple[str, ...]
    labels: Mapping[str, str]                  # component id -> its name, if exported
    area_labels: Mapping[str, str]             # REF_AREA code -> its name, if exported
    observations: tuple[Observation, ...]
    skipped: tuple[int, ...]                   # lines with an empty OBS_VALUE

    def code(self, obs: Observation, dimension: str) -> str:
        return obs.key[self.dimensions.index(dimension)]


# -- reading -----------------------------------------------------------------------------

def _split_label(text: str) -> tuple[str, str | None]:
    """``"TUN: Tunisia"`` -> ``("TUN", "Tunisia")``; the first ``": "`` ends the code (a
    name may contain more)."""
    code, sep, label = text.partition(": ")
    if sep and _CODE_RE.match(code):
        return code, label
    return text, None


def _split_header(text: str) -> tuple[str, str | None]:
    """``"REF_AREA: Reference area"`` or BIS's ``"REF_AREA:Reference area"``."""
    ident, sep, label = text.partition(":")
    return (ident.strip(), label.strip() or None) if sep else (text, None)


def _structure(text: str) -> tuple[str, str | None]:
    """``"OECD.X:DF_Y(1.0): Name"`` -> id and name (an id has ':' but never ': ')."""
    ident, sep, name = text.partition(": ")
    return ident, (name if sep else None)


def _decode(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise SdmxError(path, [(None, f"cannot be read ({e.strerror})")]) from e
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        raise SdmxError(path, [(line, f"byte 0x{raw[e.start]:02x} is not UTF-8; SDMX-CSV "
                                      "is UTF-8: save the file as UTF-8 (with or without "
                                      "BOM)")]) from e


def _layout(path: Path, first_line: str) -> tuple[str, str]:
    """The SDMX-CSV version and the field separator, from the first header term."""
    m = re.match(r"^(DATAFLOW|STRUCTURE(\[[^\]]*\])?)(.)", first_line)
    if not m or m.group(3) not in ",;\t":
        found = first_line[:40] + ("..." if len(first_line) > 40 else "")
        raise SdmxError(path, [(1, f"the header starts with {found!r}; an SDMX-CSV file starts "
                                   "with DATAFLOW (SDMX-CSV 1.0) or STRUCTURE (2.0) followed by "
                                   "the separator: export the data as SDMX-CSV")])
    return ("1.0" if m.group(1) == "DATAFLOW" else "2.0"), m.group(3)


@dataclass
class _Columns:
    """Where each part of a row is: the fixed columns and, per component, its value column
    and (labels=name) its name column."""

    structure: int | None = None
    structure_id: int = 0
    structure_name: int | None = None
    action: int | None = None
    components: dict[str, tuple[int, int | None]] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    labelled: bool = False


def _header(path: Path, version: str, header: list[str]) -> _Columns:
    problems: list[tuple[int | None, str]] = []
    cols = _Columns()
    if version == "1.0":
        i = 1
    else:
        cols.structure, i = 0, 1
        if len(header) < 2 or header[1] != "STRUCTURE_ID":
            raise SdmxError(path, [(1, "the second column of an SDMX-CSV 2.0 header must be "
                                       "STRUCTURE_ID")])
        cols.structure_id, i = 1, 2
        if i < len(header) and header[i] == "STRUCTURE_NAME":
            cols.structure_name, i = i, i + 1
        if i < len(header) and header[i] == "ACTION":
            cols.action, i = i, i + 1
        while i < len(header) and header[i] in V2_KEY_COLUMNS:
            i += 1
    by_name = cols.structure_name is not None       # labels=name: (id, name) column pairs
    rest = list(range(i, len(header)))
    if by_name and len(rest) % 2:
        raise SdmxError(path, [(1, "with STRUCTURE_NAME (labels=name) every component column "
                                   "is followed by its name column, but the component "
                                   f"columns are {len(rest)}, an odd number")])
    step = 2 if by_name else 1
    for j in rest[::step]:
        ident, label = _split_header(header[j])
        if by_name:
            label = header[j + 1].strip() or None
        elif label is not None:
            cols.labelled = True
        if not _ID_RE.match(ident):
            problems.append((1, f"column {j + 1} header {header[j]!r} is not an SDMX component "
                                "id (letters, digits, _ @ $ -); multi-valued and multi-lingual "
                                "columns are not supported: export without them"))
            continue
        if ident in cols.components:
            problems.append((1, f"column {ident} appears twice; keep one"))
            continue
        cols.components[ident] = (j, j + 1 if by_name else None)
        if label:
            cols.labels[ident] = label
    missing = [c for c in REQUIRED if c not in cols.components]
    if missing and not problems:
        names = ", ".join(missing) + (" columns" if len(missing) > 1 else " column")
        have = ", ".join(cols.components) or "none"
        problems.append((1, f"no {names} (components: {have}); an observation needs "
                            f"{', '.join(REQUIRED)}: rename the columns to these SDMX ids or "
                            "export the data with them"))
    if problems:
        raise SdmxError(path, problems)
    cols.labelled = cols.labelled or by_name
    return cols


def _decimal(text: str, separator: str) -> str | None:
    """The canonical xsd:decimal of a number (``12.40`` -> ``12.4``, ``1e3`` -> ``1000.0``),
    or None if it is not one."""
    if separator != "," and re.match(r"^[+-]?\d+,\d+$", text):
        text = text.replace(",", ".")
    if not _NUMBER_RE.match(text):
        return None
    try:
        d = Decimal(text)
    except InvalidOperation:
        return None
    if d == 0:
        return "0.0"
    s = format(d.normalize(), "f")
    return s if "." in s else s + ".0"


def _records(path: Path, text: str, separator: str) -> list[tuple[int, list[str]]]:
    """The rows with the line each starts on (a quoted field may span lines)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator, strict=True)
    records: list[tuple[int, list[str]]] = []
    line = 1
    try:
        for row in reader:
            records.append((line, row))
            line = reader.line_num + 1
    except csv.Error as e:
        raise SdmxError(path, [(line, f"not readable as CSV ({e}); close every quoted "
                                      "field with a double quote")]) from e
    return records


class _Refused(Exception):
    """What is wrong with one row; the reader notes it and goes on with the next row."""


@dataclass
class _Reader:
    version: str
    separator: str
    width: int
    cols: _Columns
    dimensions: tuple[str, ...]
    attributes: tuple[str, ...]
    observations: list[Observation] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    seen: dict[tuple[str, ...], int] = field(default_factory=dict)
    structure: tuple[str, str, int] | None = None      # type, id, first line
    structure_name: str | None = None
    area_labels: dict[str, str] = field(default_factory=dict)

    def component(self, row: list[str], ident: str) -> tuple[str, str | None]:
        """A component's code and name (``CODE: Name`` or a labels=name column)."""
        j, name_col = self.cols.components[ident]
        code, label = _split_label(row[j].strip())
        if name_col is not None:
            label = row[name_col].strip() or None
        return code, label

    def read(self, n: int, row: list[str]) -> None:
        if len(row) != self.width:
            raise _Refused(f"{len(row)} fields where the header has {self.width}; every row "
                           "needs one field per column (quote a value that contains the "
                           f"separator {self.separator!r})")
        self.check_structure(n, row)
        action = self.action(row)
        key = tuple(self.key(row))
        value = self.value(row)
        if key in self.seen:
            shown = ", ".join(f"{d}={c}" for d, c in zip(self.dimensions, key, strict=True))
            raise _Refused(f"the observation {shown} is also on line {self.seen[key]}; keep "
                           "one of the two rows")
        self.seen[key] = n
        if not value:
            self.skipped.append(n)
            return
        attributes = []
        for attr in self.attributes:
            v = row[self.cols.components[attr][0]].strip()
            if self.cols.labelled:
                v = _split_label(v)[0]
            if v:
                attributes.append((attr, v))
        self.observations.append(Observation(n, key, value, tuple(attributes), action))

    def check_structure(self, n: int, row: list[str]) -> None:
        """The dataflow (or other structure) of the row: one per file."""
        cols = self.cols
        kind = "dataflow" if cols.structure is None else row[cols.structure].strip().lower()
        ident, name = _structure(row[cols.structure_id].strip())
        if cols.structure_name is not None:
            name = row[cols.structure_name].strip() or name
        column = "DATAFLOW" if self.version == "1.0" else "STRUCTURE_ID"
        if kind not in STRUCTURE_TYPES:
            raise _Refused(f"STRUCTURE {row[0]!r} is not one of {', '.join(STRUCTURE_TYPES)}")
        if not ident:
            raise _Refused(f"{column} is empty; give the structure as AGENCY:ID(VERSION)")
        if self.structure is None:
            self.structure, self.structure_name = (kind, ident, n), name
        elif (kind, ident) != self.structure[:2]:
            raise _Refused(f"{column} {ident!r} differs from {self.structure[1]!r} on line "
                           f"{self.structure[2]}; import one dataflow per file: split it")

    def action(self, row: list[str]) -> str:
        if self.cols.action is None:
            return "I"                     # SDMX-CSV 2.0: no ACTION column means Information
        action = row[self.cols.action].strip()
        if action == "D":
            raise _Refused("ACTION 'D' (delete) asks to delete observations, which an import "
                           "that only adds cannot do; remove the row or export the data "
                           "without deletions")
        if action not in ACTIONS:
            raise _Refused(f"ACTION {action!r} is not one of I (information), A (append), "
                           "R (replace)")
        return action

    def key(self, row: list[str]) -> list[str]:
        key = []
        for dim in self.dimensions:
            code, label = self.component(row, dim)
            if not code:
                raise _Refused(f"{dim} is empty; every row must give a full observation key "
                               "(rows for attributes of partial keys are not supported)")
            if dim == REF_AREA and label:
                self.area_labels.setdefault(code, label)
            key.append(code)
        return key

    def value(self, row: list[str]) -> str:
        """The canonical decimal, or "" for a missing observation."""
        raw = row[self.cols.components[OBS_VALUE][0]]
        if raw.strip() in MISSING_VALUES:
            return ""
        value = _decimal(raw.strip(), self.separator)
        if value is None:
            raise _Refused(f"OBS_VALUE {raw!r} is not a number; write digits with a '.' "
                           "decimal point (e.g. 12.5), or leave it empty for a missing "
                           "observation")
        return value


def read_sdmx_csv(path: Path) -> SdmxTable:
    """Read and check an SDMX-CSV 1.0 or 2.0 data file: one observation per row. Every
    problem of the file is reported at once."""
    path = Path(path)
    text = _decode(path)
    version, separator = _layout(path, text.split("\n", 1)[0].rstrip("\r"))
    records = _records(path, text, separator)
    header = records[0][1]
    cols = _header(path, version, header)
    position = {c: j for c, (j, _) in cols.components.items()}
    order = sorted(position, key=position.__getitem__)
    dimensions = tuple(c for c in order if c in (REF_AREA, TIME_PERIOD)
                       or (c != OBS_VALUE and position[c] < position[OBS_VALUE]))
    attributes = tuple(c for c in order if c != OBS_VALUE and c not in dimensions)
    reader = _Reader(version, separator, len(header), cols, dimensions, attributes)
    problems: list[tuple[int | None, str]] = []
    rows = [(n, r) for n, r in records[1:] if any(f.strip() for f in r)]
    if not rows:
        problems.append((1, "the file has a header but no observation rows"))
    for n, row in rows:
        try:
            reader.read(n, row)
        except _Refused as e:
            problems.append((n, str(e)))
    if problems:
        raise SdmxError(path, problems)
    assert reader.structure is not None
    return SdmxTable(path, version, reader.structure[0], reader.structure[1],
                     reader.structure_name, dimensions, attributes, dict(cols.labels),
                     reader.area_labels, tuple(reader.observations), tuple(reader.skipped))


# -- the cube ----------------------------------------------------------------------------

def _segment(code: str) -> str:
    return quote(code, safe="-_.~@$")


def _period(code: str) -> Literal:
    if _GYEAR_RE.match(code):
        return Literal(code, datatype=XSD.gYear)
    if _GYEARMONTH_RE.match(code):
        return Literal(code, datatype=XSD.gYearMonth)
    return Literal(code)


def to_cube(table: SdmxTable, countries: Mapping[str, URIRef], iris: IRIs, name: str) -> Graph:
    """The table as a qb:DataSet with its structure and one qb:Observation per row.

    ``sdmx-dimension:refArea`` is always an IRI, so a join never has to care for two kinds
    of value: the seminar graph's country node when the code is one of ``countries``
    (ISO 3166-1 alpha-3 -> IRI), else an area node of this dataset (``{dataset}/area/DEU``,
    a ``skos:Concept`` with the code as ``skos:notation``). Rows of other areas (the OECD
    total, countries not at the seminar) are kept: they are what a seminar country is
    compared with."""
    ds = iris.mint("dataset", f"sdmx/{name}")

    def under(path: str) -> URIRef:
        return iris.mint("dataset", f"sdmx/{name}/{path}")

    g = Graph()
    g.add((ds, RDF.type, QB.DataSet))
    g.add((ds, DCTERMS.identifier, Literal(table.structure_id)))
    g.add((ds, RDFS.label, Literal(table.structure_name or table.structure_id)))
    dsd = under("structure")
    g.add((ds, QB.structure, dsd))
    g.add((dsd, RDF.type, QB.DataStructureDefinition))

    props: dict[str, URIRef] = {}
    for order, dim in enumerate(table.dimensions, start=1):
        if dim == REF_AREA:
            prop = SDMX_DIMENSION.refArea
        elif dim == TIME_PERIOD:
            prop = SDMX_DIMENSION.refPeriod
        else:
            prop = under(f"dimension/{_segment(dim)}")
            g.add((prop, RDF.type, QB.DimensionProperty))
        props[dim] = prop
        spec = under(f"structure/{_segment(dim)}")
        g.add((dsd, QB.component, spec))
        g.add((spec, RDF.type, QB.ComponentSpecification))
        g.add((spec, QB.dimension, prop))
        g.add((spec, QB.order, Literal(order)))
    spec = under(f"structure/{OBS_VALUE}")
    g.add((dsd, QB.component, spec))
    g.add((spec, RDF.type, QB.ComponentSpecification))
    g.add((spec, QB.measure, SDMX_MEASURE.obsValue))
    for attr in table.attributes:
        prop = props[attr] = under(f"attribute/{_segment(attr)}")
        g.add((prop, RDF.type, QB.AttributeProperty))
        spec = under(f"structure/{_segment(attr)}")
        g.add((dsd, QB.component, spec))
        g.add((spec, RDF.type, QB.ComponentSpecification))
        g.add((spec, QB.attribute, prop))
        required = all(attr in dict(o.attributes) for o in table.observations)
        g.add((spec, QB.componentRequired, Literal(required)))
    for ident, prop in props.items():
        if ident in (REF_AREA, TIME_PERIOD):
            continue                # terms of the SDMX vocabulary: not ours to describe
        g.add((prop, SKOS.notation, Literal(ident)))
        g.add((prop, RDFS.label, Literal(table.labels.get(ident, ident))))

    others = [d for d in table.dimensions if d not in (REF_AREA, TIME_PERIOD)]
    for o in table.observations:
        area, period = table.code(o, REF_AREA), table.code(o, TIME_PERIOD)
        segments = [area, period, *(table.code(o, d) for d in others)]
        obs = under("obs/" + "/".join(_segment(s) for s in segments))
        g.add((obs, RDF.type, QB.Observation))
        g.add((obs, QB.dataSet, ds))
        place = countries.get(area)
        if place is None:
            place = under(f"area/{_segment(area)}")
            g.add((place, RDF.type, SKOS.Concept))
            g.add((place, SKOS.notation, Literal(area)))
            if area in table.area_labels:
                g.add((place, SKOS.prefLabel, Literal(table.area_labels[area])))
        g.add((obs, SDMX_DIMENSION.refArea, place))
        g.add((obs, SDMX_DIMENSION.refPeriod, _period(period)))
        for d in others:
            g.add((obs, props[d], Literal(table.code(o, d))))
        g.add((obs, SDMX_MEASURE.obsValue, Literal(o.value, datatype=XSD.decimal)))
        for attr, value in o.attributes:
            g.add((obs, props[attr], Literal(value)))
    return g


# -- the import --------------------------------------------------------------------------

def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def seminar_countries(trig: Path, iris: IRIs) -> dict[str, URIRef]:
    """ISO 3166-1 alpha-3 code -> country IRI, from the built graph."""
    dataset = load_dataset([trig])
    found: dict[str, set[URIRef]] = {}
    for s, o in dataset.subject_objects(iris.ontology.iso3166Alpha3):
        if isinstance(s, URIRef):
            found.setdefault(str(o), set()).add(s)
    if not found:
        raise SourceError(f"{trig}: no country has a {iris.ontology.iso3166Alpha3.n3()} code; "
                          "import with the --base the build was made with")
    twice = {code: sorted(nodes) for code, nodes in found.items() if len(nodes) > 1}
    if twice:
        code, nodes = sorted(twice.items())[0]
        raise SourceError(f"{trig}: ISO code {code} belongs to {len(nodes)} nodes "
                          f"({', '.join(nodes)}); rebuild the graph")
    return {code: next(iter(nodes)) for code, nodes in sorted(found.items())}


def trig_bytes(graph: Graph, name: str, iris: IRIs) -> bytes:
    """The import's named graph as TriG, with the dataset's, the cube's and the import's own
    prefixes; the same graph gives the same bytes. (publish.trig_bytes cannot be used: it
    keeps only the prefixes of ``iris.prefixes()`` and drops those rdflib makes up.)"""
    ds = str(iris.mint("dataset", f"sdmx/{name}"))
    local = {"dim": Namespace(f"{ds}/dimension/"), "attr": Namespace(f"{ds}/attribute/"),
             "area": Namespace(f"{ds}/area/")}
    g = Graph(bind_namespaces="none")
    for prefix, ns in {**iris.prefixes(), **CUBE_PREFIXES, **local}.items():
        g.bind(prefix, ns)
    for triple in sorted(graph):
        g.add(triple)
    turtle = g.serialize(format="turtle", encoding="utf-8").decode("utf-8")
    lines = turtle.splitlines()
    header = [line for line in lines if line.startswith("@prefix ")]
    body = "\n".join(line for line in lines if not line.startswith("@prefix ")).strip()
    graph_iri = iris.graph(f"sdmx/{name}")
    return ("\n".join(header) + f"\n\n{graph_iri.n3()} {{\n\n{body}\n\n}}\n").encode("utf-8")


def _write_atomically(target: Path, content: bytes) -> None:
    tmp: str | None = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        with os.fdopen(fd, "wb") as f:
            f.write(content)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except OSError as e:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        raise OutputError(f"{target}: cannot write the import ({e.strerror}); choose another "
                          "--out folder or fix its permissions") from e


def import_sdmx(path: Path, dist: Path, iris: IRIs, name: str | None = None,
                progress: Callable[[str], None] | None = None) -> Path:
    """Convert an SDMX-CSV file against the build in ``dist`` and write
    ``dist/sdmx/{name}.trig`` (the named graph ``graph/sdmx/{name}``), replacing an earlier
    import of that name in one rename. On any error nothing is written."""
    path, dist = Path(path), Path(dist)
    name = slug(path.stem) if name is None else name
    if not _SLUG_RE.match(name):
        raise SdmxError(path, [(None, f"the import name {name!r} must be lower-case letters "
                                      "and digits joined by '-' (e.g. oecd-ict-2008): give "
                                      "one with --name")])
    table = read_sdmx_csv(path)
    countries = seminar_countries(dist / "gfd.trig", iris)
    cube = to_cube(table, countries, iris, name)
    content = trig_bytes(cube, name, iris)
    target = dist / "sdmx" / f"{name}.trig"
    _write_atomically(target, content)
    if progress is not None:
        joined = sum(1 for o in table.observations if table.code(o, REF_AREA) in countries)
        skipped = (f"; {len(table.skipped)} empty OBS_VALUE skipped (line "
                   f"{', '.join(map(str, table.skipped))})" if table.skipped else "")
        progress(f"sdmx      {len(table.observations)} observations of {table.structure_id} "
                 f"from {path}, {joined} of the seminar's countries{skipped}")
    return target
