"""What the server serves: the store loaded from the build's files, its limits, the
build's downloads and example queries (``Site``), and the triples a resource's answer is made
of (``describe``, ``page_graph``). The HTTP answers are gfd_kg/web/app.py's and
gfd_kg/web/sparql.py's; the processes, gfd_kg/web/server.py's."""

from __future__ import annotations

import functools
import multiprocessing as mp
import os
import re
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph, URIRef

from ..errors import GfdError
from ..iris import IRIs
from ..query import QueryFile
from ..terms import to_rdflib
from .editor import Assets
from .runner import ClientCounts, Limits, QueryRunner
from .store import load_store

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
LABELS = ("http://schema.org/name", "http://www.w3.org/2000/01/rdf-schema#label",
          "http://www.w3.org/2004/02/skos/core#prefLabel")
NEIGHBOUR_FACTS = (*LABELS, RDF_TYPE, "http://schema.org/startDate", "http://schema.org/endDate",
                   "http://schema.org/roleName", "http://schema.org/streetAddress")
ROLE_TYPES = {"http://schema.org/Role", "http://schema.org/OrganizationRole"}
ROLE_LINKS = ("http://schema.org/performer", "http://schema.org/organizer",
              "http://schema.org/affiliation", "http://schema.org/memberOf")
STOPPING = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}  # what stops `gfd-kg serve`
DOWNLOAD_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(?:/[A-Za-z0-9][A-Za-z0-9._-]*)?$")


@dataclass
class Site:
    """What the server serves. Made once, before the server processes fork: the store
    (``memory``, inherited by every process, or ``store_dir``, an on-disk store each process
    opens read-only) and the per-client counts they share. In each process, ``open()`` gives
    the store to answer from (``lookup``) and the query runner over it."""

    base: str
    limits: Limits = field(default_factory=Limits)
    dist: Path | None = None
    examples: list[QueryFile] = field(default_factory=list)
    assets: Assets | None = None  # the query editor's files (gfd_kg/web/editor.py)
    memory: ox.Store | None = None
    store_dir: Path | None = None
    counts: ClientCounts = field(default_factory=ClientCounts)
    lookup: ox.Store | None = None
    runner: QueryRunner | None = None
    memo: dict[tuple[str, ...], bytes] = field(default_factory=dict)  # pages made once
    # what replaces this process once a query outlives the limit (gfd_kg/web/server.py)
    retire: Callable[[], None] = field(default=lambda: None)
    owner: int = field(default_factory=os.getpid)  # the process that made the store folder

    def load(self, paths: list[Path], graphs: dict[Path, str] | None = None,
             in_memory: bool = True) -> None:
        """Load the files into a fresh store: in memory (the server processes, forked after
        the load, inherit it), or on disk in a temporary folder, removed when the site is
        left (``with site: site.load(...)``), however that happens.

        The load runs apart and this thread waits for it: a signal handler only runs on the
        main thread between two Python steps, so a load on the main thread would keep Ctrl-C
        or a TERM waiting until it ends. In memory it runs in a thread (pyoxigraph releases
        the GIL while it loads); on disk in a child process, which an interruption kills
        before the folder is removed (a thread would go on writing into it)."""
        if in_memory:
            self.memory = _in_thread(lambda: load_store(paths, None, graphs))
            return
        signal.pthread_sigmask(signal.SIG_BLOCK, STOPPING)  # the folder is made and noted at once
        try:
            self.store_dir = store_dir = Path(tempfile.mkdtemp(prefix="gfd-kg-store-"))
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, STOPPING)
        _in_process(lambda: load_store(paths, store_dir, graphs))  # closed: opened read-only

    def open(self) -> None:
        """Ready this process to answer (at its start)."""
        self.lookup = self.memory if self.memory is not None else \
            ox.Store.read_only(str(self.store_dir))
        self.runner = QueryRunner(self.lookup, self.limits, self.counts)

    @property
    def store(self) -> ox.Store:
        if self.lookup is None:
            raise RuntimeError("the site is not open in this process: call open() first")
        return self.lookup

    @property
    def queries(self) -> QueryRunner:
        if self.runner is None:
            raise RuntimeError("the site is not open in this process: call open() first")
        return self.runner

    def remember(self, key: tuple[str, ...], make: Callable[[], bytes]) -> bytes:
        """An answer that never changes while the site is served, made once per key (keys
        include the Host a client names: bounded)."""
        body = self.memo.get(key)
        if body is None:
            body = make()
            if len(self.memo) < 256:
                self.memo[key] = body
        return body

    @functools.cached_property
    def prefixes(self) -> tuple[tuple[str, str], ...]:
        """The dataset's prefixes, for Turtle a reader can read."""
        return tuple((p, str(ns)) for p, ns in IRIs(self.base).prefixes().items())

    def iri_for_path(self, path: str) -> str:
        return self.base + path.lstrip("/")

    def href(self, iri: str) -> str | None:
        return "/" + iri[len(self.base):] if iri.startswith(self.base) else None

    def downloads(self) -> dict[str, Path]:
        """The published files, by name: those the checksum list names, nothing else."""
        if self.dist is None or not (self.dist / "SHA256SUMS").is_file():
            return {}
        names = {}
        for line in (self.dist / "SHA256SUMS").read_text(encoding="utf-8").splitlines():
            _digest, _, name = line.partition("  ")
            if DOWNLOAD_NAME.match(name):
                names[name] = self.dist / name
        names["SHA256SUMS"] = self.dist / "SHA256SUMS"
        return names

    def __enter__(self) -> Site:
        return self

    def __exit__(self, *exc: object) -> None:
        """The store folder goes however the server ends: stopped, failed to start, or
        interrupted; only in the process that made it (a server process that exits runs
        this too, as it unwinds the stack it was forked with)."""
        if self.store_dir is not None and os.getpid() == self.owner:
            shutil.rmtree(self.store_dir, ignore_errors=True)


