"""Publish the built graphs to an external triple store through the SPARQL 1.1 Graph Store
HTTP Protocol (https://www.w3.org/TR/sparql11-http-rdf-update/).

Each named graph is sent with ``PUT {store}?graph=<IRI>`` (section 5.3, "HTTP PUT"), which
replaces the graph's whole content: publishing again gives the same store, never a store
with the triples twice. Graphs are sent one request each; a store that fails part way
through is reported with the graphs it already replaced, so the caller knows the store now
mixes old and new graphs and that a re-run finishes the job."""

from __future__ import annotations

import http.client
from collections.abc import Mapping
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.parse import quote, urlsplit
from urllib.request import Request, urlopen

from rdflib import BNode, Dataset, URIRef

from .errors import GfdError, SourceError
from .publish import ntriples_bytes

NTRIPLES = "application/n-triples"
_BODY_PREVIEW = 300  # characters of an error answer quoted in the message


class StoreUnavailable(GfdError):
    """The store is down, too slow, or answered with an error. ``replaced`` lists the
    graphs this call had already replaced when it stopped."""

    def __init__(self, message: str, url: str, replaced: tuple[str, ...] = ()) -> None:
        self.url = url
        self.replaced = replaced
        super().__init__(message)


def graph_url(store_url: str, graph: str) -> str:
    """The Graph Store address of one named graph (indirect graph identification, 4.2)."""
    sep = "&" if urlsplit(store_url).query else "?"
    return f"{store_url}{sep}graph={quote(graph, safe='')}"


def count_triples(ntriples: bytes) -> int:
    """Triples in an N-Triples document: its lines that are neither blank nor comments."""
    return sum(1 for line in ntriples.splitlines()
               if line.strip() and not line.lstrip().startswith(b"#"))


def put_graph(store_url: str, graph: str, ntriples: bytes, timeout: float = 30) -> int:
    """Replace one named graph with ``ntriples``; the HTTP status of the store's answer."""
    url = graph_url(store_url, graph)
    request = Request(url, data=ntriples, method="PUT", headers={"Content-Type": NTRIPLES})
    too_slow = (f"{url} did not answer within {timeout:g} s; is the store overloaded, or "
                "the timeout too short?")
    try:
        with urlopen(request, timeout=timeout) as response:
            response.read()
            return response.status
    except HTTPError as e:
        body = _preview(e)
        raise StoreUnavailable(
            f"{url} answered HTTP {e.code} {e.reason}" + (f": {body}" if body else ""),
            url) from e
    except TimeoutError as e:  # while waiting for the answer
        raise StoreUnavailable(too_slow, url) from e
    except URLError as e:
        if isinstance(e.reason, TimeoutError):  # while connecting or sending
            raise StoreUnavailable(too_slow, url) from e
        raise StoreUnavailable(f"{url} cannot be reached ({e.reason}); is the store running "
                               "and the URL its Graph Store endpoint?", url) from e
    except (OSError, http.client.HTTPException) as e:
        raise StoreUnavailable(f"{url} broke off the exchange ({e!r}); is the URL the "
                               "store's Graph Store endpoint?", url) from e


def _preview(e: HTTPError) -> str:
    try:
        raw = e.read(4 * _BODY_PREVIEW)
    except (OSError, http.client.HTTPException):
        return ""
    text = " ".join(raw.decode("utf-8", errors="replace").split())
    return text if len(text) <= _BODY_PREVIEW else text[:_BODY_PREVIEW] + "..."


def publish(store_url: str, graphs: Mapping[str, bytes], timeout: float = 30
            ) -> list[tuple[str, int]]:
    """Replace each named graph (IRI -> N-Triples) at a Graph Store endpoint, in the
    mapping's order; ``(graph IRI, triples sent)`` for each. ``timeout`` is per request,
    in seconds. Raises ``StoreUnavailable`` naming the URL, and, if the store fails after
    some graphs were replaced, which ones."""
    if urlsplit(store_url).scheme not in ("http", "https") or not urlsplit(store_url).netloc:
        raise StoreUnavailable(f"{store_url!r} is not an http(s) URL; give the store's Graph "
                               "Store endpoint, e.g. http://127.0.0.1:7878/store", store_url)
    done: list[tuple[str, int]] = []
    for graph, ntriples in graphs.items():
        try:
            put_graph(store_url, graph, ntriples, timeout)
        except StoreUnavailable as e:
            if not done:
                raise
            replaced = tuple(g for g, _ in done)
            left = [g for g in graphs if g not in replaced]
            raise StoreUnavailable(
                f"{e}\nThe store is now half updated: {len(replaced)} of {len(graphs)} graphs "
                f"were replaced ({', '.join(replaced)}); not replaced: {', '.join(left)}. "
                "Publish again once the store is fixed (a re-run replaces every graph).",
                e.url, replaced) from e
        done.append((graph, count_triples(ntriples)))
    return done


def read_trig(path: Path | str) -> dict[str, bytes]:
    """Each named graph of a TriG (or N-Quads) file, by IRI in order, as sorted N-Triples
    with canonical blank node labels (so the bytes are the same from run to run).

    Blank node labels are scoped to one request in the Graph Store Protocol, so a blank
    node shared by two graphs would become two; such a file, and one with triples in the
    default graph (which has no IRI to PUT to), is refused rather than published wrong."""
    path = Path(path)
    fmt = "nquads" if path.suffix == ".nq" else "trig"
    ds = Dataset()
    try:
        ds.parse(path, format=fmt)
    except FileNotFoundError as e:
        raise SourceError(f"{path}: no such file (run `gfd-kg build` first)") from e
    except Exception as e:  # rdflib raises several unrelated types for bad syntax
        raise SourceError(f"{path}: cannot be parsed as {fmt}: {e}") from e
    default = ds.default_graph.identifier
    if len(ds.default_graph):
        raise SourceError(f"{path}: {len(ds.default_graph)} triples are in the default "
                          "graph; put them in a named graph to publish them")
    graphs: dict[str, bytes] = {}
    seen: dict[BNode, str] = {}
    for g in sorted(ds.graphs(), key=lambda g: str(g.identifier)):
        if g.identifier == default or not len(g):
            continue
        if not isinstance(g.identifier, URIRef):
            raise SourceError(f"{path}: a graph is named by a blank node; the Graph Store "
                              "Protocol needs an IRI for each graph")
        name = str(g.identifier)
        for triple in g:
            for t in triple:
                if isinstance(t, BNode) and seen.setdefault(t, name) != name:
                    raise SourceError(
                        f"{path}: a blank node is used in both <{seen[t]}> and <{name}>; "
                        "the Graph Store Protocol would split it in two: give it an IRI")
        graphs[name] = ntriples_bytes(g)
    return graphs
