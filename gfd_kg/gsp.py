"""Publish the built graphs to an external triple store through the SPARQL 1.1 Graph Store
HTTP Protocol (https://www.w3.org/TR/sparql11-http-rdf-update/).

Each named graph is sent with ``PUT {store}?graph=<IRI>`` (section 5.3, "HTTP PUT"), which
replaces the graph's whole content: publishing again gives the same store, never a store
with the triples twice. Graphs are sent one request each; a store that fails part way
through is reported with the graphs it already replaced, so the caller knows the store now
mixes old and new graphs and that a re-run finishes the job.

A store that asks for credentials (Virtuoso's ``/sparql-graph-crud-auth``: HTTP Digest,
RFC 7616) gets them computed from a challenge fetched first with a body-less HEAD: a store
that answers a PUT's missing credentials with 401 closes the connection without reading
the body, which a client then sees as a connection reset, not as the 401. A second HEAD,
with the credentials, tells a wrong password apart before any graph is sent."""

from __future__ import annotations

import http.client
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.parse import quote, urlsplit
from urllib.request import (
    HTTPDigestAuthHandler,
    HTTPPasswordMgrWithDefaultRealm,
    Request,
    parse_http_list,
    parse_keqv_list,
    urlopen,
)

from rdflib import BNode, Dataset, URIRef

from .errors import GfdError, SourceError
from .publish import dataset_files, ntriples_bytes

NTRIPLES = "application/n-triples"
_BODY_PREVIEW = 300  # characters of an error answer quoted in the message


class StoreUnavailable(GfdError):
    """The store is down, too slow, or answered with an error. ``replaced`` lists the
    graphs this call had already replaced when it stopped."""

    def __init__(self, message: str, url: str, replaced: tuple[str, ...] = ()) -> None:
        self.url = url
        self.replaced = replaced
        super().__init__(message)


@dataclass(frozen=True)
class Credentials:
    """A user name and password for a store's authenticated Graph Store endpoint."""

    user: str
    password: str


class DigestSigner:
    """Adds HTTP Digest credentials to the requests of one publication.

    One ``HTTPDigestAuthHandler`` throughout, so that a nonce the store hands out again is
    counted up (``nc``), as RFC 7616 asks; its public ``get_authorization`` computes the
    header from a request and the store's parsed challenge."""

    def __init__(self, store_url: str, credentials: Credentials) -> None:
        self.credentials = credentials
        passwords = HTTPPasswordMgrWithDefaultRealm()  # any realm, below the store's URL
        passwords.add_password(None, store_url, credentials.user, credentials.password)
        self.handler = HTTPDigestAuthHandler(passwords)

    def sign(self, request: Request, timeout: float) -> None:
        """Add an ``Authorization`` header to ``request`` if its URL asks for one, after
        checking with a HEAD that the store accepts the credentials."""
        url = request.full_url
        challenge = _challenge(Request(url, method="HEAD"), timeout)
        if challenge is None:
            return  # the store asks for no credentials
        check = Request(url, method="HEAD")
        check.add_header("Authorization", self.authorization(check, challenge))
        if _challenge(check, timeout) is not None:
            raise StoreUnavailable(
                f"{url} refused the user {self.credentials.user!r} with that password "
                "(HTTP 401); check --user and --password", url)
        request.add_header("Authorization", self.authorization(request, challenge))

    def authorization(self, request: Request, challenge: str) -> str:
        url = request.full_url
        scheme, _, params = challenge.strip().partition(" ")
        if scheme.lower() != "digest":
            raise StoreUnavailable(
                f"{url} asks for {scheme or 'unnamed'} authentication; `gfd-kg publish` "
                "speaks HTTP Digest (as Virtuoso's /sparql-graph-crud-auth does)", url)
        try:
            value = self.handler.get_authorization(
                request, parse_keqv_list(parse_http_list(params)))
        except (ValueError, URLError) as e:  # an algorithm or a qop urllib does not know
            raise StoreUnavailable(f"{url} sent a Digest challenge urllib cannot answer "
                                   f"({e}): {challenge}", url) from e
        if not value:
            raise StoreUnavailable(f"{url} sent a Digest challenge without a realm or "
                                   f"nonce: {challenge}", url)
        return f"Digest {value}"  # get_authorization gives the parameters, not the scheme


def graph_url(store_url: str, graph: str) -> str:
    """The Graph Store address of one named graph (indirect graph identification, 4.2)."""
    sep = "&" if urlsplit(store_url).query else "?"
    return f"{store_url}{sep}graph={quote(graph, safe='')}"


