"""Indented JSON text, fast: ``json.dumps(value, ensure_ascii=False, indent=n)`` written
here, because with ``indent`` the json module falls back to its Python encoder (half of
the time of the JSON-LD dump and of the web-page embeddings). Strings and numbers still go
through the json module's C encoder; the output is the same, byte for byte
(tests/test_jsontext.py compares the two)."""

from __future__ import annotations

import json

_string = json.encoder.encode_basestring  # C, no ASCII escapes


def indented(value: object, step: str = " ", margin: str = "") -> str:
    """``value`` as JSON, nested values indented by ``step`` per level; every line after
    the first also starts with ``margin``."""
    return _text(value, "\n" + margin, step)


def _text(value: object, newline: str, step: str) -> str:
    if isinstance(value, dict) and value:
        inner = newline + step
        return ("{" + inner + ("," + inner).join(
            f"{_key(k)}: {_text(v, inner, step)}" for k, v in value.items()) + newline + "}")
    if isinstance(value, (list, tuple)) and value:
        inner = newline + step
        return ("[" + inner + ("," + inner).join(_text(v, inner, step) for v in value)
                + newline + "]")
    return json.dumps(value, ensure_ascii=False)


def _key(key: object) -> str:
    if isinstance(key, str):
        return _string(key)
    if key is None or isinstance(key, (bool, int, float)):
        return _string(json.dumps(key))  # as the json module writes such keys
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")
