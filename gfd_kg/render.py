"""HTML from Jinja2 templates: the one way the project makes a web page.

The templates are files in ``templates/`` (installed as the data subpackage
``gfd_kg.templates``, found by :mod:`gfd_kg.resources`); every page extends
``base.html``, which holds the one navigation bar, the search box and the one stylesheet
(``site.css``, included inline so that a page saved from the server, or the ontology page
in ``dist/``, keeps its look offline). Autoescaping is on for every template and undefined
names are errors, so a text from the data is escaped unless a template says otherwise and
a misspelt name fails the tests instead of printing nothing.

Both halves use it: the build for the documentation pages written into ``dist/``, the
server for everything else; it imports nothing of either.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from .resources import templates_dir


@dataclass(frozen=True)
class Nav:
    """The links of the common header, as paths of the site (the server passes its own
    when a path differs, as the tests' servers do for /sparql)."""

    home: str = "/"
    events: str = "/event/"
    people: str = "/person/"
    organisations: str = "/organization/"
    countries: str = "/country/"
    sparql: str = "/sparql"
    ontology: str = "/ontology/"
    downloads: str = "/#downloads"
    search: str = "/search"

    def links(self) -> tuple[tuple[str, str], ...]:
        return (("Home", self.home), ("Events", self.events), ("People", self.people),
                ("Organisations", self.organisations), ("Countries", self.countries),
                ("SPARQL", self.sparql), ("Ontology", self.ontology),
                ("Downloads", self.downloads))


NAV = Nav()

_SCHEME_RE = re.compile(r"^\s*([A-Za-z][A-Za-z0-9+.-]*):")


def safe_href(href: str | None) -> str | None:
    """A link target that is a path or an http(s) URL; None for ``javascript:`` and the
    like, which must not become a link whatever the data says."""
    if href is None:
        return None
    m = _SCHEME_RE.match(href)
    return href if m is None or m.group(1).lower() in ("http", "https") else None


def script_json(value: Any) -> Markup:
    """JSON for a ``<script type="application/ld+json">`` block: sorted, and with ``<``,
    ``>`` and ``&`` escaped as ``\\u`` sequences, so no text of the data can close the
    element or open a comment inside it. On one line: with an indent, Python's json module
    writes with its slow pure-Python encoder (10 ms for the seminar's 91 KB document)."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text)


@cache
def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(str(templates_dir())),
                      autoescape=select_autoescape(default=True, default_for_string=True),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                      keep_trailing_newline=True)
    env.filters["safe_href"] = safe_href
    env.filters["script_json"] = script_json
    env.globals["nav"] = NAV
    return env


def render(template: str, **context: Any) -> str:
    """The page ``template`` (a path in ``templates/``) filled with ``context``."""
    return environment().get_template(template).render(**context)
