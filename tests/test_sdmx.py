"""SDMX-CSV imports: both layouts give one cube, its observations point at the seminar's
country nodes, the join query answers what the fixture numbers say, and every malformed
file is refused with its line and nothing written. The fixtures in tests/sdmx/ are
MADE-UP NUMBERS (see tests/sdmx/README.md)."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyoxigraph
import pytest
from rdflib import Dataset, Literal, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import RDF, SKOS, XSD

from gfd_kg.errors import SourceError
from gfd_kg.iris import IRIs
from gfd_kg.query import load_dataset, load_query, select
from gfd_kg.resources import queries_dir
from gfd_kg.sdmx import (
    QB,
    SDMX_DIMENSION,
    SDMX_MEASURE,
    SdmxError,
    import_sdmx,
    read_sdmx_csv,
    seminar_countries,
    to_cube,
)
from tests.server import build_dist
from tests.test_cli import run_cli

FIXTURES = Path(__file__).parent / "sdmx"
V1 = FIXTURES / "oecd-made-up-v1.csv"
V2 = FIXTURES / "oecd-made-up-v2.csv"
JOIN_QUERY = queries_dir() / "sdmx" / "join-indicator.rq"
JOIN_ANSWER = FIXTURES / "join-indicator.csv"
NAME = "oecd-made-up"
SEMINAR_AREAS = ("BEL", "DNK", "EGY", "FRA", "ITA", "JOR", "KOR", "MAR", "TUN", "USA")
OTHER_AREAS = ("DEU", "OECD")
JORDAN_2006 = 20        # the line of the one empty OBS_VALUE, in both fixtures

# Each malformed file: the (line, message) of every problem it must be refused for.
BAD = {
    "bad-unknown-layout.csv": [(1, "an SDMX-CSV file starts with DATAFLOW (SDMX-CSV 1.0) or "
                                   "STRUCTURE (2.0) followed by the separator")],
    "bad-missing-ref-area.csv": [(1, "no REF_AREA column (components: COUNTRY, FREQ")],
    "bad-missing-time-period.csv": [(1, "no TIME_PERIOD column")],
    "bad-missing-obs-value.csv": [(1, "no OBS_VALUE column")],
    "bad-header-only.csv": [(1, "the file has a header but no observation rows")],
    "bad-not-utf8.csv": [(3, "byte 0xf4 is not UTF-8; SDMX-CSV is UTF-8")],
    "bad-unclosed-quote.csv": [(3, "not readable as CSV (unexpected end of data)")],
    "bad-obs-value-not-a-number.csv": [(3, "OBS_VALUE 'n/a' is not a number; write digits "
                                           "with a '.' decimal point")],
    "bad-duplicate-key.csv": [(4, "the observation REF_AREA=TUN, FREQ=A, MEASURE=EGOV_MADE_UP, "
                                  "UNIT_MEASURE=IX, TIME_PERIOD=2008 is also on line 2")],
    "bad-action-delete.csv": [(3, "ACTION 'D' (delete) asks to delete observations")],
    "bad-action-unknown.csv": [(2, "ACTION 'M' is not one of I (information), A (append), "
                                   "R (replace)")],
    "bad-ragged-row.csv": [(3, "9 fields where the header has 10")],
    "bad-partial-key.csv": [(3, "REF_AREA is empty; every row must give a full observation key")],
    "bad-two-dataflows.csv": [(3, "STRUCTURE_ID 'OECD.GFD.TEST:DSD_MADE_UP@DF_OTHER_MADE_UP(1.0)' "
                                  "differs from "
                                  "'OECD.GFD.TEST:DSD_MADE_UP@DF_MADE_UP_NUMBERS(1.0)' on line 2")],
    "bad-several-problems.csv": [(3, "9 fields where the header has 10"),
                                 (4, "OBS_VALUE 'about 33' is not a number"),
                                 (5, "11 fields where the header has 10")],
}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    return build_dist(tmp_path_factory.mktemp("sdmx") / "dist")


@pytest.fixture
def dist(built: Path, tmp_path: Path) -> Path:
    """A private dist/ with the build's gfd.trig, which an import may write to."""
    d = tmp_path / "dist"
    d.mkdir()
    shutil.copy(built / "gfd.trig", d / "gfd.trig")
    return d


@pytest.fixture(scope="module")
def countries(built: Path) -> dict[str, URIRef]:
    return seminar_countries(built / "gfd.trig", IRIs())


def expected_join() -> list[tuple[str, ...]]:
    with JOIN_ANSWER.open(encoding="utf-8", newline="") as f:
        return [tuple(r) for r in csv.reader(f)]


# -- reading -----------------------------------------------------------------------------

