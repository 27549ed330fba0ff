"""Reading the lint's side files (baselines, configurations) as untrusted input.

A baseline or configuration comes from the repository being linted, so it can be hostile: a
multi-GB file, a document nested 50,000 deep, records of the wrong types. Every problem is a
:class:`~edgeinspect.errors.UsageError` (exit code 2) that names the file and the field:

- a file over :data:`MAX_BYTES` is refused before it is read;
- nesting deeper than :data:`MAX_DEPTH` is refused by a scan of the text before it is parsed
  (a parser would recurse once per level);
- the document is then checked against a schema, a small subset of JSON Schema (``type``,
  ``const``, ``enum``, ``minimum``, ``properties``, ``required``, ``additionalProperties``,
  ``items``) checked here, so the core needs no ``jsonschema``; :data:`BASELINE_SCHEMA` is
  also a valid JSON Schema document (the tests check it with ``jsonschema``).
"""

from __future__ import annotations

import json
import os
import re
import stat
import sys
from typing import Any

from edgeinspect.errors import UsageError
from edgeinspect.textsafe import abbreviate

__all__ = ["BASELINE_SCHEMA", "MAX_BYTES", "MAX_DEPTH", "check", "load_json", "load_toml", "read_limited"]

#: Largest side file read (a real baseline is a few KB per model).
MAX_BYTES = 64 << 20
#: Deepest nesting accepted (a baseline nests 6 deep, a configuration 4).
MAX_DEPTH = 32

_COUNT = {"type": "integer", "minimum": 0}

#: The baseline file (see :mod:`edgeinspect.lint.baseline`), as JSON Schema.
BASELINE_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "edgeinspect lint baseline",
    "type": "object",
    "required": ["schema_version", "files"],
    "properties": {
        "schema_version": {"const": 1},
        "generated_by": {"type": "string"},
        "files": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "required": ["methods"],
                "properties": {
                    "methods": {
                        "type": "object",
                        "additionalProperties": {
                            "type": "object",
                            "required": ["delegated_subgraphs", "transitions", "boundary_bytes", "cpu_islands"],
                            "properties": {
                                "delegated_subgraphs": {"type": "object", "additionalProperties": _COUNT},
                                "transitions": _COUNT,
                                "boundary_bytes": _COUNT,
                                "cpu_islands": {"type": "array", "items": {"type": "string"}},
                                "coverage": {"type": ["number", "null"]},
                            },
                            "additionalProperties": False,
                        },
                    }
                },
                "additionalProperties": False,
            },
        },
    },
    "additionalProperties": False,
}


def read_limited(path: str | os.PathLike[str], what: str) -> bytes:
    """The bytes of a side file, refused unread when it is not a regular file or too large.

    Raises
    ------
    UsageError
        Missing, unreadable, not a regular file, or over :data:`MAX_BYTES`.
    """
    name = os.fspath(path)
    try:
        st = os.stat(name)
    except FileNotFoundError:
        raise UsageError(f"{what} {name} does not exist") from None
    except OSError as err:
        raise UsageError(f"cannot read {what} {name}: {err.strerror or err}") from err
    if not stat.S_ISREG(st.st_mode):
        raise UsageError(f"{what} {name} is not a regular file")
    if st.st_size > MAX_BYTES:
        raise UsageError(f"{what} {name} is {st.st_size:,} bytes, over the {MAX_BYTES:,} a {what} may have; refusing to read it")
    try:
        with open(name, "rb") as f:
            data = f.read(MAX_BYTES + 1)  # the file may have grown since stat()
    except OSError as err:
        raise UsageError(f"cannot read {what} {name}: {err.strerror or err}") from err
    if len(data) > MAX_BYTES:
        raise UsageError(f"{what} {name} is over the {MAX_BYTES:,} bytes a {what} may have; refusing to read it")
    return data


