"""Property-based fuzzing (hypothesis) of the two surfaces a stranger can reach.

1. The source-record loader, over randomly damaged copies of the real record files:
   ``load_records`` either loads them or raises ``RecordsError`` whose every problem names
   a record file; any other exception is a bug. The CLI turns such damage into exit 2.
2. The HTTP server, over real HTTP on 127.0.0.1: random paths, Accept headers, query
   strings, bodies, content types, encodings and methods. Whatever is sent, the server
   answers: never a 5xx but the documented 503 (time limit, busy), never a stack trace or
   an internal path in the body, always a Content-Type on a body, never a reflected tag in
   HTML, nothing uncaught in its log, and it is still up afterwards.

Next to each random test, a deterministic one sends every hand-picked trick once (YAML
values, SPARQL queries), so what the random test only sometimes draws is always tried.

Runs are reproducible (``derandomize=True``, no example database). GFD_FUZZ_SCALE=10 runs
ten times the examples, for a deeper local run; the default keeps the file under a minute
on two cores (the build runs beside the loader tests). Needs ``hypothesis`` (test extras).
"""

from __future__ import annotations

import os
import re
import select
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, quote_plus, unquote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gfd_kg import records as records_module
from gfd_kg.errors import GfdError, RecordsError
from gfd_kg.records import load_records, record_files
from gfd_kg.resources import data_dir
from gfd_kg.source import load_agenda
from tests.server import CLIENT_LIMITS, build_dist, running_server

# hypothesis warns when it prints a long failing example; the long ones are on purpose
pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")

SCALE = float(os.environ.get("GFD_FUZZ_SCALE", "1"))
settings.register_profile(
    "gfd-fuzz",
    deadline=None,  # a real server and a real YAML parser: timing varies, answers must not
    derandomize=True,  # the same examples on every run, so CI failures reproduce
    database=None,  # nothing written beside the checkout
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.large_base_example],
)
FUZZ = settings.get_profile("gfd-fuzz")


def examples(n: int) -> int:
    return max(1, int(n * SCALE))


DATA = data_dir()
TIMEOUT = 10.0  # seconds a client waits for any answer; the server's query limit is 2 s here
QUERY_TIME_LIMIT = "2"

# -- a build, started early ------------------------------------------------------------
# The build takes a while; it runs in a thread (its own process) while the loader tests,
# which come first in this file, use the other core.

_builder = ThreadPoolExecutor(max_workers=1)


def _serves(item: pytest.Item) -> bool:
    return "server" in getattr(item, "fixturenames", ())


@pytest.fixture(scope="module", autouse=True)
def dist_build(request, tmp_path_factory) -> Iterator[Future | None]:
    """Start the build when the module starts, if a selected test needs the server."""
    here = [i for i in request.session.items if i.module is request.module]
    if not any(_serves(i) for i in here):
        yield None
        return
    future = _builder.submit(build_dist, tmp_path_factory.mktemp("fuzz") / "dist")
    yield future
    future.result()  # never leave the build running


# ======================================================================================
# 1. The source-record loader
# ======================================================================================

RECORDS = DATA / "records"
RECORD_NAMES = [p.relative_to(RECORDS).as_posix() for p in record_files(RECORDS)]
_KEY_LINE = re.compile(rb"^(?P<lead>\s*(?:-\s+)?)(?P<key>[A-Za-z_][A-Za-z0-9_]*):(?P<rest>.*)$")

# YAML that is easy to type by mistake and that a YAML parser treats specially
YAML_TRICKS = [
    "~", "null", "", "[]", "{}", "[a, b]", "{a: 1}", "-1", "0", "1.5", ".inf", ".nan", "yes",
    "no", "on", "0x1F", "0o17", "1_000", "1e999", "2008-02-30", "2008-13-01",
    "2008-05-27 25:00:00", "2008-05-27T09:30:00Z", "2008-05-27", "09:30", "9:30", "24:00",
    "'09:60'", '"unterminated', "'unterminated", "!!int x", "!!float x", "!!timestamp x",
    "!!bool maybe", "!!binary x", "!!set {a, b}", "!!omap [a: 1]", "!!str", "!!null x",
    "!!python/object:os.system", "!custom x", "*nowhere", "&anchor value", "<<: {a: 1}",
    "? [a]", "[a]: b", "{[a]: b}", "{{a: 1}: b}", "|", ">", "---", "...", "%YAML 1.1", "@",
    "`", "'a''b'", '"\\x"', '"\\ud800"', '"\\U0010FFFF"', "\t", "#", "a: b: c", "- a",
    "x" * 5000, "9" * 5000, "[" * 300 + "]" * 300,
    "57-61, 63", "0", "61-57", "99999", "1-99999999999999999999",
]
_ODD_CHARS = st.sampled_from(["\x00", "\x01", "\x1b", "\x7f", "\x85", "\u2028", "\u2029",
                              "\ufeff", "\ufffe", "\t", "\r", "\r\n", "\n", ":", "- ", "#",
                              "'", '"', "{", "[", "&", "*", "!", "%", "|", ">", "\U0001F600",
                              "\u202e", "é"])

