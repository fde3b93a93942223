"""The facts reader that runs on every message, beside the NLU parse it runs next to.

    .venv/bin/python bench/bench_facts.py [--rounds N]

Prints p50/p99/max of `read_facts` per message (thread CPU time) over the
facts held-out sentences and the NLU held-out phrasings, and the same for
`NLU.parse` on the same messages in the same run as the baseline, with the
ratio. The facts reader is not part of `parse`, so the parse p99 target
(≤ 2 ms) is unaffected; a turn pays both. No assertions.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _messages() -> list[str]:
    facts = yaml.safe_load((ROOT / "tests/nlu/data/facts_heldout.yaml").read_text(encoding="utf-8"))
    heldout = yaml.safe_load((ROOT / "config/nlu/heldout.yaml").read_text(encoding="utf-8"))
    texts = [item["text"] for item in facts["items"]]
    for value in heldout.values() if isinstance(heldout, dict) else []:
        if isinstance(value, list):
            texts += [v if isinstance(v, str) else str(v.get("text", "")) for v in value]
        elif isinstance(value, dict):
            for phrases in value.values():
                if isinstance(phrases, list):
                    texts += [p for p in phrases if isinstance(p, str)]
    return [t for t in texts if t]


def _time(fn: object, texts: list[str], rounds: int) -> list[float]:
    out: list[float] = []
    for _ in range(rounds):
        for text in texts:
            t0 = time.thread_time()
            fn(text)  # type: ignore[operator]
            out.append((time.thread_time() - t0) * 1000)
    return out


def _line(name: str, xs: list[float]) -> str:
    xs = sorted(xs)
    p99 = xs[int(len(xs) * 0.99) - 1]
    p50 = statistics.median(xs)
    return f"{name:12s} p50 {p50:.3f} ms  p99 {p99:.3f} ms  max {xs[-1]:.3f} ms  (n={len(xs)})"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    from nlu import NLU
    from nlu.facts import read_facts

    today = date(2026, 11, 23)
    texts = _messages()
    with tempfile.TemporaryDirectory() as cache:
        nlu = NLU.load(Path(cache))
        read_facts("预热", today)
        nlu.parse("预热", today)
        facts = _time(lambda t: read_facts(t, today), texts, args.rounds)
        parse = _time(lambda t: nlu.parse(t, today), texts, args.rounds)
    print(f"load average {os.getloadavg()[0]:.2f}; {len(texts)} messages × {args.rounds} rounds")
    print(_line("NLU.parse", parse) + "   (baseline)")
    print(_line("read_facts", facts))
    ratio = sorted(facts)[int(len(facts) * 0.99) - 1] / sorted(parse)[int(len(parse) * 0.99) - 1]
    print(f"read_facts p99 / parse p99 = {ratio:.2f}")


if __name__ == "__main__":
    main()
