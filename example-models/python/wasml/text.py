"""Text offsets the way Label Studio counts them.

Label Studio's front end measures span ``start``/``end`` in JavaScript string indices (UTF-16
code units). Python indexes strings by code point, so offsets differ as soon as a text holds
a character outside the Basic Multilingual Plane (most emoji, rare CJK): convert them.
"""

from typing import List, Optional, Tuple


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def index_of_utf16(text: str, unit: int) -> Optional[int]:
    """The code point index at UTF-16 offset ``unit`` of ``text``, or None when it is past
    the end or falls inside a surrogate pair."""
    # componentize-py's Python ships without the UTF-16 codec: count by hand.
    units = 0
    for index, ch in enumerate(text):
        if units == unit:
            return index
        if units > unit:
            return None
        units += 2 if ord(ch) > 0xFFFF else 1
    return len(text) if units == unit else None


def slice_utf16(text: str, start: int, end: int) -> Optional[str]:
    """The part of ``text`` between UTF-16 offsets ``start`` and ``end``, or None when they
    are out of range, reversed, or split a surrogate pair."""
    first, last = index_of_utf16(text, start), index_of_utf16(text, end)
    if first is None or last is None or first > last:
        return None
    return text[first:last]


def find_all_utf16(haystack: str, needle: str) -> List[Tuple[int, int]]:
    """Every non-overlapping occurrence of ``needle`` in ``haystack``, left to right, as
    UTF-16 ``(start, end)`` offsets."""
    if not needle:
        return []
    needle_units = utf16_len(needle)
    spans = []
    # Walk forward, converting only the stretch since the previous match.
    last_index, last_unit = 0, 0
    index = haystack.find(needle)
    while index != -1:
        start = last_unit + utf16_len(haystack[last_index:index])
        spans.append((start, start + needle_units))
        last_index, last_unit = index, start
        index = haystack.find(needle, index + len(needle))
    return spans
