"""Word segmentation from the character-by-character dictionary is exactly jieba's whole one.

A warm start no longer reads jieba's half-million-entry prefix dictionary at once
(issue 17): each character's entries are read just before a text containing it is
cut. Every answer the bot gives rests on the words jieba finds, so what must hold is
that every text is cut the same way as with the whole dictionary and the domain
words added to it, a damaged file is rebuilt at start, and an edit of the domain
words is followed.
"""

from __future__ import annotations

import random
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jieba
import pytest
import yaml

from nlu.cache import CacheDir
from nlu.config import DEFAULT_CONFIG_DIR
from nlu.jieba_buckets import BucketFile, pack
from nlu.tokenizer import MAIN_DICT, Tokenizer, load_domain_words

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = DEFAULT_CONFIG_DIR / "domain_dict.txt"


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(key)
            yield from _strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)


def _texts() -> list[str]:
    """What trainees and the knowledge base say: training, entries, held-out sets (only cut here)."""
    files = [
        DEFAULT_CONFIG_DIR / "train.yaml",
        *sorted((ROOT / "config" / "knowledge" / "entries").glob("*.yaml")),
        *sorted((ROOT / "tests" / "nlu" / "data").glob("*.yaml")),
    ]
    texts: list[str] = []
    for path in files:
        texts.extend(s for s in _strings(yaml.safe_load(path.read_text(encoding="utf-8"))) if s.strip())
    return list(dict.fromkeys(texts))


@pytest.fixture(scope="module")
def whole() -> jieba.Tokenizer:
    """jieba as it was before: the whole dictionary, then the domain words added."""
    tk = jieba.Tokenizer()
    with MAIN_DICT.open("rb") as fh:
        tk.FREQ, tk.total = tk.gen_pfdict(fh)
    tk.initialized = True
    for word, freq in load_domain_words(DOMAIN):
        tk.add_word(word, freq)
    return tk


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("jieba-buckets")
    assert not Tokenizer(CacheDir(directory), DOMAIN).from_cache  # writes the file
    return directory


def test_every_text_is_cut_as_with_the_whole_dictionary(whole: jieba.Tokenizer, cache_dir: Path) -> None:
    warm = Tokenizer(CacheDir(cache_dir), DOMAIN)
    assert warm.from_cache and warm._tk.total == whole.total
    texts = _texts()
    assert len(texts) > 3_000
    rng = random.Random(17)
    chars = sorted({ch for t in texts for ch in t})
    texts += ["".join(rng.choices(chars, k=rng.randint(2, 30))) for _ in range(2_000)]
    texts += ["qiandao 签到!!", "我 的 出 勤 率", "2026年12月4日补贴到了没", "ＡＢＣ补贴", "\u3000签到\n"]
    for text in texts:
        assert warm.cut(text) == [w for w in whole.lcut(text) if not w.isspace()], text
        assert warm.cut_for_search(text) == [w for w in whole.lcut_for_search(text) if not w.isspace()], text


def test_read_characters_hold_exactly_the_whole_dictionary_s_entries(
    whole: jieba.Tokenizer, cache_dir: Path
) -> None:
    warm = Tokenizer(CacheDir(cache_dir), DOMAIN)
    freq, everything = warm._tk.FREQ, whole.FREQ
    assert freq == {}  # nothing read at start
    warm.cut("签到")
    assert freq == {k: v for k, v in everything.items() if k[0] in "签到"}
    warm.cut("".join({k[0] for k in everything}))
    assert freq == everything
    assert warm._buckets is not None and warm._buckets.pending() == 0


@pytest.mark.parametrize("damage", ["garbage", "truncated", "flipped"])
def test_a_damaged_file_is_rebuilt_at_start(cache_dir: Path, tmp_path: Path, damage: str) -> None:
    shutil.copytree(cache_dir, tmp_path / "c")
    (path,) = (tmp_path / "c").glob("jieba-buckets-*.bin")
    data = path.read_bytes()
    if damage == "garbage":
        data = b"garbage" * 10
    elif damage == "truncated":
        data = data[: len(data) // 2]
    else:
        data = data[:-100] + bytes([data[-100] ^ 1]) + data[-99:]
    path.write_bytes(data)
    with pytest.raises(ValueError):
        BucketFile(data)
    rebuilt = Tokenizer(CacheDir(tmp_path / "c"), DOMAIN)
    assert not rebuilt.from_cache and rebuilt.cut("我想报个电工班") == Tokenizer(
        CacheDir(cache_dir), DOMAIN
    ).cut("我想报个电工班")
    assert Tokenizer(CacheDir(tmp_path / "c"), DOMAIN).from_cache  # written again


def test_an_edited_domain_dictionary_is_followed(cache_dir: Path, tmp_path: Path) -> None:
    shutil.copytree(cache_dir, tmp_path / "c")
    edited = tmp_path / "domain_dict.txt"
    edited.write_text(DOMAIN.read_text(encoding="utf-8") + "\n拖拉机驾驶证 50000\n", encoding="utf-8")
    text = "我想考拖拉机驾驶证"
    before = Tokenizer(CacheDir(tmp_path / "c"), DOMAIN)
    after = Tokenizer(CacheDir(tmp_path / "c"), edited)
    assert before.from_cache and not after.from_cache
    assert "拖拉机驾驶证" not in before.cut(text) and "拖拉机驾驶证" in after.cut(text)
    assert Tokenizer(CacheDir(tmp_path / "c"), edited).cut(text) == after.cut(text)


def test_the_file_reads_back_what_was_packed() -> None:
    freq = {"签": 3, "签到": 7, "签到表": 0, "补": 2, "补贴": 9}
    buckets = BucketFile(pack(freq, 21))
    got: dict[str, int] = {}
    buckets.fill(got, "补")
    assert got == {"补": 2, "补贴": 9} and buckets.total == 21 and buckets.pending() == 1
    buckets.fill(got, "签到补x")
    assert got == freq and buckets.pending() == 0
