"""cn2an is imported at the first Chinese numeral, not at start (issue 17: importing it built its
converters and patterns, a tenth of a warm start); numerals read the same either way."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import sys
import bot.app, bot.cli, nlu.dates, nlu.facts, nlu.numbers
print("at start:", "cn2an" in sys.modules)
from nlu.dates import to_int
from nlu.numbers import cn_to_number
print(cn_to_number("三十五"), cn_to_number("一百二"), to_int("廿五"), to_int("二〇二六"))
print("after a numeral:", "cn2an" in sys.modules)
"""


def test_cn2an_waits_for_the_first_numeral_and_reads_it() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True
    ).stdout.splitlines()
    assert out == ["at start: False", "35.0 120.0 25 2026", "after a numeral: True"]
