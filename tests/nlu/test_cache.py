"""Start-up cache: reused, atomic, and never required.

Tests here build their own NLU instances (a cold build trains the model,
about two seconds), so they share one cache where they can.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
from pathlib import Path

import pytest

from nlu import NLU

SAMPLES = ["明天几点上课", "补贴啥时候到账", "我退伍的能报吗", "签到"]


def _signature(n: NLU) -> list[tuple[str, float]]:
    return [(p.intent, round(p.confidence, 6)) for p in map(n.parse, SAMPLES)]


def test_second_load_reads_the_cache(nlu: NLU, nlu_cache_dir: Path) -> None:
    files = sorted(p.name for p in nlu_cache_dir.iterdir())
    assert any(f.startswith("jieba-") for f in files) and any(f.startswith("intent-model-") for f in files)
    assert not [f for f in files if f.endswith(".tmp")]
    again = NLU.load(nlu_cache_dir)
    assert again.report.dictionary_from_cache and again.report.model_from_cache
    assert _signature(again) == _signature(nlu)


def test_unwritable_cache_dir_falls_back_to_the_user_cache(
    nlu: NLU, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache directory should be")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    with caplog.at_level(logging.WARNING, logger="nlu.cache"):
        first = NLU.load(blocker / "nlu-cache")
    assert "not writable" in caplog.text
    assert _signature(first) == _signature(nlu)
    fallback = tmp_path / "xdg" / "trainee-bot" / "nlu-cache"
    assert any(p.name.startswith("intent-model-") for p in fallback.iterdir())
    second = NLU.load(blocker / "nlu-cache")  # the next start is fast again
    assert second.report.model_from_cache and second.report.dictionary_from_cache


def test_no_writable_place_at_all_still_works(
    nlu: NLU, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))  # the fallback is blocked too
    with caplog.at_level(logging.WARNING, logger="nlu.cache"):
        n = NLU.load(blocker / "nlu-cache")
    assert "rebuild" in caplog.text and n.report.warnings
    assert not n.report.model_from_cache
    assert _signature(n) == _signature(nlu)


def test_corrupt_cache_files_are_rebuilt(nlu: NLU, nlu_cache_dir: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    shutil.copytree(nlu_cache_dir, cache)
    for f in cache.iterdir():
        f.write_bytes(b"garbage" * 10)
    rebuilt = NLU.load(cache)
    assert not rebuilt.report.model_from_cache and not rebuilt.report.dictionary_from_cache
    assert _signature(rebuilt) == _signature(nlu)
    assert NLU.load(cache).report.model_from_cache  # and rewritten


def test_changed_training_data_retrains(nlu_cache_dir: Path, tmp_path: Path) -> None:
    config = tmp_path / "config"
    shutil.copytree(Path(__file__).resolve().parents[2] / "config" / "nlu", config)
    with (config / "train.yaml").open("a", encoding="utf-8") as fh:
        fh.write("  - 今天会不会刮大风\n")  # appended to the last intent (out_of_scope)
    cache = tmp_path / "cache"
    shutil.copytree(nlu_cache_dir, cache)
    changed = NLU.load(cache, config)
    assert changed.report.dictionary_from_cache and not changed.report.model_from_cache


def _load_in_child(cache_dir: str, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    n = NLU.load(Path(cache_dir))
    queue.put(_signature(n))


def test_processes_starting_together_share_one_cache(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_load_in_child, args=(str(tmp_path), queue)) for _ in range(2)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    assert results[0] == results[1]
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    warm = NLU.load(tmp_path)
    assert warm.report.model_from_cache and warm.report.dictionary_from_cache
    assert _signature(warm) == results[0]


def test_superseded_cache_files_are_pruned_after_a_while(nlu_cache_dir: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    shutil.copytree(nlu_cache_dir, cache)
    old = cache / "intent-model-0000000000000000.npz"
    recent = cache / "intent-model-1111111111111111.npz"
    old.write_bytes(b"previous version")
    recent.write_bytes(b"a version another process may still use")
    os.utime(old, (1_000_000_000, 1_000_000_000))
    for f in cache.glob("intent-model-*"):
        if f not in (old, recent):
            f.unlink()  # force a retrain, which writes and prunes
    n = NLU.load(cache)
    assert not n.report.model_from_cache
    assert not old.exists() and recent.exists()
