from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from rdflib import Graph

from gfd_kg import artefacts
from gfd_kg.build import Built, assemble, check_and_reason
from gfd_kg.iris import IRIs
from gfd_kg.model import CONTACTS_GRAPH, DATA_GRAPH
from gfd_kg.resources import data_dir
from tests.chromium import CHROMIUM, FLAGS

DATA = data_dir()


@pytest.fixture(scope="session")
def iris() -> IRIs:
    return IRIs()


@pytest.fixture(scope="session")
def built(iris: IRIs) -> Built:
    return assemble(DATA, iris)


@pytest.fixture(scope="session")
def reasoned(iris: IRIs) -> Built:
    """A build that went through SHACL and OWL RL (its own, so ``built`` stays asserted-only)."""
    b = assemble(DATA, iris)
    check_and_reason(b, iris)
    return b


@pytest.fixture(scope="session")
def shapes_graph(iris: IRIs) -> Graph:
    return artefacts.shapes(iris)


@pytest.fixture(scope="session")
def ontology_graph(iris: IRIs) -> Graph:
    return artefacts.ontology(iris)


@pytest.fixture(scope="session")
def data_graph(built: Built, iris: IRIs):
    return built.dataset.graph(iris.graph(DATA_GRAPH))


@pytest.fixture(scope="session")
def contacts_graph(built: Built, iris: IRIs):
    return built.dataset.graph(iris.graph(CONTACTS_GRAPH))


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    """A private copy of data/ that a test may break."""
    target = tmp_path / "data"
    shutil.copytree(DATA, target)
    return target


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium, headless, through Playwright: one a test module."""
    if CHROMIUM is None:
        pytest.fail("Chromium is not installed: run scripts/system-deps.sh (Debian chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield b
        b.close()
