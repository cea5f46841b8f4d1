"""Where a request's time goes in `gfd-kg serve`, layer by layer: the same gunicorn arbiter and
ASGI worker (two processes, as `gfd-kg serve` runs them) serving, in turn,

- ``asgi``: a bare ASGI callable that answers every request with the same small JSON;
- ``starlette``: a Starlette app with one route and the CORS middleware, the same answer;
- ``thread``: that route, its answer made in one of gfd-kg's query threads
  (gfd_kg/web/runner.py), as a query is;
- ``gfd-kg``: `gfd-kg serve` itself, answering the competency query fact-source (two rows);

then pyoxigraph alone on that query (in this process, no HTTP). Each is measured with one
connection (p50) and with 8 (requests/s), and the CPU time its processes spend per request.
The differences between the rows are what each layer costs.

    python benchmarks/layers.py --dist DIR [--seconds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.endpoint import Server, run_load  # noqa: E402
from gfd_kg.publish import dataset_files  # noqa: E402
from gfd_kg.query import load_query, parse_bindings, with_bindings  # noqa: E402
from gfd_kg.web.store import load_store  # noqa: E402
from tests.server import free_port, wait_until_up  # noqa: E402

BODY = b'{"head":{"vars":["x"]},"results":{"bindings":[]}}'
# the binding of tests/query-answers/fact-source.bind
BINDING = "subject=https://w3id.org/gfd-kg/person/hasan-hourani"


def asgi_app(scope: dict, receive: object, send: object) -> object:
    async def answer() -> None:
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200,  # type: ignore[operator]
                    "headers": [(b"content-type", b"application/sparql-results+json")]})
        await send({"type": "http.response.body", "body": BODY})  # type: ignore[operator]
    return answer()


def starlette_app(threaded: bool) -> object:
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.middleware.cors import CORSMiddleware
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from gfd_kg.web.runner import QueryThreads

    threads: list[QueryThreads] = []

    async def sparql(request: Request) -> Response:
        if threaded:
            if not threads:  # made in the worker, after the fork
                threads.append(QueryThreads(2))
            body = await threads[0].run(lambda: BODY, 5.0)
        else:
            body = BODY
        return Response(body, media_type="application/sparql-results+json")

    return Starlette(routes=[Route("/sparql", sparql, methods=["GET"])], middleware=[
        Middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["GET", "POST", "HEAD"],
                   allow_headers=["*"])])


def serve_layer(layer: str, port: int) -> None:
    """Run in a child process: gunicorn with `gfd-kg serve`'s worker settings over ``layer``."""
    from gunicorn.app.base import BaseApplication

    from gfd_kg.web.server import GRACEFUL, KEEPALIVE

    app = asgi_app if layer == "asgi" else starlette_app(layer == "thread")

    class Layer(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for key, value in {"bind": f"127.0.0.1:{port}", "workers": 2, "worker_class": "asgi",
                               "graceful_timeout": GRACEFUL, "keepalive": KEEPALIVE,
                               "loglevel": "warning", "accesslog": None,
                               "control_socket_disable": True}.items():
                self.cfg.set(key, value)

        def load(self) -> object:
            return app

    Layer().run()


def started(cmd: list[str], port: int, health: str, log: Path) -> subprocess.Popen:
    process = subprocess.Popen(cmd, stdout=log.open("wb"), stderr=subprocess.STDOUT,
                               cwd=ROOT, start_new_session=True)
    wait_until_up(f"http://127.0.0.1:{port}{health}", process, 300)
    return process


def measure(dist: Path, seconds: float) -> dict:
    query = with_bindings(load_query(ROOT / "queries" / "fact-source.rq").text,
                          parse_bindings([BINDING]))
    target = "/sparql?query=" + quote(query, safe="")
    results: dict[str, dict] = {}
    logs = Path(os.environ.get("TMPDIR", "/tmp"))
    for layer in ("asgi", "starlette", "thread", "gfd-kg"):
        port = free_port()
        if layer == "gfd-kg":
            cmd = [sys.executable, "-m", "gfd_kg", "serve", "--out", str(dist), "--port",
                   str(port), "--workers", "2", "--max-per-client", "64", "--max-waiting", "64"]
            health = "/health"
        else:
            cmd = [sys.executable, __file__, "--serve", layer, "--port", str(port)]
            health = target
        process = started(cmd, port, health, logs / f"layers-{layer}.log")
        try:
            server = Server(layer, "127.0.0.1", port, "/sparql", process.pid)
            head = (f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                    "Accept: application/sparql-results+json\r\n\r\n").encode()
            def same(n: int, request: bytes = head) -> bytes:
                return request

            run_load(server, same, 1.0, 8)  # warm-up
            one = run_load(server, same, seconds, 1)
            many = run_load(server, same, seconds, 8)
            results[layer] = {"p50_ms": one["p50_ms"],
                              "cpu_us_one": one.get("server_cpu_us_per_request"),
                              "throughput": many["throughput"],
                              "cpu_us_many": many.get("server_cpu_us_per_request"),
                              "errors": one["errors"] + many["errors"]}
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
    store = load_store(dataset_files(dist), None)
    times = []
    for _ in range(2000):
        t = time.perf_counter()
        store.query(query, use_default_graph_as_union=True).serialize(
            format=__import__("pyoxigraph").QueryResultsFormat.JSON)
        times.append(time.perf_counter() - t)
    times.sort()
    results["pyoxigraph alone"] = {"p50_ms": round(times[len(times) // 2] * 1000, 3)}
    return results


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dist", type=Path, help="The build to serve (the real seminar's).")
    ap.add_argument("--seconds", type=float, default=3.0, help="Seconds a run. Default: 3")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "layers.json")
    ap.add_argument("--serve", help=argparse.SUPPRESS)  # the child: serve one layer
    ap.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.serve:
        serve_layer(args.serve, args.port)
        return 0
    if args.dist is None:
        ap.error("--dist is required")
    results = measure(args.dist, args.seconds)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print("| layer | p50 ms, 1 connection | server CPU us/request | req/s, 8 connections | "
          "server CPU us/request |\n| --- | ---: | ---: | ---: | ---: |")
    for layer, r in results.items():
        print(f"| {layer} | {r['p50_ms']} | {r.get('cpu_us_one', '')} | "
              f"{r.get('throughput', '')} | {r.get('cpu_us_many', '')} |")
    return 1 if any(r.get("errors") for r in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
