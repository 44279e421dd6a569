"""Text that people see in the console, the CLI or a terminal: checks on what others typed,
and how moments and numbers are written."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from decimal import Decimal

# Characters that are invisible or rewrite what is around them, never part of a real name:
# controls (which can retitle or recolour a terminal), lone surrogates, private-use and
# unassigned code points, line and paragraph separators, and format characters, among them
# bidirectional overrides and isolates (which can show "moc.elpmaxe" as "example.com"), soft
# hyphens, zero-width spaces and tags. The zero-width joiner and non-joiner stay allowed:
# emoji sequences and Persian spelling need them. Letters and symbols that draw nothing
# (Hangul fillers, the Mongolian vowel separator, the blank Braille pattern) are refused too.
_UNPRINTABLE_CATEGORIES = frozenset({"Cc", "Cs", "Co", "Cn", "Cf", "Zl", "Zp"})
_JOINERS = frozenset("\u200c\u200d")
_BLANK = frozenset("\u115f\u1160\u180e\u2800\u3164\uffa0")


def is_printable(text: str) -> bool:
    """True if every character shows as itself."""
    return not any(_unprintable(character) for character in text)


def visible(text: str) -> str:
    """`text` with each unprintable character written as an escape, e.g. "\\x1b"."""
    return "".join(
        character.encode("unicode_escape").decode() if _unprintable(character) else character
        for character in text
    )


def _unprintable(character: str) -> bool:
    if character in _JOINERS:
        return False
    return character in _BLANK or unicodedata.category(character) in _UNPRINTABLE_CATEGORIES


# Letters with a script of their own; modifier letters (the Japanese long-vowel mark, say) are
# shared between scripts, so they neither mix nor match any.
_LETTERS = frozenset({"Lu", "Ll", "Lt", "Lo"})
# Scripts written together in one word, the sets of Unicode's "highly restrictive" profile
# (UTS #39): Japanese joins Han and both kanas, Chinese Han and Bopomofo, Korean Han and
# Hangul, and each may add Latin.
_WRITTEN_TOGETHER = (
    frozenset({"Latin", "Han", "Hiragana", "Katakana"}),
    frozenset({"Latin", "Han", "Bopomofo"}),
    frozenset({"Latin", "Han", "Hangul"}),
)


def mixed_scripts(word: str) -> list[str]:
    """The scripts of `word`'s letters, sorted, if it mixes scripts never written together,
    e.g. ["Cyrillic", "Latin"] for "ex\\u0430mple" (a Cyrillic "a"); else nothing. Meant for
    NFKC text, in which signs such as the micro sign have become the letters they stand for."""
    scripts = {_script(character) for character in word if _is_letter(character)}
    if len(scripts) < 2 or any(scripts <= together for together in _WRITTEN_TOGETHER):
        return []
    return sorted(scripts)


def _is_letter(character: str) -> bool:
    return unicodedata.category(character) in _LETTERS


def _script(letter: str) -> str:
    # Python has no script property, but a letter's name starts with its script, as in
    # "CYRILLIC SMALL LETTER A": near enough to tell scripts apart. Ideographs are "CJK ...".
    script = unicodedata.name(letter, "").split(" ")[0].title()
    return "Han" if script == "Cjk" else script


def quoted(text: str, limit: int = 100) -> str:
    """Client text for a message or a log line: escaped as `visible` does, cut to `limit`."""
    return visible(text if len(text) <= limit else f"{text[:limit]}...")


def moment(value: datetime | None) -> str:
    """A stored time as both the console and the CLI show it, e.g. "2026-11-24 10:22 UTC"."""
    if value is None:
        return "never"
    return f"{value.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def plain_number(value: float) -> str:
    """`value` in plain decimals, as typed into a form: 0.00001 and 1234567, not 1e-05 and
    1.23457e+06 as `:g` writes them, so what is shown can be typed back unchanged."""
    text = format(Decimal(repr(value)), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def quantity(number: float, unit: str) -> str:
    """`number` with `unit`, a plural noun, made singular for exactly one: "1 second", "2
    seconds", "0.5 seconds"."""
    return f"{plain_number(number)} {unit.removesuffix('s') if number == 1 else unit}"
