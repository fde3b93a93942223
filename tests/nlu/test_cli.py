"""`python -m nlu parse` and `python -m nlu evaluate` print real numbers."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from nlu import NLU
from nlu.__main__ import main

ROOT = Path(__file__).resolve().parents[2]


def test_parse_command(nlu: NLU, nlu_cache_dir: Path) -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "nlu",
            "--cache-dir",
            str(nlu_cache_dir),
            "parse",
            "明天几点上课？",
            "--today",
            "2026-11-21",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    body = json.loads(out.stdout)
    assert body["intent"] == "class_info"
    assert body["entities"][0]["value"] == "2026-11-22"
    assert len(body["alternatives"]) == 3


def test_parse_command_refuses_too_long_text(
    nlu: NLU, nlu_cache_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--cache-dir", str(nlu_cache_dir), "parse", "字" * 20_000]) == 2
    assert "limit" in capsys.readouterr().err


def test_evaluate_command_meets_the_accuracy_bar(
    nlu: NLU, nlu_cache_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--cache-dir", str(nlu_cache_dir), "evaluate"]) == 0
    report = capsys.readouterr().out
    cv = float(re.search(r"Cross-validated accuracy \(5-fold, stratified\): ([0-9.]+)", report).group(1))  # type: ignore[union-attr]
    heldout = float(re.search(r"Held-out phrasings .*?: ([0-9.]+)", report).group(1))  # type: ignore[union-attr]
    assert cv >= 0.92
    assert heldout >= 0.92
    for intent in ("check_in", "claim_status", "out_of_scope"):
        assert re.search(rf"^{intent}\s+[0-9.]+\s+[0-9.]+", report, re.MULTILINE)
    assert "Top confusions" in report and "ECE" in report and "Policy questions" in report
    trainee = re.search(r"Trainee held-out set \(heldout_trainee\.yaml\).*?: ([0-9.]+)", report)
    assert trainee is not None and float(trainee.group(1)) >= 0.95
    for style in ("dialect", "pinyin", "homophone", "emoji", "offtopic"):
        assert re.search(rf"^  {style}\s+[0-9.]+\s+\d+\s+\d+$", report, re.MULTILINE)
