"""Text handling shared by every network: normalisation, the ways networks count length, and
extraction of hashtags, mentions and cashtags.

Extraction is deliberately simple and predictable rather than a copy of any one network's parser:
tags inside URLs, e-mail addresses and HTML entities are ignored, and a tag must not be all digits.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache

import twitter_text

_URL_RE = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_HASH_SIGNS = "#＃"
# A mention body: word characters, with dots allowed inside (Instagram handles) but not at the end.
_MENTION_RE = re.compile(r"(?<![\w@.])[@＠](\w(?:[\w.]*\w)?)")
# Cashtags as twitter-text defines them: $ + 1-6 letters, optionally ".X" or "_XY" (e.g. $BRK.A).
_CASHTAG_RE = re.compile(r"(?<![\w$])\$([a-z]{1,6}(?:[._][a-z]{1,2})?)(?!\w)", re.IGNORECASE)


# --- normalisation -------------------------------------------------------------------------


def _keep(char: str) -> bool:
    if char in "\n\t":
        return True
    # Cc: C0/C1 controls and DEL. Cs: lone surrogates, which no network (or UTF-8) accepts.
    # Format characters (Cf) stay: ZWJ builds emoji sequences, bidi marks matter in RTL text.
    return unicodedata.category(char) not in ("Cc", "Cs")


# Exactly the characters ``_keep`` drops (Cc is U+0000-001F and U+007F-009F, Cs is U+D800-DFFF;
# a test checks every code point): one regex pass instead of a Python call per character, which
# the publishing hot path pays for every post it sends.
_DROPPED_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def normalize_text(text: str) -> str:
    """The canonical form of user text: line breaks as ``\\n``, control characters (except
    newline and tab) removed, Unicode NFC, surrounding whitespace stripped. Idempotent."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _DROPPED_RE.sub("", text)
    # NFC after removing controls: a removed control may have separated a letter and its accent.
    return unicodedata.normalize("NFC", text).strip()


# --- length ----------------------------------------------------------------------------------


def _without_surrogates(text: str) -> str:
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


@lru_cache(maxsize=512)
def x_weighted_length(text: str) -> int:
    """Length as X counts it: URLs 23, emoji and CJK 2, most Latin 1 (twitter-text)."""
    # twitter-text crashes on lone surrogates; they are never sent anyway.
    return int(twitter_text.parse_tweet(_without_surrogates(text)).weightedLength)


def utf16_length(text: str) -> int:
    """Length in UTF-16 code units (JavaScript's ``length``): emoji outside the BMP count 2."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def utf8_length(text: str) -> int:
    """Length in UTF-8 bytes."""
    return len(text.encode("utf-8", "surrogatepass"))


def codepoint_length(text: str) -> int:
    """Length in Unicode code points (Python's ``len``)."""
    return len(text)


# --- extraction ------------------------------------------------------------------------------


def _without_urls(text: str) -> str:
    return _URL_RE.sub(" ", text)


def _is_tag_char(char: str) -> bool:
    # Marks (M*) keep Indic and other scripts whose vowel signs are combining characters.
    return char == "_" or char.isalnum() or unicodedata.category(char).startswith("M")


def _is_letter(char: str) -> bool:
    return char.isalpha() or unicodedata.category(char).startswith("M")


def is_hashtag_body(body: str) -> bool:
    """Whether ``body`` (without '#') forms one complete hashtag: letters, digits, underscores
    and combining marks, with at least one letter (``#2026`` is not a hashtag)."""
    return all(_is_tag_char(c) for c in body) and any(_is_letter(c) for c in body)


def hashtag_occurrences(text: str) -> list[str]:
    """Every hashtag in ``text`` as written (with '#'), in order, repeats included."""
    text = _without_urls(text)
    found: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        i += 1
        if char not in _HASH_SIGNS:
            continue
        before = text[i - 2] if i >= 2 else ""
        # "&#39;" is an HTML entity, "a#b" is not a tag, "##x" neither.
        if before and (_is_tag_char(before) or before in "&" + _HASH_SIGNS):
            continue
        end = i
        while end < len(text) and _is_tag_char(text[end]):
            end += 1
        body = text[i:end]
        if is_hashtag_body(body):
            found.append("#" + body)
        i = end
    return found


def _unique(tags: Sequence[str]) -> list[str]:
    seen: set[str] = set()
    unique: list[str] = []
    for tag in tags:
        key = tag.casefold()
        if key not in seen:
            seen.add(key)
            unique.append(tag)
    return unique


def extract_hashtags(text: str) -> list[str]:
    """Distinct hashtags in ``text`` (e.g. ``["#Launch2026"]``), first spelling kept, in order.
    Two tags that differ only in case are the same tag."""
    return _unique(hashtag_occurrences(text))


def extract_mentions(text: str) -> list[str]:
    """Distinct @-mentions in ``text`` (e.g. ``["@herald"]``), case-insensitive, in order.
    E-mail addresses and URLs are not mentions."""
    return _unique(["@" + m for m in _MENTION_RE.findall(_without_urls(text))])


def extract_cashtags(text: str) -> list[str]:
    """Distinct cashtags in ``text`` (e.g. ``["$AAPL"]``), case-insensitive, in order.
    Amounts such as ``$100`` are not cashtags."""
    return _unique(["$" + m for m in _CASHTAG_RE.findall(_without_urls(text))])


# --- composition -----------------------------------------------------------------------------


def hashtag_body(tag: str) -> str:
    """A user-entered hashtag without surrounding whitespace and leading '#' signs."""
    return tag.strip().lstrip(_HASH_SIGNS).strip()


def compose_text(content: str, hashtags: Sequence[str]) -> str:
    """The text actually sent: ``content``, a blank line, then the post's hashtags.

    Each tag is written with a single leading '#'. A tag already in the content (as a hashtag,
    case-insensitive) or earlier in the list is skipped, so no hashtag is ever duplicated.
    Tags that are not a single valid hashtag (spaces, punctuation, all digits) are left out:
    validation reports them as ``invalid_hashtag``.
    """
    present = {tag.casefold() for tag in hashtag_occurrences(content)}
    extra: list[str] = []
    for raw in hashtags:
        body = hashtag_body(raw)
        tag = "#" + body
        if not is_hashtag_body(body) or tag.casefold() in present:
            continue
        present.add(tag.casefold())
        extra.append(tag)
    if not extra:
        return content
    suffix = " ".join(extra)
    return f"{content}\n\n{suffix}" if content.strip() else suffix