_tricks = st.sampled_from(YAML_TRICKS)
yaml_value = st.one_of(
    _tricks, _tricks, _tricks,  # weighted: the tricks find more than random text does
    st.text(max_size=30),
    st.integers().map(str),
    st.floats().map(repr),
    st.lists(st.text(max_size=6), max_size=4).map(lambda xs: "[" + ", ".join(xs) + "]"),
)
inserted_text = st.one_of(_ODD_CHARS, st.text(min_size=1, max_size=20),
                          st.lists(_ODD_CHARS, min_size=1, max_size=5).map("".join))


@dataclass(frozen=True)
class Edit:
    """One change to a record file; indices are taken modulo the file's size, so every
    edit applies to every file (and shrinks towards its first line)."""

    op: str
    at: int = 0
    other: int = 0
    text: str = ""

    def apply(self, data: bytes) -> bytes:
        lines = data.split(b"\n")
        i = self.at % len(lines)
        if self.op == "delete":
            del lines[i]
        elif self.op == "duplicate":
            lines.insert(i, lines[i])
        elif self.op == "swap":
            j = self.other % len(lines)
            lines[i], lines[j] = lines[j], lines[i]
        elif self.op == "indent":
            line = lines[i].lstrip(b" ")
            lines[i] = self.text.encode() + line
        elif self.op == "value":
            keyed = [n for n, line in enumerate(lines) if _KEY_LINE.match(line)]
            n = keyed[self.at % len(keyed)] if keyed else i
            m = _KEY_LINE.match(lines[n])
            new = self.text.encode("utf-8")
            lines[n] = (m.group("lead") + m.group("key") + b": " + new) if m else new
        elif self.op == "insert":
            line = lines[i]
            col = self.other % (len(line) + 1)
            lines[i] = line[:col] + self.text.encode("utf-8") + line[col:]
        elif self.op == "insert-line":
            lines.insert(i, self.text.encode("utf-8"))
        elif self.op == "truncate":
            return data[: self.at % (len(data) + 1)]
        elif self.op == "bytes":  # raw bytes that are not UTF-8, or a BOM, at an offset
            k = self.at % (len(data) + 1)
            return data[:k] + self.text.encode("latin-1") + data[k:]
        elif self.op == "encoding":
            return data.decode("utf-8", "surrogateescape").encode(self.text, "replace")
        else:
            raise AssertionError(self.op)
        return b"\n".join(lines)


edit = st.one_of(
    st.builds(Edit, op=st.sampled_from(["delete", "duplicate"]), at=st.integers(0, 400)),
    st.builds(Edit, op=st.just("swap"), at=st.integers(0, 400), other=st.integers(0, 400)),
    st.builds(Edit, op=st.just("indent"), at=st.integers(0, 400),
              text=st.sampled_from(["", " ", "   ", "      ", "\t", " \t", "        "])),
    st.builds(Edit, op=st.just("value"), at=st.integers(0, 400), text=yaml_value),
    st.builds(Edit, op=st.just("value"), at=st.integers(0, 400), text=_tricks),
    st.builds(Edit, op=st.just("insert"), at=st.integers(0, 400), other=st.integers(0, 80),
              text=inserted_text),
    st.builds(Edit, op=st.just("insert-line"), at=st.integers(0, 400),
              text=st.one_of(st.sampled_from(YAML_TRICKS), inserted_text)),
    st.builds(Edit, op=st.just("truncate"), at=st.integers(0, 20000)),
    st.builds(Edit, op=st.just("bytes"), at=st.integers(0, 20000),
              text=st.sampled_from(["\xff", "\xc3", "\xed\xa0\x80", "\xef\xbb\xbf",
                                    "\xfe\xff", "\x80\x80", "\xc0\xaf", "\x00"])),
    st.builds(Edit, op=st.just("encoding"),
              text=st.sampled_from(["utf-16", "utf-16-be", "utf-32", "latin-1", "cp1252"])),
)


@dataclass(frozen=True)
class Damage:
    file: str
    edits: tuple[Edit, ...]


damage = st.builds(Damage, file=st.sampled_from(RECORD_NAMES),
                   edits=st.lists(edit, min_size=1, max_size=3).map(tuple))


@pytest.fixture(scope="module")
def agenda_lines() -> int:
    return len(load_agenda(DATA / "source" / "gfd-2008-tunis-agenda.txt",
                           DATA / "corrections.yaml").lines)


@pytest.fixture(scope="module")
def records_copy(tmp_path_factory) -> Path:
    """A private copy of data/records; each example damages one file and restores it."""
    root = tmp_path_factory.mktemp("fuzz-records") / "records"
    shutil.copytree(RECORDS, root)
    return root


def test_the_untouched_records_load(records_copy, agenda_lines):
    """The harness measures something: the copy, undamaged, loads."""
    records = load_records(records_copy, agenda_lines)
    assert len(records) > 100


_parsed: dict[tuple[Path, bytes], tuple[list, list]] = {}


def _read_unchanged_once(damaged: Path):
    """records._read_file, but a file other than the damaged one is parsed once and its
    result reused: reading YAML is nearly all the loader's time, the result depends only
    on the bytes, and the checks never change it. An example then costs a tenth."""
    read = records_module._read_file

    def read_file(path: Path, problems: list):
        if path == damaged:
            return read(path, problems)
        key = (path, path.read_bytes())
        if key not in _parsed:
            found: list = []
            _parsed[key] = (read(path, found), found)
        items, found = _parsed[key]
        problems.extend(found)
        return list(items)

    return read_file