def count_triples(ntriples: bytes) -> int:
    """Triples in an N-Triples document: its lines that are neither blank nor comments."""
    return sum(1 for line in ntriples.splitlines()
               if line.strip() and not line.lstrip().startswith(b"#"))


def put_graph(store_url: str, graph: str, ntriples: bytes, timeout: float = 30,
              signer: DigestSigner | None = None) -> int:
    """Replace one named graph with ``ntriples``; the HTTP status of the store's answer."""
    url = graph_url(store_url, graph)
    request = Request(url, data=ntriples, method="PUT", headers={"Content-Type": NTRIPLES})
    if signer is not None:
        signer.sign(request, timeout)
    try:
        return _send(request, timeout)
    except HTTPError as e:
        body = _preview(e)
        hint = ("; the store asks for a user name and password: give them with --user and "
                "--password" if e.code == 401 and signer is None else "")
        raise StoreUnavailable(
            f"{url} answered HTTP {e.code} {e.reason}" + (f": {body}" if body else "") + hint,
            url) from e


def _challenge(request: Request, timeout: float) -> str | None:
    """What a store asks for before it answers ``request`` (a HEAD): its
    ``WWW-Authenticate`` challenge if it answers 401, else None, whatever else it answers
    (Virtuoso answers a HEAD it accepts with 501, Oxigraph with 200 or 404)."""
    try:
        _send(request, timeout)
    except HTTPError as e:
        return str(e.headers.get("WWW-Authenticate", "")) if e.code == 401 else None
    return None


def _send(request: Request, timeout: float) -> int:
    """Send ``request`` and read the answer: its status. An error status is raised as
    ``HTTPError``; a store that cannot be reached, is too slow or breaks off, as
    ``StoreUnavailable``."""
    url = request.full_url
    too_slow = (f"{url} did not answer within {timeout:g} s; is the store overloaded, or "
                "the timeout too short?")
    try:
        with urlopen(request, timeout=timeout) as response:
            response.read()
            return int(response.status)
    except HTTPError:
        raise
    except TimeoutError as e:  # while waiting for the answer
        raise StoreUnavailable(too_slow, url) from e
    except URLError as e:
        if isinstance(e.reason, TimeoutError):  # while connecting or sending
            raise StoreUnavailable(too_slow, url) from e
        if isinstance(e.reason, ConnectionResetError) and "Authorization" not in request.headers:
            raise StoreUnavailable(
                f"{url} closed the connection while the graph was sent ({e.reason}); a "
                "store that asks for a user name and password does that (Virtuoso's "
                "/sparql-graph-crud-auth): give them with --user and --password", url) from e
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


def publish(store_url: str, graphs: Mapping[str, bytes], timeout: float = 30,
            credentials: Credentials | None = None) -> list[tuple[str, int]]:
    """Replace each named graph (IRI -> N-Triples) at a Graph Store endpoint, in the
    mapping's order; ``(graph IRI, triples sent)`` for each. ``timeout`` is per request,
    in seconds; ``credentials`` are sent with HTTP Digest where the store asks for them.
    Raises ``StoreUnavailable`` naming the URL, and, if the store fails after some graphs
    were replaced, which ones."""
    if urlsplit(store_url).scheme not in ("http", "https") or not urlsplit(store_url).netloc:
        raise StoreUnavailable(f"{store_url!r} is not an http(s) URL; give the store's Graph "
                               "Store endpoint, e.g. http://127.0.0.1:7878/store", store_url)
    signer = DigestSigner(store_url, credentials) if credentials else None
    done: list[tuple[str, int]] = []
    for graph, ntriples in graphs.items():
        try:
            put_graph(store_url, graph, ntriples, timeout, signer)
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


def read_build(out: Path | str) -> dict[str, bytes]:
    """Every named graph a build folder holds for queries (``publish.dataset_files``: the
    public graphs of gfd.trig and the SDMX imports of sdmx/*.trig), by IRI, gfd.trig's
    first. Two files naming the same graph are refused: one would silently replace the
    other at the store."""
    graphs: dict[str, bytes] = {}
    source: dict[str, Path] = {}
    for path in dataset_files(Path(out)):
        for name, ntriples in read_trig(path).items():
            if name in source:
                raise SourceError(f"{path}: the graph <{name}> is also in {source[name]}; "
                                  "remove one of the two files")
            source[name] = path
            graphs[name] = ntriples
    return graphs


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
