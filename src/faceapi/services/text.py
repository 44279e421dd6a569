"""Checks on text people type that other people will see: in the console, the CLI, a terminal."""

from __future__ import annotations

import unicodedata

# Control, format (e.g. right-to-left override, zero width), surrogate, private-use and
# unassigned characters: invisible or able to rewrite a terminal, never part of a real name.
_UNPRINTABLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})


def is_printable(text: str) -> bool:
    """True if every character shows as itself."""
    return not any(unicodedata.category(character) in _UNPRINTABLE for character in text)


def visible(text: str) -> str:
    """`text` with each unprintable character written as an escape, e.g. "\\x1b"."""
    return "".join(
        character.encode("unicode_escape").decode()
        if unicodedata.category(character) in _UNPRINTABLE
        else character
        for character in text
    )