@settings(FUZZ, max_examples=examples(300))
@given(d=damage)
def test_damaged_records_load_or_raise_records_error(records_copy, agenda_lines, d):
    path = records_copy / d.file
    original = path.read_bytes()
    damaged = original
    for e in d.edits:
        damaged = e.apply(damaged)
    path.write_bytes(damaged)
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(records_module, "_read_file", _read_unchanged_once(path))
            # any exception but RecordsError propagates: hypothesis reports each kind apart
            load_records(records_copy, agenda_lines)
    except RecordsError as e:
        _assert_problems_are_located(e, records_copy)
    finally:
        path.write_bytes(original)


def _assert_problems_are_located(e: RecordsError, root: Path) -> None:
    assert isinstance(e, GfdError)
    assert e.problems, "a RecordsError with no problem in it"
    files = {p.resolve() for p in record_files(root)}
    message = str(e)
    for p in e.problems:
        assert p.file is not None, f"a problem names no file: {p}"
        assert Path(p.file).resolve() in files, f"a problem names no record file: {p}"
        assert str(p.file) in message
        assert p.message.strip(), f"a problem with no message: {p!r}"
        if p.line is not None:
            count = Path(p.file).read_bytes().count(b"\n") + 1
            assert 1 <= p.line <= count + 1, f"line {p.line} is outside {p.file} ({count}): {p}"


# Every trick, deterministically, as the value of one field of each type: what the random
# test only sometimes draws. (file, field: its first occurrence in the file)
TRICK_FIELDS = [
    ("gfd-2008-tunis/seminar.yaml", "id"), ("gfd-2008-tunis/seminar.yaml", "series_number"),
    ("gfd-2008-tunis/seminar.yaml", "lines"), ("gfd-2008-tunis/programme.yaml", "date"),
    ("gfd-2008-tunis/programme.yaml", "start"),
]


def test_every_yaml_trick_in_every_kind_of_field(records_copy, agenda_lines):
    failures: dict[str, list[str]] = {}  # what went wrong -> where
    for rel, key in TRICK_FIELDS:
        path = records_copy / rel
        original = path.read_bytes()
        lines = original.split(b"\n")
        n = next(i for i, line in enumerate(lines)
                 if (m := _KEY_LINE.match(line)) and m.group("key") == key.encode())
        for trick in YAML_TRICKS:
            changed = Edit("value", text=trick).apply(b"\n".join(lines[n:n + 1]))
            path.write_bytes(b"\n".join([*lines[:n], changed, *lines[n + 1:]]))
            try:
                with pytest.MonkeyPatch.context() as mp:
                    mp.setattr(records_module, "_read_file", _read_unchanged_once(path))
                    load_records(records_copy, agenda_lines)
            except RecordsError as e:
                try:
                    _assert_problems_are_located(e, records_copy)
                except AssertionError as a:
                    failures.setdefault(f"{trick[:40]!r}: {a}", []).append(key)
            except Exception as e:  # each one is what the test reports
                failures.setdefault(f"{trick[:40]!r}: {type(e).__name__}: {str(e)[:100]}",
                                    []).append(key)
            finally:
                path.write_bytes(original)
    assert not failures, (
        f"{len(failures)} values make load_records raise something else than a located "
        "RecordsError:\n" + "\n".join(f"  {what} (as {', '.join(keys)})"
                                       for what, keys in failures.items()))


# The CLI on a broken copy of data/: exit 2, the file named, no traceback, nothing written.
CLI_DAMAGE = {
    "yaml-syntax": ("gfd-2008-tunis/people.yaml", Edit("insert-line", 3, text="  - id: [unclosed")),
    "impossible-date": ("gfd-2008-tunis/programme.yaml",
                        Edit("insert-line", 14, text="    date: 2008-02-30")),
    "list-as-key": ("gfd-2008-tunis/seminar.yaml", Edit("insert-line", 0, text="[a]: b")),
}


@pytest.mark.parametrize("case", sorted(CLI_DAMAGE))
def test_cli_build_of_damaged_records_exits_2(case, tmp_path):
    rel, e = CLI_DAMAGE[case]
    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    target = data / "records" / rel
    if case == "impossible-date":  # replace the record's date rather than add a second one
        text = target.read_text(encoding="utf-8")
        target.write_text(text.replace("date: 2008-05-27", "date: 2008-02-30", 1),
                          encoding="utf-8")
    else:
        target.write_bytes(e.apply(target.read_bytes()))
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, "-m", "gfd_kg", "build", "--data", str(data),
                             "--out", str(out)], capture_output=True, text=True, timeout=120)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 2, result.stderr
    assert target.name in result.stderr, f"the error does not name the file:\n{result.stderr}"
    assert not (out / "gfd.trig").exists()


# ======================================================================================
# 2. The HTTP server
# ======================================================================================

KINDS = ["person", "event", "organization", "country", "place", "document", "question",
         "role", "address", "contact", "ontology", "shapes", "download", "sparql", "graph",
         ".well-known", "void", "health", "embed", ""]
