"""The server processes: gunicorn's arbiter and its ASGI worker, over a site loaded once.

Why gunicorn (measured; see benchmarks/README.md): it forks a replacement for a retired
process at once from the loaded arbiter (uvicorn's ``--workers`` took about 5 s), and its
server hooks let the per-client counts of a process that ended be cleared. Why its own ASGI
worker rather than uvicorn's: on retiring, uvicorn's worker closes every connection whose
request it has not read yet, so a client that connects at that moment gets no answer (6 of
240 fresh connections right after a retirement, benchmarks/README.md); gunicorn's stops
accepting and serves what it accepted (0 of 720). The store is loaded before the arbiter
starts (gfd_kg/web/site.py), so every worker is forked with it.

- A worker whose query outlives the time limit answers 503, then sends itself TERM, which
  gunicorn's workers take as "finish what is in hand, then exit"; the arbiter forks its
  replacement.
- The arbiter takes TERM and INT as gunicorn documents (graceful and quick stop); HUP, which
  gunicorn takes as "reload the configuration", stops the server too: the configuration is
  the command line, and a terminal that hangs up has nobody left to serve.
- A worker has ``GRACEFUL`` seconds to finish on a stop, so the server is gone within 5 s."""

from __future__ import annotations

import os
import signal
import socket
from collections.abc import Callable
from typing import Any

from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter

from ..errors import GfdError
from .app import create_app
from .site import Site

GRACEFUL = 3  # seconds a worker has to finish its requests when the server stops
KEEPALIVE = 2  # seconds an idle connection is kept open (less than GRACEFUL)


class ServerError(GfdError):
    """The server cannot start (an address in use, say)."""


def check_address(host: str, port: int) -> int:
    """Fail now, before the store loads, if the address cannot be listened on; the port
    (the one the system picks for 0)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as e:
            raise ServerError(f"cannot serve on {host}:{port}: {e.strerror}") from None
        return int(probe.getsockname()[1])


def retire_this_process() -> None:
    """Ask gunicorn to replace this worker: TERM, on which its workers stop gracefully."""
    os.kill(os.getpid(), signal.SIGTERM)


class StopOnHangUp(Arbiter):
    """gunicorn's arbiter, with HUP taken as TERM (see the module's docstring)."""

    def handle_hup(self) -> None:
        self.handle_term()


class Application(BaseApplication):
    """gunicorn's documented custom-application entry: its settings, and the app to serve."""

    def __init__(self, site: Site, options: dict[str, Any]) -> None:
        self.site = site
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        return create_app(self.site)


def hooks(site: Site, announce: Callable[[str], None]) -> dict[str, Callable[..., None]]:
    """gunicorn's server hooks: a row of the per-client counts for each worker (cleared when
    the worker exits, however it ends), the retirement in each worker, the announcement."""
    rows: dict[int, int] = {}  # worker age -> its row, in the arbiter

    def pre_fork(server: Arbiter, worker: Any) -> None:
        taken = set(rows.values())
        rows[worker.age] = next(r for r in range(site.counts.rows) if r not in taken)

    def post_fork(server: Arbiter, worker: Any) -> None:
        site.counts.row = rows[worker.age]
        site.retire = retire_this_process

    def child_exit(server: Arbiter, worker: Any) -> None:
        row = rows.pop(worker.age, None)
        if row is not None:
            site.counts.clear_row(row)

    def when_ready(server: Arbiter) -> None:
        announce("ready")

    return {"pre_fork": pre_fork, "post_fork": post_fork, "child_exit": child_exit,
            "when_ready": when_ready}


def serve(site: Site, host: str, port: int, announce: Callable[[str], None]) -> None:
    """Serve the site until the arbiter is stopped (it exits by SystemExit)."""
    options: dict[str, Any] = {
        "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
        "workers": site.limits.workers,
        "worker_class": "asgi",
        "asgi_loop": "asyncio",  # not uvloop when it happens to be installed: the same figures
        "preload_app": True,
        "graceful_timeout": GRACEFUL,
        # an idle kept-alive connection is closed after KEEPALIVE s, before a retiring
        # worker's GRACEFUL s are up: what is still open then is cut, and a request that
        # came on it meanwhile would get no answer
        "keepalive": KEEPALIVE,
        "loglevel": "warning",
        "accesslog": None,
        "errorlog": "-",
        "proc_name": "gfd-kg",
        "control_socket_disable": True,
        # a GET carries its query in the request line, percent-encoded: up to three bytes a
        # byte of --max-query-bytes, and the rest of the line; any header up to 64 KiB
        "limit_request_line": 3 * site.limits.max_query_bytes + 16 * 1024,
        "limit_request_field_size": 64 * 1024,
        **hooks(site, announce),
    }
    StopOnHangUp(Application(site, options)).run()