def test_the_fixtures_say_they_are_made_up():
    assert "MADE-UP NUMBERS" in (FIXTURES / "README.md").read_text(encoding="utf-8").splitlines()[0]
    for path in (V1, V2):
        table = read_sdmx_csv(path)
        assert "MADE_UP_NUMBERS" in table.structure_id
        assert table.structure_name == "MADE-UP NUMBERS for testing: not OECD data"


def test_both_layouts_are_read_alike():
    v1, v2 = read_sdmx_csv(V1), read_sdmx_csv(V2)
    assert (v1.version, v2.version) == ("1.0", "2.0")
    assert V2.read_bytes().startswith(b"\xef\xbb\xbf")          # the v2 export has a BOM
    for t in (v1, v2):
        assert t.structure_id == "OECD.GFD.TEST:DSD_MADE_UP@DF_MADE_UP_NUMBERS(1.0)"
        assert t.dimensions == ("REF_AREA", "FREQ", "MEASURE", "UNIT_MEASURE", "TIME_PERIOD")
        assert t.attributes == ("OBS_STATUS", "UNIT_MULT", "DECIMALS")
        assert t.labels["MEASURE"] == "Measure"
        assert t.area_labels["OECD"] == "OECD" and t.area_labels["DEU"] == "Germany"
        assert len(t.observations) == 12 * 3 - 1
        assert t.skipped == (JORDAN_2006,)
        first = t.observations[0]
        assert first.key == ("BEL", "A", "EGOV_MADE_UP", "IX", "2006")   # codes, not labels
        assert first.value == "61.2"
        assert first.attributes == (("OBS_STATUS", "A"), ("UNIT_MULT", "0"), ("DECIMALS", "1"))


def test_values_periods_separator_and_plain_ids(tmp_path, countries):
    """A semicolon-separated 2.0 file without labels and without an ACTION column."""
    path = tmp_path / "periods.csv"
    path.write_text("STRUCTURE;STRUCTURE_ID;REF_AREA;TIME_PERIOD;OBS_VALUE;NOTE\n"
                    "dataflow;X:Y(1.0);TUN;2008;12,40;Code: free text\n"
                    "dataflow;X:Y(1.0);TUN;2008-05;1e3;\n"
                    "dataflow;X:Y(1.0);TUN;2008-Q2;-0.50;\n"
                    "dataflow;X:Y(1.0);TUN;2008-06;NaN;\n", encoding="utf-8")
    table = read_sdmx_csv(path)
    assert [o.value for o in table.observations] == ["12.4", "1000.0", "-0.5"]
    assert [o.action for o in table.observations] == ["I", "I", "I"]
    assert table.skipped == (5,)
    assert table.observations[0].attributes == (("NOTE", "Code: free text"),)  # no labels: kept
    cube = to_cube(table, countries, IRIs(), "periods")
    periods = {o: p for o, p in cube.subject_objects(SDMX_DIMENSION.refPeriod)}
    types = sorted((str(p), p.datatype) for p in periods.values())
    assert types == [("2008", XSD.gYear), ("2008-05", XSD.gYearMonth), ("2008-Q2", None)]


# -- the cube ----------------------------------------------------------------------------

def test_v1_and_v2_give_the_same_cube(countries):
    iris = IRIs()
    g1 = to_cube(read_sdmx_csv(V1), countries, iris, NAME)
    g2 = to_cube(read_sdmx_csv(V2), countries, iris, NAME)
    assert isomorphic(g1, g2)
    assert len(list(g1.subjects(RDF.type, QB.Observation))) == 35


def test_the_cube_has_its_dataset_and_structure(countries):
    iris = IRIs()
    g = to_cube(read_sdmx_csv(V1), countries, iris, NAME)
    ds = iris.mint("dataset", f"sdmx/{NAME}")
    assert (ds, RDF.type, QB.DataSet) in g
    assert set(g.objects(ds, URIRef("http://purl.org/dc/terms/identifier"))) == {
        Literal("OECD.GFD.TEST:DSD_MADE_UP@DF_MADE_UP_NUMBERS(1.0)")}
    dsd = g.value(ds, QB.structure)
    assert (dsd, RDF.type, QB.DataStructureDefinition) in g
    specs = list(g.objects(dsd, QB.component))
    dims = sorted((int(g.value(s, QB.order)), g.value(s, QB.dimension)) for s in specs
                  if g.value(s, QB.dimension) is not None)
    local = f"{ds}/dimension/"
    assert dims == [(1, SDMX_DIMENSION.refArea), (2, URIRef(local + "FREQ")),
                    (3, URIRef(local + "MEASURE")), (4, URIRef(local + "UNIT_MEASURE")),
                    (5, SDMX_DIMENSION.refPeriod)]
    assert [g.value(s, QB.measure) for s in specs if g.value(s, QB.measure)] == [
        SDMX_MEASURE.obsValue]
    assert sorted(str(g.value(s, QB.attribute)) for s in specs if g.value(s, QB.attribute)) == [
        f"{ds}/attribute/{a}" for a in ("DECIMALS", "OBS_STATUS", "UNIT_MULT")]
    tun = iris.mint("dataset", f"sdmx/{NAME}/obs/TUN/2008/A/EGOV_MADE_UP/IX")
    assert g.value(tun, SDMX_MEASURE.obsValue) == Literal("33.1", datatype=XSD.decimal)
    assert g.value(tun, URIRef(f"{ds}/attribute/OBS_STATUS")) == Literal("E")
    assert g.value(tun, URIRef(local + "MEASURE")) == Literal("EGOV_MADE_UP")
    assert (None, SDMX_DIMENSION.refArea, None) in g
    missing = iris.mint("dataset", f"sdmx/{NAME}/obs/JOR/2006/A/EGOV_MADE_UP/IX")
    assert (missing, None, None) not in g                     # the empty OBS_VALUE


