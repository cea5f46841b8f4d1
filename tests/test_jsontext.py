"""gfd_kg/jsontext.py writes what ``json.dumps(..., ensure_ascii=False, indent=n)`` writes,
for any JSON value: the dumps and the embeddings keep their bytes."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gfd_kg.jsontext import indented

SCALARS = (st.none() | st.booleans() | st.integers() | st.text()
           | st.floats(allow_nan=False, allow_infinity=False))
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.text(), inner, max_size=4), max_leaves=30)


@settings(max_examples=300, deadline=None)
@given(value=VALUES, width=st.integers(min_value=0, max_value=3),
       margin=st.sampled_from(["", "  "]))
def test_the_same_text_as_the_json_module(value, width, margin):
    expected = json.dumps(value, ensure_ascii=False, indent=width).replace("\n", "\n" + margin)
    assert indented(value, " " * width, margin) == expected


@pytest.mark.parametrize("key, text", [(1, '"1"'), (True, '"true"'), (None, '"null"'),
                                       (1.5, '"1.5"')])
def test_keys_that_are_not_strings_are_written_as_json_writes_them(key, text):
    assert indented({key: 0}) == json.dumps({key: 0}, indent=1)
    assert text in indented({key: 0})


def test_other_keys_are_refused():
    with pytest.raises(TypeError, match="keys must be"):
        indented({(1, 2): 0})
