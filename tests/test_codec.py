"""The codec decodes what the learner's process sends: untrusted data, validated piece by piece."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from normquiz.sandbox import codec
from normquiz.sandbox.codec import DecodeError, Unsupported, decode, encode

NUMERIC = st.sampled_from(["<f8", "<f4", "<i8", "<i4", "<u1", "|b1", "<c16"])


@settings(max_examples=60, deadline=None)
@given(hnp.arrays(NUMERIC, hnp.array_shapes(min_dims=0, max_dims=4, max_side=5)))
def test_numeric_arrays_round_trip_exactly(arr):
    back = decode(json.loads(json.dumps(encode(arr))))
    assert back.dtype == arr.dtype and back.shape == arr.shape
    assert np.array_equal(back, arr, equal_nan=arr.dtype.kind in "fc")


def test_plain_values_round_trip():
    value = [1, 2.5, None, True, "text", (1, (2.0, [3])), {"a": 1, "b": [np.float64(2.0)]},
             float("nan"), float("inf"), -float("inf"), 2**70]
    back = decode(json.loads(json.dumps(encode(value))))
    assert back[:5] == [1, 2.5, None, True, "text"]
    assert back[5] == (1, (2.0, [3])) and isinstance(back[5], tuple)
    assert back[6]["a"] == 1 and float(back[6]["b"][0]) == 2.0
    assert np.isnan(back[7]) and back[8] == float("inf") and back[9] == -float("inf")
    assert back[10] == float(2**70)  # too big for an int64: sent as a float


@pytest.mark.parametrize("value, name", [
    (object(), "object"), (np.array(["a"]), "ndarray"), ({1: 2}, "dict"), ({"a"}, "set"),
    (np.array([object()]), "ndarray"), (lambda: 1, "function"),
])
def test_anything_else_is_an_unsupported_marker(value, name):
    back = decode(encode(value))
    assert isinstance(back, Unsupported) and back.type_name == name


def test_nesting_is_bounded_both_ways():
    deep: list = []
    for _ in range(100):
        deep = [deep]
    encoded = encode(deep)  # the worker marks what it will not nest further
    assert "deeply nested" in json.dumps(encoded)
    crafted: object = 1
    for _ in range(codec.MAX_DEPTH + 5):
        crafted = [crafted]
    with pytest.raises(DecodeError):
        decode(crafted)


def array(dtype: str, shape: list, data: bytes) -> dict:
    return {"__ndarray__": [dtype, shape, base64.b64encode(data).decode()]}


@pytest.mark.parametrize("payload", [
    array("|O", [1], b"\0" * 8),                      # object arrays could run code
    array("V8", [1], b"\0" * 8),                      # raw bytes
    array("[('a', '<f8')]", [1], b"\0" * 8),          # structured
    array("(2,)<f8", [1], b"\0" * 16),                # sub-array dtype
    array("<f8", [2], b"\0" * 8),                     # data shorter than the shape says
    array("<f8", [10**9, 10**9], b""),                # a shape that does not match its data
    array("<f8", [-1], b""),                          # a negative dimension
    array("<f8", [1] * 40, b"\0" * 8),                # too many dimensions
    {"__ndarray__": ["<f8", [1], "not base64!"]},
    {"__ndarray__": ["<f8", [1]]},
    {"__ndarray__": "x"},
    {"__float__": "1e999x"},
    {"__tuple__": "x"},
    {"__dict__": [["a", 1, 2]]},
    {"__dict__": [[1, 2]]},
    {"__pickle__": "gASVAAAAAAAAAAB9lC4="},
    {"a": 1, "b": 2},
])
def test_malformed_payloads_are_rejected(payload):
    with pytest.raises(DecodeError):
        decode(payload)


def test_decoded_arrays_are_fresh_and_writable():
    back = decode(encode(np.arange(3.0)))
    back[0] = 7.0  # not a view of the message buffer
    assert back[0] == 7.0


@pytest.mark.parametrize("line", [b"[]", b"1", b"{", b"[" * 100_000 + b"]" * 100_000])
def test_messages_must_be_json_objects(line):
    with pytest.raises(DecodeError):
        codec.loads(line)
