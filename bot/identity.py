"""ID-card numbers (GB 11643-1999): the one validator, mask, hash. Never log one in clear.

Import, chat binding and the NLU all ask `check_id_card`, so a number the
roster import accepts is a number the trainee can bind with (and the other
way round): the check digit must be right AND the birth date must exist.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from datetime import date
from enum import Enum

# ISO 7064 MOD 11-2 as used by GB 11643: weights of the 17 body digits and
# the check character for each remainder.
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
ID_CARD_LENGTH = 18
# Nobody born before this holds a second-generation card.
EARLIEST_BIRTH_YEAR = 1900


class IdCardCheck(Enum):
    VALID = "valid"
    WRONG_LENGTH = "wrong_length"
    BAD_BIRTH_DATE = "bad_birth_date"
    BAD_CHECK_DIGIT = "bad_check_digit"


def check_digit(first17: str) -> str:
    """The GB 11643 check character for the first 17 digits."""
    return CHECK_CHARS[sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True)) % 11]


def birth_date_text(number: str) -> str:
    """The birth date as written in the number ("1990-13-41"), for an error message."""
    return f"{number[6:10]}-{number[10:12]}-{number[12:14]}"


def check_id_card(number: str, today: date | None = None) -> IdCardCheck:
    """Validate an 18-character ID-card number (separators already removed)."""
    number = number.upper()
    if (
        len(number) != ID_CARD_LENGTH
        or not number[:17].isdigit()
        or not (number[17].isdigit() or number[17] == "X")
    ):
        return IdCardCheck.WRONG_LENGTH
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return IdCardCheck.BAD_BIRTH_DATE
    if born.year < EARLIEST_BIRTH_YEAR or born > (today or date.today()):
        return IdCardCheck.BAD_BIRTH_DATE
    if check_digit(number[:17]) != number[17]:
        return IdCardCheck.BAD_CHECK_DIGIT
    return IdCardCheck.VALID


def normalize_id_card(raw: str) -> str | None:
    """The 18-character number with an upper-case X, or None when it is not a valid one."""
    number = raw.strip().upper().replace(" ", "")
    return number if check_id_card(number) is IdCardCheck.VALID else None


def mask_id_card(number: str) -> str:
    """Masked as publicity lists show it (第十七条): region and last four kept."""
    return number[:6] + "*" * 8 + number[-4:]


def hash_id_card(number: str, key: bytes) -> str:
    """A keyed hash, so a leaked table does not give the numbers back by brute force."""
    return hmac.new(key, number.encode(), hashlib.sha256).hexdigest()


def mask_phone(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 7 else "****"


# -- the door: every inbound text is normalised, then masked before it is kept ----------------
# Numbers as people type them, with spaces or dashes between digit groups. Tried in order:
# 18-character ID numbers, mobiles (optionally +86), 15-digit old ID numbers, then any other
# run of eleven digits or more (a mistyped ID number is still someone's ID number).
_B, _E = r"(?<![0-9A-Za-z])", r"(?![0-9A-Za-z])"
_SEP = r"[ \-]{0,2}"
_PATTERNS = (
    re.compile(_B + r"\d(?:" + _SEP + r"\d){16}" + _SEP + r"[\dXx]" + _E),
    re.compile(r"(?<![0-9A-Za-z+])(?:\+?86" + _SEP + r")?1[3-9]\d(?:" + _SEP + r"\d){8}" + _E),
    re.compile(_B + r"\d(?:" + _SEP + r"\d){14}" + _E),
    re.compile(_B + r"\d(?:" + _SEP + r"\d){10,}(?:" + _SEP + r"[Xx])?" + _E),
)
_SEPARATORS = re.compile(r"[ \-]")
# Dashes people (and input methods) put between digit groups; folded to "-".
_DASHES = dict.fromkeys(map(ord, "‐‑‒–—―−﹣－"), "-")
_KEEP_CONTROLS = frozenset("\n\t")


def normalize_inbound(text: str) -> str:
    """Text as the bot reads it: full-width and other-script digits and letters folded to ASCII,
    invisible format characters (zero-width space, RTL override, BOM) and control characters
    dropped, unpaired surrogates replaced.

    An ID number typed in full-width digits or with a zero-width space inside is
    still the number; folding first means it is recognised, bound and masked alike.
    """
    out: list[str] = []
    for ch in text:
        code = ord(ch)
        if ch.isascii():
            if (code < 0x20 and ch not in _KEEP_CONTROLS) or code == 0x7F:
                continue
            out.append(ch)
            continue
        if 0xFF01 <= code <= 0xFF5E and (ch.isalnum()):
            out.append(chr(code - 0xFEE0))
            continue
        if code in _DASHES:
            out.append("-")
            continue
        if ch == "\u3000":
            out.append(" ")
            continue
        category = unicodedata.category(ch)
        if category == "Nd":
            out.append(str(unicodedata.decimal(ch)))
        elif category == "Cs":
            out.append("\ufffd")
        elif category in ("Cf", "Cc"):
            continue
        else:
            out.append(ch)
    return "".join(out)


def _mask_run(run: str) -> str:
    digits = _SEPARATORS.sub("", run).upper()
    if digits.startswith("+"):
        digits = digits[1:]
    if len(digits) == 13 and digits.startswith("86"):
        return mask_phone(digits[2:])
    if len(digits) >= 15:  # an ID-card number (18, or the old 15), or something as long
        return digits[:6] + "*" * (len(digits) - 10) + digits[-4:]
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_personal(text: str) -> str:
    """`text` with every ID-card number and mobile number masked (on normalised text).

    Any run of eleven digits or more counts, valid or not: a mistyped ID number
    is still someone's ID number to a reader.
    """
    text = normalize_inbound(text)
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: _mask_run(m.group(0)), text)
    return text


def has_personal_number(text: str) -> bool:
    """Whether `text` (normalised) still holds a run that `mask_personal` would mask."""
    text = normalize_inbound(text)
    return any(pattern.search(text) for pattern in _PATTERNS)


# Bidirectional controls (RLO, LRO, isolates, marks): rendered raw they reorder what staff read
# (a name that shows as another, a file name's extension turned round).
_BIDI = dict.fromkeys(map(ord, "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"))


def strip_bidi(value: object) -> object:
    """For templates: strings without bidirectional controls; anything else unchanged."""
    return value.translate(_BIDI) if isinstance(value, str) else value
