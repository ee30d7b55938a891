"""LinkedIn's "little text": commentary escaped for posting, and unescaped for matching."""

from __future__ import annotations

import re

_RESERVED = re.compile(r"[\\<>#~_|\[\]*(){}@]")
_LITTLE_TOKEN = re.compile(
    r"(?P<url>(?:https?://|www\.)\S+)"
    r"|(?P<mention>@\[[^\[\]\n]+\]\(urn:li:(?:person|organization):[\w-]+\))"
    r"|(?P<template>\{hashtag\|\\#\|\w+\})"
    r"|(?<![\w&#])(?P<hashtag>#\w*[^\W\d_]\w*)",
    re.IGNORECASE)
_ESCAPED = re.compile(r"\\(.)", re.DOTALL)


def escape_little_text(text: str) -> str:
    """``text`` as LinkedIn commentary: ``\\ < > # ~ _ | [ ] * ( ) { } @`` escaped with a
    backslash, except in hashtags (``#word``, ``{hashtag|\\#|word}``) and mentions
    (``@[Name](urn:li:person:...)`` / ``urn:li:organization:...``), which stay as written.
    URLs are escaped like any text (a ``#`` in a URL is not a hashtag)."""
    out: list[str] = []
    last = 0
    for match in _LITTLE_TOKEN.finditer(text):
        if match.lastgroup == "url":
            continue  # part of the plain text around it
        out.append(_RESERVED.sub(r"\\\g<0>", text[last:match.start()]))
        out.append(match.group(0))
        last = match.end()
    out.append(_RESERVED.sub(r"\\\g<0>", text[last:]))
    return "".join(out)


def unescape_little_text(text: str) -> str:
    """Commentary as LinkedIn returns it, with the escapes removed (for matching)."""
    return _ESCAPED.sub(r"\1", text)