def test_every_observation_of_a_seminar_country_points_at_its_country_node(countries):
    iris = IRIs()
    g = to_cube(read_sdmx_csv(V2), countries, iris, NAME)
    assert countries["TUN"] == iris.mint("country", "tunisia")
    assert countries["KOR"] == iris.mint("country", "south-korea")
    seen = {}
    for obs in g.subjects(RDF.type, QB.Observation):
        area = g.value(obs, SDMX_DIMENSION.refArea)
        code = str(obs).split("/obs/")[1].split("/")[0]
        assert isinstance(area, URIRef), "a join needs an IRI, never a literal code"
        if code in SEMINAR_AREAS:
            assert area == countries[code]
        else:
            assert area == iris.mint("dataset", f"sdmx/{NAME}/area/{code}")
            assert g.value(area, SKOS.notation) == Literal(code)
            assert (area, RDF.type, SKOS.Concept) in g
        seen.setdefault(code, 0)
        seen[code] += 1
    assert sorted(seen) == sorted(SEMINAR_AREAS + OTHER_AREAS)
    assert seen["JOR"] == 2 and all(n == 3 for c, n in seen.items() if c != "JOR")
    germany = iris.mint("dataset", f"sdmx/{NAME}/area/DEU")
    assert g.value(germany, SKOS.prefLabel) == Literal("Germany")
    # nothing is said about the seminar's own nodes: the import only points at them
    assert not set(g.subjects()) & set(countries.values())


# -- the import and the join -------------------------------------------------------------

def test_import_writes_one_named_graph(dist):
    iris = IRIs()
    lines: list[str] = []
    target = import_sdmx(V1, dist, iris, progress=lines.append)
    assert target == dist / "sdmx" / "oecd-made-up-v1.trig"        # name from the file
    assert sorted(p.name for p in (dist / "sdmx").iterdir()) == ["oecd-made-up-v1.trig"]
    assert lines == [f"sdmx      35 observations of OECD.GFD.TEST:DSD_MADE_UP@DF_MADE_UP_NUMBERS"
                     f"(1.0) from {V1}, 29 of the seminar's countries; 1 empty OBS_VALUE "
                     f"skipped (line {JORDAN_2006})"]
    ds = Dataset()
    ds.parse(target, format="trig")
    graphs = {str(g.identifier) for g in ds.graphs() if len(g)}
    assert graphs == {str(iris.graph("sdmx/oecd-made-up-v1"))}
    text = target.read_text(encoding="utf-8")
    assert "ns1:" not in text and "@prefix qb: <http://purl.org/linked-data/cube#>" in text
    store = pyoxigraph.Store()                                  # a second parser agrees
    store.load(path=str(target), format=pyoxigraph.RdfFormat.TRIG)
    assert len(store) == len(ds)


def test_join_query_answers_what_the_fixture_numbers_say(dist):
    iris = IRIs()
    import_sdmx(V2, dist, iris, name=NAME)
    query = load_query(JOIN_QUERY)
    assert len(query.title) > 10 and len(query.why.split()) >= 8
    dataset = load_dataset([dist / "gfd.trig", dist / "sdmx" / f"{NAME}.trig"])
    header, *rows = expected_join()
    table = select(dataset, query.text)
    assert table.variables == header
    assert list(table.rows) == rows
    one = select(dataset, query.text, {"dataset": iris.mint("dataset", f"sdmx/{NAME}")})
    assert list(one.rows) == rows
    other = select(dataset, query.text, {"dataset": iris.mint("dataset", "sdmx/other")})
    assert list(other.rows) == []