# -- terms --------------------------------------------------------------------------------

Subject = ox.NamedNode | ox.BlankNode | ox.Triple
Term = ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple


def _triples(store: ox.Store, s: Subject | None = None, p: ox.NamedNode | None = None,
             o: Term | None = None) -> list[ox.Triple]:
    seen: set[ox.Triple] = set()
    for q in store.quads_for_pattern(s, p, o, None):
        seen.add(ox.Triple(q.subject, q.predicate, q.object))
    return sorted(seen, key=str)


def describe(store: ox.Store, iri: str) -> list[ox.Triple]:
    """The resource's outgoing triples in every graph, with the blank nodes they reach
    (a concise bounded description)."""
    out: list[ox.Triple] = []
    todo: list[ox.NamedNode | ox.BlankNode] = [ox.NamedNode(iri)]
    done: set = set()
    while todo:
        node = todo.pop()
        if node in done:
            continue
        done.add(node)
        for t in _triples(store, s=node):
            out.append(t)
            if isinstance(t.object, ox.BlankNode):
                todo.append(t.object)
    return out


# what a page follows up from a node, to the top: an item's parents, an organisation's,
# a place's, and where an organisation is (gfd_kg/web/views.py reads these chains)
CHAINS = ("http://schema.org/superEvent", "http://schema.org/parentOrganization",
          "http://schema.org/containedInPlace", "http://schema.org/location")
# what a page reads of a node two steps away: its name, its kind, its time, its place in
# the programme; a role's name and holder; a talk's stated duration and countries; a
# question's text; an agenda line span's lines
FAR_FACTS = (*NEIGHBOUR_FACTS, "http://schema.org/text", "http://schema.org/alternateName")
FAR_OWN_FACTS = ("position", "statedDuration", "presentsExperienceOf", "heading", "country",
                 "asOfEvent", "discussionQuestion")
PERSON = "http://schema.org/Person"
SUB_EVENT = "http://schema.org/subEvent"


# Terms as rdflib's, remembered: pages name the same predicates, classes and nodes again
# and again, and an rdflib literal with a datatype is slow to make (it parses its value).
# The store does not change while it is served; the bound keeps a worker's memory small.
_rdflib_term = functools.lru_cache(maxsize=1 << 16)(to_rdflib)


