"""The facts reader against its held-out set: `python -m nlu.facts_eval [file]`.

A sentence counts as right only when exactly the expected facts are read,
nothing missing and nothing extra; per-fact precision and recall show where
the errors are.
"""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from nlu.facts import read_facts

HELDOUT = Path(__file__).resolve().parent.parent / "tests" / "nlu" / "data" / "facts_heldout.yaml"


def _norm(facts: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in facts.items():
        if key == "age":
            out[key] = (value, value) if isinstance(value, int) else tuple(value)
        elif key == "groups":
            out[key] = frozenset(value)
        else:
            out[key] = value
    return {k: v for k, v in out.items() if v != frozenset()}


@dataclass
class FactScore:
    total: int = 0
    exact: int = 0
    right: Counter[str] = field(default_factory=Counter)
    said: Counter[str] = field(default_factory=Counter)
    expected: Counter[str] = field(default_factory=Counter)
    errors: list[tuple[str, dict[str, Any], dict[str, Any]]] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        return self.exact / self.total if self.total else 0.0


def score(path: Path = HELDOUT) -> FactScore:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    today = data["today"] if isinstance(data["today"], date) else date.fromisoformat(data["today"])
    result = FactScore()
    for item in data["items"]:
        want = _norm(item.get("facts") or {})
        got = _norm(read_facts(item["text"], today).as_dict())
        result.total += 1
        result.exact += want == got
        if want != got:
            result.errors.append((item["text"], want, got))
        for key, value in got.items():
            result.said[key] += 1
            result.right[key] += want.get(key) == value
        for key in want:
            result.expected[key] += 1
    return result


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    s = score(Path(args[0]) if args else HELDOUT)
    print(f"facts held-out: {s.exact}/{s.total} sentences exactly right = {s.accuracy:.3f}")
    for key in sorted(set(s.said) | set(s.expected)):
        p = s.right[key] / s.said[key] if s.said[key] else 1.0
        r = s.right[key] / s.expected[key] if s.expected[key] else 1.0
        print(f"  {key:28s} precision {p:.2f}  recall {r:.2f}  (expected {s.expected[key]})")
    for text, want, got in s.errors:
        print(f"  ✗ {text}\n      want {want}\n      got  {got}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
