"""Resident ID-card numbers (GB 11643-1999) and mainland mobile numbers.

An ID-card number is only an entity when its check digit is right and its
birth date exists: a mistyped number must not be bound to a trainee record.
`IdCardCheck` says *why* a number was refused so the conversation can tell
the user that the number looks wrong instead of silently ignoring it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# The one ID-card validator lives in bot.identity (import, binding and the NLU
# must agree on which numbers exist); the NLU re-exports it.
from bot.identity import ID_CARD_LENGTH, IdCardCheck, check_digit, check_id_card

# Digit runs that may be an ID-card number typed with spaces or dashes
# (voice input: "220102 19900307 1234"). Not preceded/followed by a digit or
# Latin letter, so parts of longer codes are not picked up.
_ID_CANDIDATE = re.compile(r"(?<![0-9A-Za-z])(\d(?:[ \-]?\d){13,17}(?:[ \-]?[\dXx])?)(?![0-9A-Za-z])")
_SEPARATORS = re.compile(r"[ \-]")

# Mainland mobile numbers: 1[3-9]x xxxx xxxx, optionally +86 / 86, optionally
# grouped 3-4-4 with spaces or dashes.
_PHONE = re.compile(r"(?<![0-9A-Za-z+])(?:\+?86[ \-]?)?(1[3-9]\d)[ \-]?(\d{4})[ \-]?(\d{4})(?![0-9A-Za-z])")

__all__ = ["ID_CARD_LENGTH", "IdCardCheck", "check_digit", "check_id_card", "find_id_cards", "find_phones"]


@dataclass(frozen=True, slots=True)
class IdCandidate:
    """A digit run that looks like an ID-card number, valid or not."""

    number: str  # separators removed, upper-case X
    start: int
    end: int
    check: IdCardCheck


def find_id_cards(text: str) -> list[IdCandidate]:
    """Every ID-card-like number in `text` (15–18 digits), with its verdict.

    15-digit numbers are first-generation cards, invalid since 2013; they are
    reported as WRONG_LENGTH so the user is asked for the 18-digit number.
    """
    found = []
    for m in _ID_CANDIDATE.finditer(text):
        number = _SEPARATORS.sub("", m.group(1)).upper()
        if len(number) < 15:
            continue
        found.append(IdCandidate(number, m.start(1), m.end(1), check_id_card(number)))
    return found


@dataclass(frozen=True, slots=True)
class PhoneMatch:
    number: str
    start: int
    end: int


def find_phones(text: str) -> list[PhoneMatch]:
    """Mainland mobile numbers, normalised to their 11 digits."""
    return [PhoneMatch("".join(m.groups()), m.start(), m.end()) for m in _PHONE.finditer(text)]


def mask_id_card(number: str) -> str:
    """How an ID-card number may be shown (第十七条 allows hiding part of it)."""
    return number[:6] + "*" * 8 + number[-4:] if len(number) == ID_CARD_LENGTH else "*" * len(number)
