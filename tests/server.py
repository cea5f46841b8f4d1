"""Start `gfd-kg serve` as a real process on 127.0.0.1 for a test, and stop it after.
Waits on /health with a deadline; never sleeps a fixed time."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.error import URLError
from urllib.request import urlopen

import httpx

# What test clients keep an idle connection for: less than the server's 2 s
# (gfd_kg/web/server.py KEEPALIVE), so that a client never sends on a connection the server
# is closing that very moment (a request lost so is no fault of the server's).
CLIENT_LIMITS = httpx.Limits(keepalive_expiry=1.0)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url: str, process: subprocess.Popen, deadline: float = 60.0) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if process.poll() is not None:
            log = getattr(process, "log_path", None)
            out = Path(log).read_text(errors="replace") if log else ""
            raise RuntimeError(f"the server exited with {process.returncode}:\n{out}")
        try:
            with urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except (URLError, OSError):
            pass
        time.sleep(0.1)  # polling interval, not a wait for readiness
    raise TimeoutError(f"{url} did not answer within {deadline:g} s")


@contextmanager
def running_server(*args: str, env: dict[str, str] | None = None,
                   log: Path | None = None) -> Iterator[str]:
    """``with running_server("--out", dist) as base_url: ...`` -> "http://127.0.0.1:PORT"."""
    with served(*args, env=env, log=log) as (base, _process):
        yield base


@contextmanager
def served(*args: str, env: dict[str, str] | None = None,
           log: Path | None = None) -> Iterator[tuple[str, subprocess.Popen]]:
    """``with served("--out", dist) as (base_url, process): ...``, the process being the
    server's main process (its workers are its children: ``workers_of``).

    The server's output goes to ``log`` (kept) or to a temporary file. It gets a temporary
    folder of its own (TMPDIR), for its store: a server stopped by TERM must have removed
    its store when it exits (checked); one that had to be killed cannot, so the folder is
    removed here."""
    port = free_port()
    cmd = [sys.executable, "-m", "gfd_kg", "serve", "--host", "127.0.0.1", "--port", str(port),
           *args]
    tmp = Path(tempfile.mkdtemp(prefix="gfd-kg-test-server-"))
    # output to a file, not a pipe nobody reads: a full pipe would block the server
    out = open(log, "wb") if log else tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed below
        prefix="gfd-kg-serve-", suffix=".log", delete=False)
    process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT,
                               env={**os.environ, **(env or {}), "TMPDIR": str(tmp)},
                               start_new_session=True)
    process.log_path = out.name  # type: ignore[attr-defined]
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base + "/health", process)
        yield base, process
    finally:
        killed = stop(process)
        out.close()
        if not log:
            Path(out.name).unlink(missing_ok=True)
        left = store_folders(tmp)
        shutil.rmtree(tmp, ignore_errors=True)
    assert killed or not left, f"the server stopped by TERM left its store behind: {left}"


def workers_of(process: subprocess.Popen) -> list[int]:
    """The pids of the server's worker processes (the main process's children), from /proc."""
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children")
    try:
        return sorted(int(pid) for pid in children.read_text().split())
    except OSError:
        return []


def store_folders(tmp: Path) -> list[str]:
    """The store folders ``gfd-kg serve`` made in ``tmp`` (its TMPDIR) and left there."""
    return sorted(p.name for p in tmp.glob("gfd-kg-store-*"))


def stop(process: subprocess.Popen) -> bool:
    """Stop a server started in its own session: TERM, then KILL if it lingers. Whether it
    had to be killed."""
    if process.poll() is not None:
        return False
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
        return False
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=15)
        return True


def build_dist(out: Path) -> Path:
    result = subprocess.run([sys.executable, "-m", "gfd_kg", "build", "--out", str(out)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return out