def test_join_query_has_no_answer_on_the_seminar_graph_alone(built):
    """Why it lives in queries/sdmx/, out of the competency queries' glob."""
    assert JOIN_QUERY not in queries_dir().glob("*.rq")
    table = select(load_dataset([built / "gfd.trig"]), load_query(JOIN_QUERY).text)
    assert table.rows == ()


@pytest.mark.parametrize("name", sorted(BAD))
def test_a_bad_file_is_refused_with_its_lines_and_nothing_is_written(name, dist):
    path = FIXTURES / name
    with pytest.raises(SdmxError) as caught:
        import_sdmx(path, dist, IRIs())
    e = caught.value
    assert [line for line, _ in e.problems] == [line for line, _ in BAD[name]]
    for (line, message), (_, expected) in zip(e.problems, BAD[name], strict=True):
        assert expected in message
        assert f"{path}:{line}: {message}" in str(e)
    assert e.line == BAD[name][0][0]
    assert not (dist / "sdmx").exists()


def test_every_bad_file_has_its_expected_message():
    assert sorted(p.name for p in FIXTURES.glob("bad-*.csv")) == sorted(BAD)


def test_a_failed_import_leaves_the_earlier_one_as_it_was(dist):
    iris = IRIs()
    target = import_sdmx(V1, dist, iris, name=NAME)
    before = target.read_bytes()
    with pytest.raises(SdmxError):
        import_sdmx(FIXTURES / "bad-duplicate-key.csv", dist, iris, name=NAME)
    assert target.read_bytes() == before
    assert sorted(p.name for p in (dist / "sdmx").iterdir()) == [f"{NAME}.trig"]


def test_a_bad_name_a_missing_build_or_another_base_writes_nothing(dist, tmp_path):
    with pytest.raises(SdmxError, match="must be lower-case letters and digits joined by '-'"):
        import_sdmx(V1, dist, IRIs(), name="Made Up!")
    with pytest.raises(SourceError, match="run `gfd-kg build` first"):
        import_sdmx(V1, tmp_path / "no-build", IRIs())
    with pytest.raises(SourceError, match="import with the --base the build was made with"):
        import_sdmx(V1, dist, IRIs("https://example.org/kg/"))
    assert not (dist / "sdmx").exists() and not (tmp_path / "no-build").exists()


def test_output_is_deterministic(built, tmp_path):
    """v1 and v2 give the same bytes, in processes with different string hashing."""
    outputs = []
    for i, (source, seed) in enumerate([(V1, "1"), (V2, "2"), (V1, "3")]):
        d = tmp_path / f"dist{i}"
        d.mkdir()
        shutil.copy(built / "gfd.trig", d / "gfd.trig")
        code = ("import sys; from pathlib import Path; from gfd_kg.iris import IRIs; "
                "from gfd_kg.sdmx import import_sdmx; "
                f"import_sdmx(Path(sys.argv[1]), Path(sys.argv[2]), IRIs(), name={NAME!r})")
        result = subprocess.run([sys.executable, "-c", code, str(source), str(d)],
                                capture_output=True, text=True, timeout=120,
                                env={**os.environ, "PYTHONHASHSEED": seed})
        assert result.returncode == 0, result.stderr
        outputs.append((d / "sdmx" / f"{NAME}.trig").read_bytes())
    assert outputs[0] == outputs[1] == outputs[2]


def test_cli_import_then_join_query_and_a_rebuild_keeps_the_import(tmp_path):
    """As the README shows it: build, import, query the join; rebuild; the import stays."""
    import csv as _csv

    out = tmp_path / "dist"
    assert run_cli("build", "--out", str(out)).returncode == 0
    fixture = Path(__file__).parent / "sdmx" / "oecd-made-up-v1.csv"
    result = run_cli("import-sdmx", str(fixture), "--out", str(out))
    assert result.returncode == 0, result.stderr
    expected = list(_csv.reader((Path(__file__).parent / "sdmx" / "join-indicator.csv")
                                .read_text(encoding="utf-8").splitlines()))
    query = run_cli("query", "queries/sdmx/join-indicator.rq", "--out", str(out), "--format", "csv")
    assert query.returncode == 0, query.stderr
    assert list(_csv.reader(query.stdout.splitlines())) == expected
    assert run_cli("build", "--out", str(out)).returncode == 0
    again = run_cli("query", "queries/sdmx/join-indicator.rq", "--out", str(out), "--format", "csv")
    assert again.stdout == query.stdout
    bad = run_cli("import-sdmx", str(Path(__file__).parent / "sdmx" / "bad-missing-ref-area.csv"),
                  "--out", str(out), "--name", "bad")
    assert bad.returncode == 2 and not (out / "sdmx" / "bad.trig").exists()
