"""JSON through orjson gives the standard library's results, also for the values orjson rejects."""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from starlette.responses import JSONResponse as StarletteJSONResponse

from citizenry import json_codec

#: Every value json.dumps writes with allow_nan=False: any integer, finite floats, any text.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=20,
)


@given(json_values)
def test_loads_equals_the_standard_library(value: Any) -> None:
    for text in (json.dumps(value), json.dumps(value, ensure_ascii=False)):
        assert json_codec.loads(text) == json.loads(text)


@given(json_values)
def test_dumps_round_trips(value: Any) -> None:
    assert json.loads(json_codec.dumps(value)) == value


def test_loads_falls_back_to_json() -> None:
    assert json_codec.loads('{"n": 18446744073709551616}') == {"n": 2**64}
    assert json_codec.loads('"\\ud800"') == "\ud800"
    assert math.isnan(json_codec.loads("NaN"))


def test_loads_takes_bytes() -> None:
    assert json_codec.loads(b"[1]") == [1]


def test_dumps_falls_back_to_json() -> None:
    assert json_codec.dumps({"n": 2**64}) == b'{"n":18446744073709551616}'
    assert json_codec.dumps({1: "a"}) == b'{"1":"a"}'


def test_dumps_nan_as_null() -> None:
    # Starlette's own JSONResponse raises ValueError here, which would be a 500.
    assert json_codec.dumps([math.nan, math.inf]) == b"[null,null]"


def test_invalid_json_raises_value_error() -> None:
    for text in ("", "{", "[1,]", "nul"):
        try:
            json_codec.loads(text)
        except ValueError:
            continue
        raise AssertionError(f"{text!r} was decoded")


def test_response_equals_starlettes() -> None:
    body = {"results": [{"id": 1, "first_name": "Zoë", "lat": "51.5", "tags": ["a", "b"]}], "next": None}
    ours = json_codec.JSONResponse(body, status_code=201, headers={"X-Test": "1"})
    theirs = StarletteJSONResponse(body, status_code=201, headers={"X-Test": "1"})
    assert ours.body == theirs.body
    assert ours.status_code == 201
    assert ours.headers["content-type"] == theirs.headers["content-type"] == "application/json"
    assert ours.headers["content-length"] == theirs.headers["content-length"]
