"""CSV cells that a spreadsheet shows as text, never runs as a formula (issue 12, item 7).

A trainee name such as `=HYPERLINK(...)` from a roster import would run in
the Excel of the staff member who opens the publicity list. OWASP's advice:
a text cell starting with = + - @ (or a tab or carriage return, which Excel
skips before looking) is prefixed with a single quote.
"""

from __future__ import annotations

from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")


def safe_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
