"""ID-card numbers (GB 11643-1999): the one validator, mask, hash. Never log one in clear.

Import, chat binding and the NLU all ask `check_id_card`, so a number the
roster import accepts is a number the trainee can bind with (and the other
way round): the check digit must be right AND the birth date must exist.
"""

from __future__ import annotations

import hashlib
import hmac
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
