"""Plain data across the process boundary, as JSON: never pickle.

The learner's process is untrusted, so what it sends back is decoded into
builtin types and numeric numpy arrays only; anything else becomes an
`Unsupported` marker that grading reports as a wrong return type.
"""

from __future__ import annotations

import base64
import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

NUMERIC_KINDS = "biufc"  # bool, signed, unsigned, float, complex
MAX_DEPTH = 32


@dataclass(frozen=True)
class Unsupported:
    """Something the learner's code returned that is not plain data."""

    type_name: str

    def __repr__(self) -> str:
        return f"<a {self.type_name} object>"


class DecodeError(ValueError):
    """The other side sent something that is not a valid message."""


def encode(value: Any, depth: int = 0) -> Any:
    """Turn plain data into JSON-able data; anything else becomes an unsupported marker."""
    if depth > MAX_DEPTH:
        return {"__unsupported__": "deeply nested value"}
    t = type(value)
    if value is None or t is bool or t is str:
        return value
    if t is int:
        return value if abs(value) < 2**63 else float(value)
    if t is float:
        return value if math.isfinite(value) else {"__float__": repr(value)}
    if isinstance(value, np.ndarray) and value.dtype.kind in NUMERIC_KINDS:
        # ascontiguousarray makes a 0-d array 1-d: the shape is restored, or a numpy
        # scalar would come back as an array of shape (1,).
        arr = np.ascontiguousarray(np.ndarray.view(value, np.ndarray)).reshape(value.shape)
        data = base64.b64encode(arr.tobytes()).decode("ascii")
        return {"__ndarray__": [arr.dtype.str, list(arr.shape), data]}
    if isinstance(value, np.generic) and value.dtype.kind in NUMERIC_KINDS:
        return encode(np.asarray(value), depth)
    if t is list:
        return [encode(v, depth + 1) for v in value]
    if t is tuple:
        return {"__tuple__": [encode(v, depth + 1) for v in value]}
    if t is dict and all(type(k) is str for k in value):
        return {"__dict__": [[k, encode(v, depth + 1)] for k, v in value.items()]}
    return {"__unsupported__": type(value).__name__}


def decode(obj: Any, depth: int = 0) -> Any:
    """Rebuild values from `encode`'s output, validating every piece."""
    if depth > MAX_DEPTH + 1:
        raise DecodeError("value nested too deeply")
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, (int, float)):
        return obj
    if isinstance(obj, list):
        return [decode(v, depth + 1) for v in obj]
    if not isinstance(obj, dict) or len(obj) != 1:
        raise DecodeError("unexpected value")
    (tag, payload), = obj.items()
    if tag == "__float__" and payload in ("nan", "inf", "-inf"):
        return float(payload)
    if tag == "__tuple__" and isinstance(payload, list):
        return tuple(decode(v, depth + 1) for v in payload)
    if tag == "__dict__" and isinstance(payload, list):
        out = {}
        for item in payload:
            if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], str)):
                raise DecodeError("bad dict item")
            out[item[0]] = decode(item[1], depth + 1)
        return out
    if tag == "__unsupported__" and isinstance(payload, str):
        return Unsupported("".join(c for c in payload[:80] if c.isprintable()))
    if tag == "__ndarray__":
        return _decode_array(payload)
    raise DecodeError(f"unknown tag {tag!r}")


def _decode_array(payload: Any) -> np.ndarray:
    try:
        dtype_str, shape, data = payload
        dtype = np.dtype(dtype_str)
        if dtype.kind not in NUMERIC_KINDS or dtype.fields is not None or dtype.subdtype:
            raise DecodeError(f"non-numeric dtype {dtype_str!r}")
        if not (isinstance(shape, list) and all(type(n) is int and n >= 0 for n in shape)):
            raise DecodeError("bad shape")
        if len(shape) > 32:
            raise DecodeError("too many dimensions")
        raw = base64.b64decode(data, validate=True)
        if len(raw) != math.prod(shape) * dtype.itemsize:
            raise DecodeError("array data does not match its shape")
        return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
    except (TypeError, ValueError) as e:
        raise DecodeError(f"invalid array: {e}") from None


def dumps(message: dict[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode() + b"\n"


def loads(line: bytes) -> dict[str, Any]:
    try:
        message = json.loads(line)
    except (ValueError, RecursionError) as e:
        raise DecodeError(f"not a message: {e}") from None
    if not isinstance(message, dict):
        raise DecodeError("not a message")
    return message
