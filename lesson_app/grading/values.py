"""The values that cross between checks and a student's code: JSON, plus bytes.

Checks pass arguments and get results as plain JSON. Bytes travel as
``{"$bytes": "<base64>"}``; a result that is neither JSON nor bytes travels as
``{"$type": "<type name>"}`` so a check can say what it got instead.
Dataclasses and named tuples become dicts, tuples become lists.
"""

from __future__ import annotations

import base64
import dataclasses
import math
from typing import Any

MAX_DEPTH = 20


class Opaque:
    """A result that could not cross as data: only its type name did."""

    def __init__(self, type_name: str) -> None:
        self.type_name = type_name

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Opaque) and other.type_name == self.type_name

    def __hash__(self) -> int:
        return hash(self.type_name)

    def __repr__(self) -> str:
        return f"<a {self.type_name}>"


def encode(value: Any, depth: int = 0) -> Any:
    """``value`` as JSON-able data."""
    if depth > MAX_DEPTH:
        return {"$type": "deeply nested value"}
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"$type": f"float {value}"}
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"$bytes": base64.b64encode(bytes(value)).decode("ascii")}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = {field.name: getattr(value, field.name) for field in dataclasses.fields(value)}
    elif isinstance(value, tuple) and hasattr(value, "_asdict"):
        value = value._asdict()
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            return {"$type": "dict with non-string keys"}
        return {key: encode(item, depth + 1) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode(item, depth + 1) for item in value]
    return {"$type": type(value).__name__}


def decode(data: Any) -> Any:
    """The value ``encode`` made; opaque results become ``Opaque``."""
    if isinstance(data, dict):
        if set(data) == {"$bytes"} and isinstance(data["$bytes"], str):
            return base64.b64decode(data["$bytes"])
        if set(data) == {"$type"}:
            return Opaque(str(data["$type"]))
        return {key: decode(item) for key, item in data.items()}
    if isinstance(data, list):
        return [decode(item) for item in data]
    return data