def _text(data: bytes, name: str, what: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise UsageError(f"{what} {name} is not UTF-8 text (byte {err.start})") from None


_JSON_SKIP = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_TOML_SKIP = re.compile(r'"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\'|"(?:[^"\\\n]|\\.)*"|\'[^\'\n]*\'|#[^\n]*')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


def _depth(text: str, strings: re.Pattern[str]) -> int:
    """Deepest bracket nesting of ``text`` outside strings (and comments), stopping past the limit."""
    brackets = _NOT_BRACKET.sub("", strings.sub("", text))
    depth = deepest = 0
    for c in brackets:
        if c == "[" or c == "{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > MAX_DEPTH:
                    break
        else:
            depth -= 1
    return deepest


def load_json(path: str | os.PathLike[str], what: str) -> Any:
    """Parse a JSON side file within the size and depth limits."""
    name = os.fspath(path)
    text = _text(read_limited(name, what), name, what)
    if _depth(text, _JSON_SKIP) > MAX_DEPTH:
        raise UsageError(f"{what} {name} nests deeper than {MAX_DEPTH} levels; refusing to parse it")
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as err:
        raise UsageError(f"{what} {name} is not JSON: {err}") from err


def load_toml(path: str | os.PathLike[str], what: str = "configuration") -> dict[str, Any]:
    """Parse a TOML side file within the size and depth limits."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        try:
            import tomli as tomllib
        except ModuleNotFoundError as err:
            raise UsageError(f"{path}: reading TOML on Python 3.10 needs the 'tomli' package (pip install tomli)") from err
    name = os.fspath(path)
    text = _text(read_limited(name, what), name, what)
    if _depth(text, _TOML_SKIP) > MAX_DEPTH:
        raise UsageError(f"{name}: the {what} nests deeper than {MAX_DEPTH} levels; refusing to parse it")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise UsageError(f"{name}: invalid TOML: {err}") from err
    except RecursionError as err:  # nesting the scan did not see (dotted keys): still no traceback
        raise UsageError(f"{name}: the {what} nests too deeply to parse") from err


def _field(path: str, key: object) -> str:
    """``files["m.pte"].methods.forward``: a field path that quotes keys from the file (abbreviated)."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    text = abbreviate(str(key), 80)
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", text):
        return f"{path}.{text}" if path else text
    return f"{path}[{text!r}]"


_TYPES: dict[str, Any] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}
_JSON_NAMES = {dict: "object", list: "array", str: "string", int: "integer", float: "number", bool: "boolean", type(None): "null"}


def problem(doc: Any, schema: dict[str, Any], path: str = "") -> tuple[str, str] | None:
    """The first place ``doc`` breaks ``schema``: (field path, what is wrong), or None."""
    stack: list[tuple[Any, dict[str, Any], str]] = [(doc, schema, path)]
    while stack:  # iterative: the depth was bounded before parsing, but no recursion is needed
        value, sch, where = stack.pop()
        kinds = sch.get("type")
        if kinds is not None:
            kinds = [kinds] if isinstance(kinds, str) else kinds
            if not any(_TYPES[k](value) for k in kinds):
                found = _JSON_NAMES.get(type(value), type(value).__name__)
                return where or "(top)", f"must be {' or '.join(kinds)}, not {found}"
        if "const" in sch and (value != sch["const"] or type(value) is bool):
            return where or "(top)", f"must be {sch['const']!r}, not {abbreviate(repr(value), 80)}"
        if "enum" in sch and value not in sch["enum"]:
            return where or "(top)", f"must be one of {', '.join(map(repr, sch['enum']))}"
        if "minimum" in sch and _TYPES["number"](value) and value < sch["minimum"]:
            return where or "(top)", f"must be at least {sch['minimum']}, not {value}"
        if isinstance(value, dict):
            props = sch.get("properties", {})
            for key in sch.get("required", ()):
                if key not in value:
                    return where or "(top)", f"{key!r} is missing"
            extra = sch.get("additionalProperties", True)
            for key in reversed(list(value)):
                sub = props.get(key)
                if sub is None:
                    if extra is False:
                        return _field(where, key), "is not a known field"
                    if isinstance(extra, dict):
                        stack.append((value[key], extra, _field(where, key)))
                    continue
                stack.append((value[key], sub, _field(where, key)))
        elif isinstance(value, list) and isinstance(sch.get("items"), dict):
            stack.extend((item, sch["items"], _field(where, i)) for i, item in reversed(list(enumerate(value))))
    return None


def check(doc: Any, schema: dict[str, Any], name: str, what: str, fix: str = "") -> None:
    """Raise UsageError naming the file and the field when ``doc`` breaks ``schema``."""
    found = problem(doc, schema)
    if found is not None:
        field, wrong = found
        raise UsageError(f"{what} {name} is malformed at {field}: {wrong}{'; ' + fix if fix else ''}")
