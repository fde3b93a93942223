"""Language understanding: parse latency, start-up time and memory.

    .venv/bin/python bench/bench_nlu.py [--rounds N]

Prints:
* per-utterance `parse` latency p50/p99/max over the held-out phrasings (both
  sets) and a sample of training phrasings, as wall time and as CPU time of the thread
  (wall time includes being preempted by other processes on a busy machine;
  CPU time is what the code itself costs). Target: p99 ≤ 2 ms. Beside it, the
  baseline measured in the same run on the same texts: entities plus the bare
  classifier (exact commands and model, no pinyin/typo/dialect readings, no
  escapes or topic gate), i.e. what `parse` cost before those readings;
* `answer_question` latency and the cost of a message at the MAX_TEXT limit;
* start-up in a fresh process: cold (empty cache: builds the jieba
  dictionary and trains the model) and warm (reads both), each as total
  time including imports and as `NLU.load` alone. Target warm: ≤ 1.5 s;
* resident memory of a process with the NLU loaded.

No assertions: figures are for reading, and the load average is printed so
they can be judged.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHILD = r"""
import json, resource, sys, time
t0 = time.perf_counter()
from pathlib import Path
from nlu import NLU
t1 = time.perf_counter()
nlu = NLU.load(Path(sys.argv[1]))
t2 = time.perf_counter()
nlu.parse("明天几点上课")
with open("/proc/self/status") as fh:
    rss = next(int(line.split()[1]) for line in fh if line.startswith("VmRSS:"))
ru = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"total": t2 - t0, "cpu": ru.ru_utime + ru.ru_stime, "imports": t1 - t0,
                  "load": t2 - t1, "rss_kb": rss, "max_rss_kb": ru.ru_maxrss,
                  "dictionary_from_cache": nlu.report.dictionary_from_cache,
                  "model_from_cache": nlu.report.model_from_cache}))
"""


def _child(cache_dir: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(cache_dir)], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def _fmt_us(values: list[float]) -> str:
    us = [v * 1e6 for v in values]
    return f"p50 {_pct(us, 50):7.0f} µs   p99 {_pct(us, 99):7.0f} µs   max {max(us):7.0f} µs"


def startup(rounds: int) -> None:
    print("Start-up (fresh process each time)")
    with tempfile.TemporaryDirectory(prefix="bench-nlu-") as tmp:
        cache = Path(tmp) / "nlu-cache"
        cold = _child(cache)
        assert not cold["model_from_cache"]
        warm = [_child(cache) for _ in range(rounds)]
    print(
        f"  cold (empty cache): total {cold['total']:.3f} s"
        f"  (imports {cold['imports']:.3f} s, NLU.load {cold['load']:.3f} s; CPU {cold['cpu']:.3f} s)"
    )
    med = statistics.median
    print(
        f"  warm (cache read) : total {med(w['total'] for w in warm):.3f} s"
        f"  (imports {med(w['imports'] for w in warm):.3f} s, NLU.load {med(w['load'] for w in warm):.3f} s;"
        f" CPU {med(w['cpu'] for w in warm):.3f} s)  median of {rounds},"
        f" worst total {max(w['total'] for w in warm):.3f} s   [target ≤ 1.5 s]"
    )
    print(
        f"  memory: RSS {med(w['rss_kb'] for w in warm) / 1024:.0f} MB after load and one parse"
        f" (peak {med(w['max_rss_kb'] for w in warm) / 1024:.0f} MB warm,"
        f" {cold['max_rss_kb'] / 1024:.0f} MB cold)"
    )


def latency(rounds: int) -> None:
    from nlu import MAX_TEXT, NLU, TextTooLong
    from nlu.config import DEFAULT_CONFIG_DIR, load_examples, read_yaml
    from nlu.evaluate import TRAINEE_HELDOUT, TRAINEE_HELDOUT_B, load_styled
    from nlu.training import feature_types

    with tempfile.TemporaryDirectory(prefix="bench-nlu-") as tmp:
        nlu = NLU.load(Path(tmp))
    heldout = [t for t, _ in load_examples(DEFAULT_CONFIG_DIR / "heldout.yaml")]
    train = [t for t, _ in load_examples(DEFAULT_CONFIG_DIR / "train.yaml")][::7]
    sets = (TRAINEE_HELDOUT, TRAINEE_HELDOUT_B)
    trainee = [u.text for name in sets for u in load_styled(DEFAULT_CONFIG_DIR / name)]
    texts = heldout + trainee + train

    def baseline(text: str) -> None:
        entities, id_like = nlu.extractor.analyse(text, nlu_today)
        nlu.classifier.predict(text, feature_types(entities, id_like))

    from nlu.shanghai import today_in_shanghai

    nlu_today = today_in_shanghai()
    questions = [q["q"] for q in read_yaml(DEFAULT_CONFIG_DIR / "policy_questions.yaml")["questions"]]
    for t in texts[:50]:  # warm-up: first calls pay for lazy regex and cache set-up
        nlu.parse(t)

    wall: list[float] = []
    cpu: list[float] = []
    base_wall: list[float] = []
    for _ in range(rounds):
        for t in texts:
            w0, c0 = time.perf_counter(), time.thread_time()
            nlu.parse(t)
            cpu.append(time.thread_time() - c0)
            wall.append(time.perf_counter() - w0)
            w0 = time.perf_counter()
            baseline(t)
            base_wall.append(time.perf_counter() - w0)
    print(f"\nparse() over {len(texts)} utterances × {rounds} rounds ({len(wall)} calls)")
    print(f"  wall: {_fmt_us(wall)}   [target p99 ≤ 2000 µs]")
    print(f"  cpu : {_fmt_us(cpu)}")
    print(f"  baseline (entities + bare classifier), wall: {_fmt_us(base_wall)}")
    ratio50 = _pct(wall, 50) / _pct(base_wall, 50)
    ratio99 = _pct(wall, 99) / _pct(base_wall, 99)
    print(f"  parse / baseline: p50 ×{ratio50:.2f}   p99 ×{ratio99:.2f}")

    qwall = []
    for _ in range(rounds):
        for q in questions:
            w0 = time.perf_counter()
            nlu.answer_question(q)
            qwall.append(time.perf_counter() - w0)
    print(f"answer_question() over {len(questions)} questions × {rounds}: wall {_fmt_us(qwall)}")

    long_text = ("我想问一下补贴什么时候到账，出勤率八成能拿多少？" * 100)[:MAX_TEXT]
    lw = []
    for _ in range(20):
        w0 = time.perf_counter()
        nlu.parse(long_text)
        lw.append(time.perf_counter() - w0)
    lb = []
    for _ in range(20):
        w0 = time.perf_counter()
        baseline(long_text)
        lb.append(time.perf_counter() - w0)
    print(
        f"parse() of a {MAX_TEXT}-character message: median {statistics.median(lw) * 1000:.1f} ms"
        f"  (baseline {statistics.median(lb) * 1000:.1f} ms)"
    )
    w0 = time.perf_counter()
    with contextlib.suppress(TextTooLong):
        nlu.parse("字" * 20_000)
    print(f"parse() of a 20,000-character message: refused in {(time.perf_counter() - w0) * 1e6:.0f} µs")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    load1, load5, _ = os.getloadavg()
    print(f"bench_nlu  python {sys.version.split()[0]}  cpus {os.cpu_count()}", end="")
    print(f"  load average {load1:.2f} / {load5:.2f}\n")
    startup(args.rounds)
    latency(args.rounds)


if __name__ == "__main__":
    main()