def page_graph(store: ox.Store, iri: str, base: str) -> Graph:
    """What a resource page shows (gfd_kg/web/views.py): the resource's outgoing and
    incoming triples; every node they mention described in full (an item's talks, a
    person's roles and sources); the chains up from them (a talk's session and seminar,
    an organisation's parents, a place's); for a role the items that hold it; for a
    person the roles they play and in what; and of every node further away its name,
    kind, time and role facts; labels of the predicates and classes."""
    # rdflib's store without named graphs (a page graph has none): a third quicker to fill
    g = Graph(store="SimpleMemory")
    node = ox.NamedNode(iri)
    seen: set[ox.Triple] = set()
    every: set[Subject] = set()  # every node the graph holds as subject or object
    def add(triples: Iterable[ox.Triple]) -> None:
        for t in triples:
            if t not in seen:
                seen.add(t)
                g.add((_rdflib_term(t.subject), _rdflib_term(t.predicate),
                       _rdflib_term(t.object)))
                every.add(t.subject)
                if isinstance(t.object, (ox.NamedNode, ox.BlankNode)):
                    every.add(t.object)

    described: set[Subject] = set()

    def full(n: Subject) -> list[ox.Triple]:
        if n in described:
            return []
        described.add(n)
        found = describe(store, n.value) if isinstance(n, ox.NamedNode) else \
            list(_unsorted(store, s=n))
        add(found)
        return found

    def nodes_of(triples: Iterable[ox.Triple]) -> set[Subject]:
        return {x for t in triples for x in (t.subject, t.object)
                if isinstance(x, (ox.NamedNode, ox.BlankNode))}

    outgoing = full(node)
    incoming = _unsorted(store, o=node)
    add(incoming)
    types = {t.object for t in outgoing if t.predicate.value == RDF_TYPE}
    event_page = _is(store, node, {"http://schema.org/Event"})
    person_page = _is(store, node, {PERSON})
    # what the page's resource points at, in full (an item's talks, a person's roles); a
    # seminar's items only by their facts (below): its page lists them as a programme
    seminar = _is(store, node, {base + "ontology/Seminar"})
    items = {t.object for t in outgoing if t.predicate.value == SUB_EVENT} if seminar else set()
    for m in sorted(nodes_of(outgoing) - {node} - types - items, key=str):
        full(m)
        if _is(store, m, ROLE_TYPES):  # the items that hold a role
            add(_unsorted(store, o=m))
    # what points at it: roles and people in full, the rest by its facts (below); on the
    # page of an organisation or a place with the roles it holds (a talk that presents a
    # country, with its speakers)
    pointing = sorted({t.subject for t in incoming} - described, key=str)
    for m in pointing:
        if _is(store, m, ROLE_TYPES):
            full(m)
            add(_unsorted(store, o=m))
        elif _is(store, m, {PERSON}):
            full(m)
        elif not (person_page or event_page):
            add(t for p in ROLE_LINKS[:2] for t in _unsorted(store, s=m, p=ox.NamedNode(p)))
    if not event_page:  # what the people of an organisation or a country did
        for m in sorted(every - {node}, key=str):
            if m in described and _is(store, m, {PERSON}):
                for p in ROLE_LINKS[:2]:
                    for t in _unsorted(store, p=ox.NamedNode(p), o=m):
                        add([t])
                        add(_unsorted(store, o=t.subject))
    # every other node: its facts (a name, a kind, a time, a role's holder...), then the
    # chains up from every node to the top (a talk's session and seminar, an
    # organisation's parents, a place's), then the names of what those facts name
    facts = {*FAR_FACTS, *CHAINS, *(base + "ontology/" + p for p in FAR_OWN_FACTS)}
    roles = set(ROLE_LINKS)  # a role's holder, of a role further away

    # of a node further away, only the kinds a page reads there: is it a role, a person
    kinds = {*ROLE_TYPES, PERSON}

    def add_facts(m: Subject, wanted: set[str]) -> None:
        add(t for t in _unsorted(store, s=m) if t.predicate.value in wanted
            and (t.predicate.value != RDF_TYPE
                 or (isinstance(t.object, ox.NamedNode) and t.object.value in kinds)))

    for m in sorted(every - described - types, key=str):
        described.add(m)
        add_facts(m, facts | roles if _is(store, m, ROLE_TYPES) else facts)
    chains = [ox.NamedNode(p) for p in CHAINS]
    todo: list[Subject] = sorted(every, key=str)
    for _depth in range(8):
        ups = sorted({t.object for m in todo for p in chains for t in _unsorted(store, s=m, p=p)
                      if isinstance(t.object, ox.NamedNode) and t.object not in described},
                     key=str)
        for up in ups:
            described.add(up)
            add_facts(up, facts)
        todo = list(ups)
        if not todo:
            break
    names = {*LABELS, "http://schema.org/roleName", "http://schema.org/text",
             base + "ontology/heading", base + "ontology/position"}
    for m in sorted(every - described - types, key=str):
        add_facts(m, names)
    # labels of every predicate and class the page names
    terms = {str(p) for p in g.predicates()} | {str(c) for c in g.objects(None, URIRef(RDF_TYPE))}
    for term in sorted(terms):
        for label in LABELS[1:]:
            add(_english(_unsorted(store, s=ox.NamedNode(term), p=ox.NamedNode(label))))
    return g


