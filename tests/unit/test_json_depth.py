"""The edge's JSON nesting check agrees with the depth of the parsed document."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from services.api.limits import json_depth_exceeds

TRICKY_TEXT = st.text(alphabet='[]{}"\\ab\n\u3042', max_size=8)
DOCUMENTS = st.recursive(
    st.none() | st.integers() | TRICKY_TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TRICKY_TEXT, inner, max_size=3),
    max_leaves=40,
)


def depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max(map(depth, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(depth, value.values()), default=0)
    return 0


@given(DOCUMENTS, st.integers(min_value=0, max_value=8), st.booleans())
def test_depth_check_matches_the_parsed_depth(document: Any, limit: int, ascii: bool) -> None:
    body = json.dumps(document, ensure_ascii=ascii).encode()
    assert json_depth_exceeds(body, limit) == (depth(document) > limit)


def test_brackets_inside_strings_do_not_count() -> None:
    body = json.dumps({"note": "[[[[{{{{" * 100, "quoted": '\\"[[[['}).encode()
    assert not json_depth_exceeds(body, 2)
    assert json_depth_exceeds(b"[" * 33 + b"]" * 33, 32)
    assert not json_depth_exceeds(b"[" * 32 + b"]" * 32, 32)
