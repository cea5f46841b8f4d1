"""The server half of gfd-kg: the built graph over HTTP.

site.py (what is served, loaded once) -> store.py (one query on the store) -> runner.py (where
and how long queries run, the per-client limit) -> sparql.py (the SPARQL endpoint) and app.py
(pages, IRIs, downloads) -> server.py (the processes: gunicorn and its ASGI worker)."""