def _english(triples: Iterable[ox.Triple]) -> list[ox.Triple]:
    """A term's labels in English or no language, when it has such: the page shows one."""
    triples = list(triples)
    plain = [t for t in triples if isinstance(t.object, ox.Literal)
             and t.object.language in (None, "en")]
    return plain or triples


def _unsorted(store: ox.Store, s: Subject | None = None, p: ox.NamedNode | None = None,
              o: Term | None = None) -> set[ox.Triple]:
    """The triples of a pattern in every graph, in no order: a page graph's content does
    not depend on the order it is filled in."""
    return {ox.Triple(q.subject, q.predicate, q.object)
            for q in store.quads_for_pattern(s, p, o, None)}


def _is(store: ox.Store, node: Subject, classes: Iterable[str]) -> bool:
    return any(True for c in classes for _q in store.quads_for_pattern(
        node, ox.NamedNode(RDF_TYPE), ox.NamedNode(c), None))


def _in_thread(load: Callable[[], ox.Store]) -> ox.Store:
    """``load()`` in a daemon thread, waited for here, so that a signal stops the wait."""
    done: list[ox.Store] = []
    failed: list[BaseException] = []

    def run() -> None:
        try:
            done.append(load())
        except BaseException as e:
            failed.append(e)

    thread = threading.Thread(target=run, name="gfd-kg load", daemon=True)
    thread.start()
    while thread.is_alive():
        thread.join(0.05)
    if failed:
        raise failed[0]
    return done[0]


def _in_process(load: Callable[[], object]) -> None:
    """``load()`` in a forked child process, waited for here; killed if the wait is
    interrupted. Its error, if any, is raised here. The stopping signals are held while
    the child is forked (an exception raised by a handler while ``fork`` runs its hooks is
    ignored, and the signal with it), and the child takes them as their default: to end."""
    ctx = mp.get_context("fork")
    reader, writer = ctx.Pipe(duplex=False)

    def run() -> None:
        for signum in STOPPING:
            signal.signal(signum, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOPPING)
        try:
            load()
            writer.send(None)
        except BaseException as e:
            writer.send(e if isinstance(e, GfdError) else GfdError(str(e)))

    child = ctx.Process(target=run, name="gfd-kg load", daemon=True)
    try:
        signal.pthread_sigmask(signal.SIG_BLOCK, STOPPING)
        try:
            child.start()
        finally:  # a signal that came meanwhile is raised here, and the child killed below
            signal.pthread_sigmask(signal.SIG_UNBLOCK, STOPPING)
        while child.is_alive():
            child.join(0.05)
    except BaseException:
        if child.pid is not None:
            child.kill()
            child.join()
        raise
    failed = reader.recv() if reader.poll() else GfdError(
        f"the store's loader ended with exit code {child.exitcode} and no word")
    if failed is not None:
        raise failed