IDS = ["khedija-zammouri", "gfd-2008-tunis", "gfd-2008-tunis/session-1", "france",
       "Seminar", "gfd.nt", "gfd.trig", "SHA256SUMS", "void.ttl", "embed",
       "gfd-2008-tunis--session-1.jsonld", "maison-de-l-entreprise", "zouheir-mdhaffer",
       "position-1", "data", "nope"]
DOTS = [".", "..", "...", ".ttl", ".jsonld", ".nt", ".html", ".rdf", "x.", "x.ttl.ttl",
        "khedija-zammouri.TTL", "khedija-zammouri.", "~", "-"]
BAD_ESCAPES = ["%", "%Z", "%ZZ", "%2", "%C3", "%00", "%2F", "%2f", "%25", "%2e%2e", "%u0041",
               "%C0%AE", "%ED%A0%80", "%FF%FE", "%0D%0A", "%3Cx-fuzz%3E", "<x-fuzz>",
               "%22%3E%3Cx-fuzz%3E", "%E2%80%AE"]
# characters a client may send raw in a request target (h11: visible ASCII)
RAW = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in "?")
LEAKS = ("Traceback", 'File "', "site-packages", str(Path(__file__).resolve().parents[1]),
         "gfd-kg-store-")


def _pct(data: bytes) -> str:
    return "".join(f"%{b:02X}" for b in data)


