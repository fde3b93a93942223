"""`python -m tests.dialogue`: run the persona dialogues and print their pass rate.

Runs the same pytest test as `make test` (fixtures, a fresh database per
dialogue), collects each persona's result and prints the rate and the
failing dialogues' transcripts.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent


class _Tally:
    def __init__(self) -> None:
        self.passed: list[str] = []
        self.failed: list[tuple[str, str]] = []

    def pytest_runtest_logreport(self, report: Any) -> None:
        if report.when != "call" or "test_persona[" not in report.nodeid:
            return
        name = report.nodeid.split("[", 1)[1].rstrip("]")
        if report.passed:
            self.passed.append(name)
        else:
            self.failed.append((name, str(report.longrepr).splitlines()[-1] if report.longrepr else ""))


def main(argv: list[str] | None = None) -> int:
    tally = _Tally()
    args = ["-q", "-p", "no:cacheprovider", "--no-header", "-o", "console_output_style=classic"]
    code = pytest.main([*args, *(argv or []), str(HERE / "test_personas.py")], plugins=[tally])
    total = len(tally.passed) + len(tally.failed)
    rate = len(tally.passed) / total if total else 0.0
    print(f"\npersona dialogues: {len(tally.passed)}/{total} passed = {rate:.3f}")
    for name, why in tally.failed:
        print(f"  ✗ {name}: {why}")
    return int(code)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
