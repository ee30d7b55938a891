"""Commentary as LinkedIn members see it (``render_little_text``): the post text the sandbox
records.

Commentary is read as LinkedIn's little text: ``\\x`` is a literal ``x``, ``#word`` and
``{hashtag|\\#|word}`` are hashtags, ``@[Name](urn:li:person|organization:id)`` a mention; any
other unescaped reserved character ends the visible text (LinkedIn is widely reported to cut
commentary there). The recorded post text is what members would see.
"""

from __future__ import annotations

import re

RESERVED = set("\\<>#~_|[]*(){}@")
_TEMPLATE = re.compile(
    r"@\[(?P<name>[^\[\]\n]+)\]\(urn:li:(?:person|organization):[\w-]+\)"
    r"|\{hashtag\|\\#\|(?P<tag>\w+)\}|#(?P<hashtag>\w+)")


def render_little_text(raw: str) -> str:
    """Commentary as members see it (see the module docstring)."""
    out: list[str] = []
    i = 0
    while i < len(raw):
        if raw[i] == "\\" and i + 1 < len(raw):
            out.append(raw[i + 1])
            i += 2
            continue
        found = _TEMPLATE.match(raw, i)
        if found:
            out.append(found["name"] or "#" + (found["tag"] or found["hashtag"]))
            i = found.end()
            continue
        if raw[i] in RESERVED:
            break
        out.append(raw[i])
        i += 1
    return "".join(out)