segment = st.one_of(
    st.sampled_from(KINDS + IDS + DOTS + BAD_ESCAPES),
    st.text(max_size=12).map(lambda s: quote(s, safe="!$&'()*+,;=:@-._~")),  # unicode, UTF-8
    st.binary(min_size=1, max_size=6).map(_pct),  # any byte: NUL, invalid UTF-8
    st.text(alphabet=RAW, max_size=12),  # raw punctuation
)
# Request heads stay under HEAD_LIMIT: above it the HTTP server (h11) may drop the
# connection, depending on how the bytes arrive; test_a_long_get_query_arriving_in_pieces
# tests that limit on its own.
HEAD_LIMIT = 16 * 1024
long_path = st.tuples(st.sampled_from(["/person/", "/", "/sparql/", "/download/", "/x/"]),
                      st.integers(200, 6_000),
                      st.sampled_from(["a", "%C3%A9", "/", ".", "%00", "x/.."])
                      ).map(lambda t: t[0] + t[2] * (t[1] // len(t[2])))
path = st.one_of(
    st.lists(segment, max_size=8).map(lambda segs: "/" + "/".join(segs)),
    st.tuples(st.sampled_from(KINDS), st.sampled_from(IDS), st.sampled_from(["", *DOTS]))
    .map(lambda t: f"/{t[0]}/{t[1]}{t[2]}"),
    long_path,
)

media_type = st.sampled_from([
    "*/*", "text/*", "application/*", "*/html", "/", "", "text/", "/html", "*", "*/*/*",
    "text/html", "application/xhtml+xml", "text/turtle", "application/x-turtle",
    "application/ld+json", "application/json", "application/n-triples", "text/plain",
    "application/rdf+xml", "application/sparql-results+json", "application/sparql-results+xml",
    "text/csv", "text/tab-separated-values", "application/xml", "text/xml", "image/png",
    "TEXT/HTML", "Text/Turtle", "application/trig", "application/n-quads", "x/y", ";", ",",
])
q_value = st.one_of(
    st.sampled_from(["0", "1", "0.5", "1.000", "0.001", "-1", "2", "nan", "NaN", "inf",
                     "-inf", "1e999", "", "abc", "0x1", " 0.3", "0.", ".5", "1.0000001"]),
    st.floats().map(repr),
)
media_range = st.tuples(
    media_type,
    st.lists(st.one_of(q_value.map(lambda q: f"q={q}"),
                       st.sampled_from(["charset=utf-8", "level=1", "q", "=", "profile=\"x\"",
                                        "Q=0.9", "q=0.9;q=0.1", "version=1.1"])),
             max_size=3),
).map(lambda t: ";".join([t[0], *t[1]]))
# what h11 lets a client send in a header value: no NUL, CR, LF; no edge whitespace
def _header_bytes(value: str | bytes) -> bytes:
    """What h11 lets a client send as a header value: no NUL, CR, LF, VT, FF; no space at
    either end."""
    raw = value if isinstance(value, bytes) else value.encode("latin-1", "replace")
    return bytes(c for c in raw if c not in b"\x00\n\r\x0b\x0c").strip(b" \t")


garbage_header = st.binary(max_size=300).map(_header_bytes)
accept = st.one_of(
    st.none(),
    st.lists(media_range, max_size=30).map(", ".join),
    st.lists(media_range, max_size=8).map(",".join),
    garbage_header,
    st.tuples(media_range, st.integers(100, 1000)).map(
        lambda t: ", ".join([t[0]] * t[1])[:7000]),
    st.lists(media_type, min_size=1, max_size=5).map(lambda ms: ",".join(ms * 80)[:7000]),
)

QUERIES = [
    "ASK { ?s a <https://w3id.org/gfd-kg/ontology/Seminar> }",
    "SELECT ?name WHERE { ?p a <http://schema.org/Person> ; <http://schema.org/name> ?name } "
    "ORDER BY ?name LIMIT 5",
    "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o } LIMIT 5",
    "DESCRIBE <https://w3id.org/gfd-kg/person/khedija-zammouri>",
    "SELECT * WHERE { GRAPH ?g { ?s ?p ?o } } LIMIT 3",
    "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }",
    "SELECT * WHERE { ?s ?p ?o }",
    "SELECT * FROM <https://w3id.org/gfd-kg/graph/data> WHERE { ?s ?p ?o } LIMIT 2",
    "SELECT * FROM NAMED <urn:nothing> WHERE { GRAPH ?g { ?s ?p ?o } } LIMIT 2",
    "SELECT * WHERE { ?s <http://www.w3.org/2000/01/rdf-schema#subClassOf>* ?o } LIMIT 10",
    "PREFIX xsd: <http://www.w3.org/2001/XMLSchema#> "
    "SELECT * { BIND(1/0 AS ?x) BIND(IRI(\"a b\") AS ?y) BIND(xsd:integer(\"x\") AS ?z) }",
    "PREFIX xsd: <http://www.w3.org/2001/XMLSchema#> SELECT (xsd:dateTime(\"2008-02-30T00:00:00\")"
    " AS ?d) (STRLEN(\"\\u0000\") AS ?n) {}",
    'SELECT ?o WHERE { ?s ?p ?o FILTER(REGEX(STR(?o), "(((")) } LIMIT 1',
    "SELECT (<urn:no-such-function>(1) AS ?f) {}",
    "SELECT ?x { BIND(<http://www.w3.org/2005/xpath-functions#concat>(\"a\", \"b\") AS ?x) }",
    "SELECT ?x { BIND(<<( <urn:a> <urn:b> <urn:c> )>> AS ?x) }",
    "SELECT ?x { BIND(TRIPLE(<urn:a>, <urn:b>, <urn:c>) AS ?x) }",
    "SELECT * { <<( ?s ?p ?o )>> ?q ?r }",
    "SELECT ?x { BIND(\"\\u0000\" AS ?x) }",
    "SELECT * { ?s ?p ?o } LIMIT 99999999999999999999999",
    "SELECT * { ?s ?p ?o } ORDER BY (1/0) LIMIT 1",
    "DESCRIBE ?s WHERE { ?s ?p ?o }",
    "SELECT ?x { VALUES ?x { 1 \"é\"@fr <urn:x> UNDEF } }",
    "SELECT * WHERE { SERVICE <http://127.0.0.1:1/sparql> { ?s ?p ?o } }",
    "SELECT * WHERE { SERVICE SILENT <http://127.0.0.1:1/sparql> { ?s ?p ?o } }",
    "SELECT * WHERE { SERVICE <urn:x:y> { ?s ?p ?o } }",
    "SELECT * WHERE { SERVICE <file:///etc/passwd> { ?s ?p ?o } }",
    "SELECT * WHERE { SERVICE ?service { ?s ?p ?o } }",
    "SELECT * WHERE { FILTER(1<'>') SERVICE <http://127.0.0.1:1/x> { ?s ?p ?o } "
    "BIND('a' AS ?q) }",
    "BASE <a b> SELECT * {}",
    "SELECT * WHERE { ?s ?p \"\\ud800\" }",
    "INSERT DATA { <urn:a> <urn:b> <urn:c> }",
    "CLEAR ALL",
    "LOAD <http://127.0.0.1:1/x>",
    "DROP GRAPH <https://w3id.org/gfd-kg/graph/data>",
]
sparql = st.one_of(
    st.sampled_from(QUERIES),
    st.sampled_from(QUERIES),
    st.tuples(st.sampled_from(QUERIES), st.integers(0, 200), inserted_text)
    .map(lambda t: t[0][:t[1]] + t[2] + t[0][t[1]:]),
    st.tuples(st.sampled_from(QUERIES), st.integers(0, 200)).map(lambda t: t[0][:t[1]]),
    st.text(max_size=120),
)
# about the --max-query-bytes limit (100 000); sent in a body, not in a URL
long_query = st.integers(99_990, 100_010).map(lambda n: " " * n + "ASK {}")
iri_value = st.one_of(
    st.sampled_from(["https://w3id.org/gfd-kg/graph/data", "https://w3id.org/gfd-kg/graph/nope",
                     "", "a b", "<", ">", "urn:x", "http://", "relative", "http://[::1",
                     "https://w3id.org/gfd-kg/graph/data\x00", "\u00e9", "_:b0", "%ZZ"]),
    st.text(max_size=30),
)
param_key = st.one_of(
    st.sampled_from(["query", "query", "query", "format", "default-graph-uri",
                     "named-graph-uri", "update", "using-graph-uri", "using-named-graph-uri",
                     "output", "timeout", "Query", "query[]", ""]),
    st.text(max_size=10),
)
param_value = st.one_of(sparql, iri_value,
                        st.sampled_from(["ttl", "jsonld", "nt", "html", "rdf", "json", "TTL"]))


@st.composite
def query_string(draw, one_query: bool = False) -> str:
    """key=value pairs, keys repeated, values %-encoded as UTF-8 or as raw bytes (so some
    are not UTF-8), or with broken escapes. ``one_query``: mostly a single query= first, as
    clients send, so that the query itself gets fuzzed."""
    pairs = []
    if one_query and draw(st.integers(0, 9)):
        pairs.append(("query", draw(sparql)))
    pairs += draw(st.lists(st.tuples(param_key, param_value), max_size=3 if one_query else 4))
    parts: list[str] = []
    for key, value in pairs:
        how = draw(st.sampled_from(["utf-8", "utf-8", "latin-1", "raw", "bare"]))
        if how == "utf-8":
            parts.append(f"{quote_plus(key, safe='')}={quote_plus(value, safe='')}")
        elif how == "latin-1":
            parts.append(f"{quote(key, safe='')}="
                         f"{quote(value.encode('latin-1', 'replace'), safe='')}")
        elif how == "raw":  # what a sloppy client sends: some characters unescaped
            raw = "".join(c if c in RAW and c not in "#" else quote(c, safe="") for c in value)
            parts.append(f"{quote(key, safe='')}={raw}")
        else:
            parts.append(quote(key, safe=""))
    parts += draw(st.lists(st.sampled_from([*BAD_ESCAPES, "&", "=", "==", ";", "+"]),
                           max_size=2))
    return "&".join(parts)


@dataclass
class Req:
    method: str
    target: str
    headers: dict[str, str | bytes] = field(default_factory=dict)
    body: bytes | None = None

    def text(self) -> str:
        parts = [unquote(self.target), *(v.decode("latin-1") if isinstance(v, bytes) else v
                                         for v in self.headers.values())]
        if self.body:
            parts.append(self.body.decode("utf-8", "replace"))
        return "\n".join(parts)


def send(client: httpx.Client, req: Req) -> httpx.Response:
    target = req.target.encode("ascii")
    headers = {k: _header_bytes(v) for k, v in req.headers.items()}
    head = len(target) + sum(len(k) + len(v) + 4 for k, v in headers.items())
    assert head < HEAD_LIMIT - 500, f"a test sends a {head}-byte request head (limit {HEAD_LIMIT})"
    try:
        return client.request(req.method, "/", headers=headers, content=req.body,
                              extensions={"target": target})
    except httpx.TimeoutException:
        pytest.fail(f"no answer within {TIMEOUT:g} s to {req}")
    except httpx.TransportError as e:
        pytest.fail(f"the server dropped the connection on {req}: {e!r}")


def check(req: Req, r: httpx.Response) -> None:
    """The properties every answer has, whatever was asked."""
    body = r.content
    assert r.status_code < 500 or r.status_code == 503, (
        f"{r.status_code} for {req}:\n{body[:600]!r}")
    sent = req.text().lower()
    for leak in LEAKS:
        if leak.lower() not in sent:
            assert leak.encode() not in body, f"{leak!r} in the answer to {req}:\n{body[:2000]!r}"
    has_body = bool(body) or int(r.headers.get("content-length", "0") or 0) > 0
    if has_body and r.status_code not in (204, 304):
        assert r.headers.get("content-type"), f"no Content-Type on {r.status_code} for {req}"
    if "html" in r.headers.get("content-type", ""):
        assert b"<x-fuzz" not in body, f"markup from the request is echoed unescaped: {req}"


@pytest.fixture(scope="module")
def server_log(dist_build) -> Path:
    return dist_build.result().parent / "server.log"


@pytest.fixture(scope="module")
def server(dist_build, server_log):
    dist = dist_build.result()
    with running_server("--out", str(dist), "--timeout", QUERY_TIME_LIMIT, log=server_log) as base:
        yield base


@pytest.fixture(scope="module")
def client(server):
    with httpx.Client(limits=CLIENT_LIMITS, base_url=server, timeout=TIMEOUT) as c:
        for name in ("accept", "accept-encoding"):  # send only what a test gives
            del c.headers[name]
        yield c
        health = c.get("/health", headers={"Accept": "application/json"})
        assert health.status_code == 200 and health.json()["status"] == "ok"


def _headers(accept_value) -> dict[str, str | bytes]:
    return {} if accept_value is None else {"Accept": accept_value}


@settings(FUZZ, max_examples=examples(250))
@given(p=path, a=accept, fmt=st.one_of(st.none(), st.sampled_from(
    ["ttl", "jsonld", "nt", "html", "rdf", "", "TTL", "json", "%00", "x y"]), st.text(max_size=8)),
    method=st.sampled_from(["GET", "GET", "HEAD"]))
def test_any_path_with_any_accept(client, p, a, fmt, method):
    target = p if fmt is None else f"{p}?format={quote(fmt, safe='')}"
    req = Req(method, target, _headers(a))
    check(req, send(client, req))


@settings(FUZZ, max_examples=examples(250))
@given(qs=query_string(one_query=True), a=accept,
       where=st.sampled_from(["/sparql", "/sparql/"]))
def test_sparql_get_with_any_parameters(client, qs, a, where):
    req = Req("GET", f"{where}?{qs}" if qs else where, _headers(a))
    check(req, send(client, req))


content_type = st.one_of(
    st.none(),
    st.sampled_from([
        "application/x-www-form-urlencoded", "application/sparql-query",
        "application/sparql-update", "text/plain", "application/json",
        "multipart/form-data; boundary=x", "", "APPLICATION/SPARQL-QUERY",
        "application/sparql-query;charset=UTF-16", "application/sparql-query; charset=\"utf-8\"",
        "application/x-www-form-urlencoded; charset=latin1",
        "application/x-www-form-urlencoded;charset=UTF-8", "junk", ";", ";;;",
        "application/sparql-query; charset=", "application/sparql-query; charset=\"",
        "application/sparql-query; charset=utf-8; charset=utf-16",
        "application/sparql-update; charset=utf-16", "application/sparql-results+json",
    ]),
    st.tuples(media_type, st.one_of(st.just(""), garbage_header.map(
        lambda b: "; charset=" + b.decode("latin-1")))).map("".join),
    garbage_header,
)


@st.composite
def post_body(draw) -> bytes:
    kind = draw(st.sampled_from(["query", "form", "bytes", "nul", "invalid-utf8", "big"]))
    if kind == "query":
        codec = draw(st.sampled_from(["utf-8", "utf-8", "utf-16", "utf-16-le", "utf-32",
                                      "latin-1", "utf-8-sig"]))
        return draw(st.one_of(sparql, long_query)).encode(codec, "replace")
    if kind == "form":
        return draw(query_string(one_query=True)).encode("ascii")
    if kind == "bytes":
        return draw(st.binary(max_size=2000))
    if kind == "nul":
        return draw(sparql).replace(" ", "\x00").encode("utf-8")
    if kind == "invalid-utf8":
        good = draw(sparql).encode("utf-8")
        k = draw(st.integers(0, len(good)))
        bad = draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xc0\xaf", b"\x80"]))
        return good[:k] + bad + good[k:]
    return b"query=" + b"+" * draw(st.integers(99_990, 100_010)) + b"ASK%7B%7D"  # the limit


@settings(FUZZ, max_examples=examples(250))
@given(ctype=content_type, body=post_body(), qs=st.one_of(st.just(""), query_string()),
       a=accept, where=st.sampled_from(["/sparql", "/sparql/"]))
def test_sparql_post_with_any_body(client, ctype, body, qs, a, where):
    headers = _headers(a)
    if ctype is not None:
        headers["Content-Type"] = ctype
    req = Req("POST", f"{where}?{qs}" if qs else where, headers, body)
    check(req, send(client, req))


@pytest.mark.parametrize("how", ["get", "post-form", "post-direct", "get-html"])
def test_every_tricky_query_is_answered_without_a_server_error(client, how):
    """Each query of QUERIES once, every way it can be sent: a certain answer for
    what the random tests only sometimes draw."""
    failures = []
    for q in QUERIES:
        if how == "get":
            req = Req("GET", "/sparql?query=" + quote(q, safe=""), {"Accept": "*/*"})
        elif how == "get-html":
            req = Req("GET", "/sparql?query=" + quote(q, safe=""), {"Accept": "text/html"})
        elif how == "post-form":
            req = Req("POST", "/sparql", {"Content-Type": "application/x-www-form-urlencoded"},
                      ("query=" + quote_plus(q, safe="")).encode("ascii"))
        else:
            req = Req("POST", "/sparql", {"Content-Type": "application/sparql-query"},
                      q.encode("utf-8"))
        r = send(client, req)
        try:
            check(req, r)
        except AssertionError as e:
            failures.append(f"  {q}\n    -> {r.status_code} {r.content[:160]!r}\n"
                            f"       {str(e).splitlines()[0][:160]}")
    assert not failures, f"{len(failures)} queries fail:\n" + "\n".join(failures)


METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "TRACE"]
SOME_PATHS = ["/", "/sparql", "/sparql/", "/health", "/.well-known/void", "/ontology",
              "/ontology/", "/ontology/Seminar", "/shapes/", "/download/gfd.nt",
              "/download/nope", "/person/khedija-zammouri", "/person/khedija-zammouri.ttl",
              "/event/gfd-2008-tunis", "/nope"]


@settings(FUZZ, max_examples=examples(200))
@given(method=st.sampled_from(METHODS),
       p=st.one_of(st.sampled_from(SOME_PATHS), path),
       qs=st.one_of(st.just(""), query_string()),
       origin=st.one_of(st.none(), st.sampled_from(["http://example.org", "null", "*"]),
                        garbage_header),
       preflight=st.one_of(st.none(), st.sampled_from(METHODS), garbage_header),
       ctype=content_type,
       body=st.one_of(st.none(), post_body()))
def test_any_method_anywhere(client, method, p, qs, origin, preflight, ctype, body):
    headers: dict[str, str | bytes] = {}
    if origin is not None:
        headers["Origin"] = origin
    if preflight is not None:
        headers["Access-Control-Request-Method"] = preflight
        headers["Access-Control-Request-Headers"] = "content-type, x-fuzz"
    if ctype is not None:
        headers["Content-Type"] = ctype
    req = Req(method, f"{p}?{qs}" if qs else p, headers, body)
    check(req, send(client, req))


ACCEPT_TARGETS = [
    "/sparql?query=" + quote(QUERIES[1]),
    "/sparql?query=" + quote(QUERIES[0]),
    "/sparql?query=" + quote(QUERIES[2]),
    "/sparql", "/", "/.well-known/void", "/ontology/", "/shapes/",
    "/person/khedija-zammouri", "/person/nobody", "/event/gfd-2008-tunis/session-1",
    "/download/gfd.ttl",
]


@settings(FUZZ, max_examples=examples(200))
@given(target=st.sampled_from(ACCEPT_TARGETS), a=accept)
def test_any_accept_header_on_every_kind_of_page(client, target, a):
    req = Req("GET", target, _headers(a))
    r = send(client, req)
    check(req, r)
    # RFC 9110, 5.5: a field value with a control character (other than HTAB) is invalid,
    # and the recipient may reject the message
    expected = (400,) if has_control_character(a) else (200, 404, 406)
    assert r.status_code in expected, f"{r.status_code} for {req}: {r.text[:300]}"


def has_control_character(value: str | bytes | None) -> bool:
    raw = value.encode("latin-1", "replace") if isinstance(value, str) else value or b""
    return any((c < 0x20 and c != 0x09) or c == 0x7F for c in raw)


SERVICE_QUERIES = {
    "plain": "SELECT * WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
    "silent": "SELECT * WHERE {{ SERVICE SILENT <{url}> {{ ?s ?p ?o }} }}",
    "lower-case": "select * where {{ service <{url}> {{ ?s ?p ?o }} }}",
    "in-exists": "ASK {{ FILTER EXISTS {{ SERVICE <{url}> {{ ?s ?p ?o }} }} }}",
    "prefixed": "PREFIX remote: <{url}> SELECT * WHERE {{ SERVICE remote: {{ ?s ?p ?o }} }}",
    "variable": "SELECT * WHERE {{ VALUES ?v {{ <{url}> }} SERVICE ?v {{ ?s ?p ?o }} }}",
    "construct": "CONSTRUCT {{ ?s ?p ?o }} WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
    # '<' as less-than, then a "'": a tokenizer that takes <'> for an IRI takes the rest
    # of the line, SERVICE included, for a string
    "less-than-quote": "SELECT * WHERE {{ FILTER(1<'>') SERVICE <{url}> {{ ?s ?p ?o }} "
                       "BIND('a' AS ?q) }}",
}


@pytest.mark.parametrize("shape", sorted(SERVICE_QUERIES))
def test_service_clause_does_not_reach_other_hosts(client, shape):
    """A public endpoint must not be a proxy: SERVICE may not make the server connect
    anywhere (here: a listener of the test's own on 127.0.0.1), however it is written."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    connected: list[bytes] = []
    answered = threading.Event()

    def accept_one() -> None:
        while not answered.is_set():
            if select.select([listener], [], [], 0.05)[0]:
                conn, _ = listener.accept()
                with conn:
                    conn.settimeout(2)
                    try:
                        connected.append(conn.recv(4096))
                    except OSError:
                        connected.append(b"")
                return

    t = threading.Thread(target=accept_one, daemon=True)
    t.start()
    q = SERVICE_QUERIES[shape].format(url=f"http://127.0.0.1:{port}/probe")
    req = Req("GET", "/sparql?query=" + quote(q, safe=""),
              {"Accept": "application/sparql-results+json"})
    try:
        r = send(client, req)
    finally:
        answered.set()
        t.join(5)
        listener.close()
    assert not connected, f"the server connected to 127.0.0.1:{port}: {connected[0][:200]!r}"
    assert 400 <= r.status_code < 500, f"{r.status_code}: {r.text[:300]}"


def test_a_long_get_query_arriving_in_pieces_is_answered(server):
    """A 60 kB query is under --max-query-bytes (100 000), so a GET of it is answered,
    however the network cuts the request into pieces: here the first 20 kB of the request
    head come alone, as they may from a client far away."""
    host, port = server.removeprefix("http://").split(":")
    query = "+" * 60_000 + quote("ASK { ?s ?p ?o }", safe="")
    head = (f"GET /sparql?query={query} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            "Accept: application/sparql-results+json\r\nConnection: close\r\n\r\n").encode()
    with socket.create_connection((host, int(port)), timeout=TIMEOUT) as s:
        s.sendall(head[:20_000])
        s.settimeout(1.0)  # the server must wait for the rest, not answer or hang up
        try:
            early = s.recv(300)
        except TimeoutError:
            early = None
        assert early is None, f"the server gave up on an incomplete request head: {early!r}"
        s.settimeout(TIMEOUT)
        s.sendall(head[20_000:])
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200"), answer[:300]
    assert b'"boolean": true' in answer


def test_server_is_still_up_after_the_fuzzing(client, server_log):
    r = client.get("/health", headers={"Accept": "application/json"})
    assert r.status_code == 200 and r.json()["status"] == "ok"
    ask = client.get("/sparql", params={"query": QUERIES[0]},
                     headers={"Accept": "application/sparql-results+json"})
    assert ask.status_code == 200 and ask.json()["boolean"] is True
    # what the server logged: an uncaught exception is a bug even where a test missed it
    log = server_log.read_text(encoding="utf-8", errors="replace")
    raised = sorted({line for line in log.splitlines()
                     if re.match(r"^[A-Za-z_.]+(Error|Exception)\b", line)})
    assert "Traceback" not in log, "uncaught exceptions in the server log:\n" + "\n".join(raised)
