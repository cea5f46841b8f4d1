"""Every kind of page in Debian's Chromium at 1280 and 390 px wide, as tests/screens.csv
lists them: the page answers with its status, shows its text, and nothing on it is wider
than the window. A full-page screenshot of each is kept in
tests/artifacts/<name>-<width>.png, to be looked at.

A row is added to screens.csv for a new kind of page. A page known not to pass yet says
why in its ``not_yet`` column: the test then expects it to fail (strictly, so a fixed
page is noticed and its row cleared)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

from tests.chromium import ARTIFACTS
from tests.server import build_dist, running_server

SCREENS = Path(__file__).with_name("screens.csv")
WIDTHS = {1280: 900, 390: 844}  # width -> height of the window


class Screen(NamedTuple):
    name: str
    path: str
    status: int
    text: str
    not_yet: str


def screens() -> list[Screen]:
    with SCREENS.open(encoding="utf-8", newline="") as f:
        lines = [line for line in f if not line.startswith("#")]
    rows = [Screen(r["name"], r["path"], int(r["status"]), r["text"], r["not_yet"] or "")
            for r in csv.DictReader(lines)]
    assert len({r.name for r in rows}) == len(rows), "two rows of screens.csv share a name"
    return rows


def cases() -> Iterator[object]:
    for screen in screens():
        for width in WIDTHS:
            marks = [pytest.mark.xfail(reason=screen.not_yet, strict=True)] \
                if screen.not_yet else []
            yield pytest.param(screen, width, id=f"{screen.name}-{width}", marks=marks)


# The elements that stick out of the window, with a selector-like name, their box and the
# start of their text. An element inside a box that clips it (overflow other than
# visible: a table in a scrolling wrapper, a <pre>) does not count when that box fits, or
# one around it does (CodeMirror's scroller is wider than its clipping frame, by design).
_OVERFLOWING = """() => {
  const limit = window.innerWidth;
  const name = (e) => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
    + [...e.classList].map(c => '.' + c).join('');
  const path = (e) => {
    const parts = [];
    for (let x = e; x && x !== document.body && parts.length < 4; x = x.parentElement)
      parts.unshift(name(x));
    return parts.join(' > ');
  };
  const clipped = (e) => {
    for (let x = e.parentElement; x && x !== document.documentElement; x = x.parentElement) {
      const s = getComputedStyle(x);
      if (s.overflowX !== 'visible') {
        const r = x.getBoundingClientRect();
        if (r.left >= -0.5 && r.right <= limit + 0.5) return true;
      }
    }
    return false;
  };
  const out = [];
  for (const e of document.body.querySelectorAll('*')) {
    const r = e.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    if ((r.right > limit + 0.5 || r.left < -0.5) && !clipped(e)) {
      out.push(`${path(e)}: x ${Math.round(r.left)}..${Math.round(r.right)} of ${limit}`
               + ` "${(e.textContent || '').trim().slice(0, 60)}"`);
    }
  }
  return out;
}"""


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[str]:
    dist = build_dist(tmp_path_factory.mktemp("screens") / "dist")
    with running_server("--out", str(dist)) as base:
        yield base


def test_screens_csv_lists_every_kind_of_page():
    names = {s.name for s in screens()}
    assert {"landing", "seminar", "session", "talk", "person", "organisation", "country",
            "ontology", "shapes", "results", "not-found"} <= names
    assert all(s.path.startswith("/") and s.text for s in screens())


@pytest.mark.parametrize("screen,width", list(cases()))
def test_page_fits_its_window(server, browser, screen: Screen, width: int):
    context = browser.new_context(viewport={"width": width, "height": WIDTHS[width]})
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        response = page.goto(server + screen.path)
        assert response is not None and response.status == screen.status
        page.wait_for_load_state("load")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{screen.name}-{width}.png"), full_page=True)
        assert page.get_by_text(screen.text).first.is_visible(), screen.text
        overflowing = page.evaluate(_OVERFLOWING)
        assert overflowing == [], "\n".join(overflowing[:20])
        sizes = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert sizes[0] <= sizes[1], f"the page scrolls sideways: {sizes[0]} > {sizes[1]} px"
        assert errors == []
    finally:
        context.close()


def test_the_check_names_what_sticks_out(browser):
    """The check catches what it is for: a wide element, and not one in a scrolling box."""
    context = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        page.set_content('<body style="margin:0"><p id="ok">fits</p>'
                         '<div style="overflow-x:auto"><table id="scrolled" style="width:800px">'
                         '<tr><td>x</td></tr></table></div>'
                         '<pre id="wide" style="width:600px">wide</pre></body>')
        found = page.evaluate(_OVERFLOWING)
        assert found == ['pre#wide: x 0..600 of 390 "wide"']
    finally:
        context.close()
