"""Settings, declared once with their help text. The CLI's options and the README's
settings table are both made from ``SETTINGS``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .iris import BASE_ENV, DEFAULT_BASE


@dataclass(frozen=True)
class Setting:
    name: str
    default: str
    help: str
    env: str | None = None
    unset: str = "none"  # what an empty default means, as the help says it


SETTINGS: dict[str, Setting] = {
    s.name: s
    for s in (
        Setting("base", DEFAULT_BASE,
                "Base IRI every dataset IRI is minted under (http(s), ending in '/').",
                env=BASE_ENV),
        Setting("data", "",
                "Folder with the agenda text (source/), corrections.yaml and the record "
                "files (records/**/*.yaml).",
                unset="the curated data installed with the package (gfd_kg/data, the "
                      "checkout's data/ in an editable install)"),
        Setting("out", "dist", "Folder the build writes its files to."),
        Setting("build_time", "",
                "Time the provenance and the dataset description record for the build (ISO "
                "8601). Without it: $SOURCE_DATE_EPOCH, else the time of the data's last git "
                "commit, else none. Never the clock, so builds stay byte-identical."),
        Setting("jobs", "0",
                "Processes that build seminars at once (each seminar is validated and "
                "reasoned on its own), and then write the dumps (each file by one); 0: one "
                "per available core."),
        Setting("host", "127.0.0.1", "Address the server listens on."),
        Setting("port", "8000", "Port the server listens on."),
        Setting("timeout", "5", "Seconds a request waits for its SPARQL query; past them it "
                "gets 503 and the worker whose thread holds the query is replaced."),
        Setting("max_rows", "10000",
                "Rows (or triples) a query result may have; a larger result gets 413."),
        Setting("max_query_bytes", "100000", "Bytes a query's text may have; more gets 413."),
        Setting("store", "memory",
                "Where the served store is: memory (loaded once, then the server processes "
                "are forked from the loader; the fastest) or disk (a temporary on-disk store "
                "each process opens read-only, for data larger than the memory)."),
        Setting("workers", "2", "gunicorn worker processes sharing the port; each runs its "
                "queries in max-per-client + 1 threads."),
        Setting("max_waiting", "16",
                "Queries that may wait in one worker for a free thread; more at once get 503."),
        Setting("max_per_client", "4",
                "Queries one client address may have running or waiting; more get 429. One "
                "client never runs on every worker at once: another client finds one free."),
        Setting("assets", "",
                "Folder with the query editor's files (YASGUI: yasgui.min.js and "
                "yasgui.min.css), or a node_modules folder npm installed @zazuko/yasgui into; "
                "without them the pages keep the plain query form.",
                env="GFD_KG_ASSETS",
                unset="the checkout's node_modules (scripts/npm-deps.sh), else no editor"),
        Setting("include_personal_contacts", "off",
                "Also write contacts.ttl: the telephone and fax numbers and e-mail addresses "
                "of the named contacts. Off by default: they are personal data."),
    )
}


@dataclass(frozen=True)
class DataLayout:
    """Where the inputs of a build are, below one data folder."""

    root: Path

    @property
    def agenda(self) -> Path:
        return self.root / "source" / "gfd-2008-tunis-agenda.txt"

    @property
    def corrections(self) -> Path:
        return self.root / "corrections.yaml"

    @property
    def records(self) -> Path:
        return self.root / "records"

    @property
    def links(self) -> Path:
        return self.root / "reference" / "links.csv"
