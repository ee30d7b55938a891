"""``normalize_text`` drops exactly the characters ``_keep`` refuses, for every code point."""

from __future__ import annotations

import sys

from core.domain.text import _DROPPED_RE, _keep, normalize_text


def test_the_fast_control_filter_matches_the_unicode_categories_for_every_code_point() -> None:
    differ = [cp for cp in range(sys.maxunicode + 1)
              if _keep(chr(cp)) == bool(_DROPPED_RE.fullmatch(chr(cp)))]
    assert differ == []


def test_normalize_text_keeps_tabs_newlines_and_format_characters() -> None:
    text = "a\tb\r\nc\x00d\x7f\x85e\u200d\U0001F600\ud800"
    assert normalize_text(text) == "a\tb\nc" + "de\u200d\U0001F600"
