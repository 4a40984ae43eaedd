"""Checks on raw request input that must run before parsing or storing it.

* JSON nesting: Python's ``json`` parser recurses once per level, so a body of 100,000 ``[``
  raises ``RecursionError`` (a 500). :func:`loads_json` measures the depth first, in one linear
  scan that skips string contents, and refuses anything deeper than ``max_depth`` (400).
* NUL characters: PostgreSQL's ``text`` cannot hold U+0000 (psycopg raises ``DataError``, a 500),
  while SQLite stores it silently; no name, username or id of the playground needs one. So any
  string with a NUL in a body, path or query is refused (400) on every database alike.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["BadInput", "check_no_nul", "json_depth", "loads_json"]


class BadInput(ValueError):
    """Malformed input (answer 400): the message says what and where."""


def json_depth(raw: bytes | str, stop_after: int | None = None) -> int:
    """The deepest nesting of ``[``/``{`` in JSON text (brackets inside strings do not count).

    Stops early once ``stop_after`` is exceeded (the answer is then ``stop_after + 1``).
    """
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if stop_after is not None and deepest > stop_after:
                    return deepest
        elif ch in "]}":
            depth -= 1
    return deepest


def check_no_nul(value: Any, where: str = "body") -> None:
    """Raise :class:`BadInput` if any string (key or value) in ``value`` contains a NUL character."""
    stack = [(value, where)]
    while stack:
        v, path = stack.pop()
        if isinstance(v, str):
            if "\x00" in v:
                raise BadInput(f"{path}: NUL characters (\\u0000) are not allowed")
        elif isinstance(v, dict):
            for k, item in v.items():
                if isinstance(k, str) and "\x00" in k:
                    raise BadInput(f"{path}: NUL characters (\\u0000) are not allowed in keys")
                stack.append((item, f"{path}.{k}"))
        elif isinstance(v, list):
            stack.extend((item, f"{path}[{i}]") for i, item in enumerate(v))


def loads_json(raw: bytes, max_depth: int = 32) -> Any:
    """Parse a JSON body after checking its nesting depth and that no string holds a NUL."""
    if json_depth(raw, stop_after=max_depth) > max_depth:
        raise BadInput(f"the JSON body is nested more than {max_depth} levels deep")
    try:
        data = json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError):
        raise BadInput("the request body is not valid JSON") from None
    check_no_nul(data)
    return data
