"""The README a newcomer follows: its query table lists every query of queries/, and the
make targets it documents take what it says they take."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_query_table_lists_every_query():
    table = set(re.findall(r"^\| \[`([a-z0-9-]+)\.rq`\]\(queries/\1\.rq\) \|", README, re.M))
    files = {p.stem for p in (ROOT / "queries").glob("*.rq")}
    assert table == files, f"missing: {sorted(files - table)}, not a query: {sorted(table - files)}"


def test_make_serve_takes_host_and_port():
    plan = subprocess.run(["make", "-n", "-C", str(ROOT), "serve", "HOST=0.0.0.0", "PORT=8001"],
                          capture_output=True, text=True, check=True).stdout
    assert re.search(r"gfd-kg serve --out dist --host 0\.0\.0\.0 --port 8001", plan), plan
    default = subprocess.run(["make", "-n", "-C", str(ROOT), "serve"], capture_output=True,
                             text=True, check=True).stdout
    assert "--host 127.0.0.1 --port 8000" in default


def test_the_readme_says_how_to_call_gfd_kg_after_the_make_targets():
    assert ".venv/bin/gfd-kg" in README and ". .venv/bin/activate" in README
