"""Text from untrusted files, made safe to show: bounded in length, inert in terminals and CI logs.

Names in a model file (operators, backend ids, tensors, compile specs) and the file names
themselves are attacker-controlled. Shown raw they can rewrite a terminal (ESC sequences),
forge GitHub Actions workflow commands (a newline then ``::error::``), break an XML report
(XML 1.0 forbids most control characters, even escaped), and amplify output (one 100,000
character name used by 1,000 kernels). Every output of edgeinspect passes such text through
these functions:

- :func:`abbreviate` keeps the first characters of a long text and says its full length;
- :func:`escape_control` makes control characters visible (``\\n``, ``\\x1b``, ``\\u2028``);
- :func:`safe` does both (the form for human-readable output);
- :func:`bounded` abbreviates every string of a JSON-ready document (JSON escapes the rest);
- :func:`github_data` / :func:`github_property` apply GitHub's workflow-command escaping;
- :func:`xml_text` replaces what XML 1.0 cannot carry;
- :func:`short_key` shortens a long name used inside identifiers (graph node keys), keeping
  distinct names distinct.

This module imports nothing from edgeinspect but its errors, so every layer can use it.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

__all__ = [
    "NAME_LIMIT",
    "TEXT_LIMIT",
    "abbreviate",
    "bounded",
    "escape_control",
    "github_data",
    "github_property",
    "safe",
    "short_key",
    "xml_text",
]

#: Characters kept of a name from a file (operator, backend, tensor, file name). Real names are
#: below 60 characters; compile-spec values (whole command lines) below 200.
NAME_LIMIT = 200
#: Characters kept of longer free text from a file (a compile-spec value, an error message).
TEXT_LIMIT = 2000

# C0 and C1 controls, DEL, the Unicode line/paragraph separators, the bidirectional overrides
# and isolates (text that reads differently from what it is), and lone surrogates (a file name
# that is not UTF-8, which no UTF-8 stream can carry).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# What XML 1.0 cannot carry at all: C0 controls but tab, newline and carriage return, the
# surrogates and U+FFFE/U+FFFF.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _visible(match: re.Match[str]) -> str:
    c = match.group()
    named = _NAMED.get(c)
    if named is not None:
        return named
    code = ord(c)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_control(text: str) -> str:
    """``text`` with every control character shown as an escape, so it prints as one inert line.

    Examples
    --------
    >>> escape_control("aten::add\\n::error::pwned\\x1b[2J\\x07")
    'aten::add\\\\n::error::pwned\\\\x1b[2J\\\\x07'
    >>> escape_control("aten::cumsum.out")
    'aten::cumsum.out'
    """
    if _UNSAFE.search(text) is None:
        return text
    return _UNSAFE.sub(_visible, text)


def abbreviate(text: str, limit: int = NAME_LIMIT) -> str:
    """The first ``limit`` characters of ``text`` and its full length, when it is longer.

    Examples
    --------
    >>> abbreviate("x" * 100_000, 8)
    'xxxxxxxx… (100000 chars)'
    >>> abbreviate("aten::cumsum.out")
    'aten::cumsum.out'
    """
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text)} chars)"


def safe(text: object, limit: int = NAME_LIMIT) -> str:
    """:func:`abbreviate` then :func:`escape_control`: a name from a file, ready for a terminal.

    Examples
    --------
    >>> safe("EthosUBackend\\x1b]0;owned\\x07")
    'EthosUBackend\\\\x1b]0;owned\\\\x07'
    """
    return escape_control(abbreviate(str(text), limit))


def bounded(doc: Any, limit: int = NAME_LIMIT) -> Any:
    """A JSON-ready document with every string (keys too) abbreviated to ``limit`` characters.

    Control characters stay: the JSON encoder escapes them. Two keys that abbreviate alike
    keep both entries (the second gets its position appended), so no data is silently merged.

    Examples
    --------
    >>> bounded({"name": "x" * 300, "ops": {"y" * 250: 2}}, 4)
    {'name': 'xxxx… (300 chars)', 'ops': {'yyyy… (250 chars)': 2}}
    """
    if isinstance(doc, str):
        return doc if len(doc) <= limit else abbreviate(doc, limit)
    if isinstance(doc, dict):
        out: dict[Any, Any] = {}
        for k, (key, value) in enumerate(doc.items()):
            short = bounded(key, limit) if isinstance(key, str) else key
            if short in out:
                short = f"{short} #{k}"
            out[short] = bounded(value, limit)
        return out
    if isinstance(doc, (list, tuple)):
        return [bounded(v, limit) for v in doc]
    return doc


def github_data(text: str) -> str:
    """The message of a GitHub Actions workflow command (``::error ...::MESSAGE``), escaped as
    GitHub's toolkit does: ``%`` ``\\r`` ``\\n`` become ``%25`` ``%0D`` ``%0A``.

    Examples
    --------
    >>> github_data("50% done\\n::error::x")
    '50%25 done%0A::error::x'
    """
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def github_property(text: str) -> str:
    """A property value of a workflow command (``file=``, ``title=``): :func:`github_data`, and
    ``:`` ``,`` become ``%3A`` ``%2C`` (they end the value otherwise).

    Examples
    --------
    >>> github_property("a,b:c")
    'a%2Cb%3Ac'
    """
    return github_data(text).replace(":", "%3A").replace(",", "%2C")


def xml_text(text: str) -> str:
    """``text`` with the characters XML 1.0 cannot carry (even as references) shown as escapes;
    the caller still escapes markup (``&``, ``<``, quotes).

    Examples
    --------
    >>> xml_text("a\\x00b\\x1bc\\n")
    'a\\\\x00b\\\\x1bc\\n'
    """
    if _NOT_XML.search(text) is None:
        return text
    return _NOT_XML.sub(_visible, text)


def short_key(name: str, limit: int = NAME_LIMIT) -> str:
    """``name`` for use inside an identifier built once per node (``<region>/<block>/<index>``):
    unchanged up to ``limit`` characters, else its start and a digest of the whole, so an
    identifier stays short and two different names never share one.

    Examples
    --------
    >>> short_key("main")
    'main'
    >>> short_key("r" * 300, 4) == short_key("r" * 300, 4) != short_key("r" * 301, 4)
    True
    """
    if len(name) <= limit:
        return name
    digest = hashlib.blake2b(name.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()
    return f"{name[:limit]}…#{digest}"
