"""ID-card numbers (GB 11643-1999): check, mask, hash. Never log one in clear."""

from __future__ import annotations

import hashlib
import hmac
import re

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
ID_PATTERN = re.compile(r"^\d{17}[\dX]$")


def check_digit(first17: str) -> str:
    return CHECK_CHARS[sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True)) % 11]


def normalize_id_card(raw: str) -> str | None:
    """The 18-character number with an upper-case X, or None when it is not a valid one."""
    number = raw.strip().upper().replace(" ", "")
    if not ID_PATTERN.match(number):
        return None
    if check_digit(number[:17]) != number[17]:
        return None
    return number


def mask_id_card(number: str) -> str:
    """Masked as publicity lists show it (第十七条): region and last four kept."""
    return number[:6] + "*" * 8 + number[-4:]


def hash_id_card(number: str, key: bytes) -> str:
    """A keyed hash, so a leaked table does not give the numbers back by brute force."""
    return hmac.new(key, number.encode(), hashlib.sha256).hexdigest()


def mask_phone(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 7 else "****"
