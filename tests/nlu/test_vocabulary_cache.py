"""The words pinyin and typo repair match against are the same from the cache as from scratch.

A warm start reads the vocabulary (every training example segmented) from the NLU
cache instead of segmenting again (issue 17). It must be the same words with the same
counts in the same order (the spelling index breaks ties by order), follow any change
to its inputs, and a damaged file must cost a rebuild, never a wrong word list.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import nlu.startup
from nlu.cache import CacheDir
from nlu.config import DEFAULT_CONFIG_DIR, CommandFile, load_examples, load_model
from nlu.startup import cached_vocabulary, vocabulary
from nlu.tokenizer import Tokenizer


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Tokenizer, list[tuple[str, str]], CommandFile]:
    tokenizer = Tokenizer(CacheDir(tmp_path_factory.mktemp("jieba")), DEFAULT_CONFIG_DIR / "domain_dict.txt")
    examples = load_examples(DEFAULT_CONFIG_DIR / "train.yaml")
    commands = load_model(CommandFile, DEFAULT_CONFIG_DIR / "commands.yaml")
    return tokenizer, examples, commands


def _files(directory: Path) -> list[Path]:
    return sorted(directory.glob("vocabulary-*.json"))


def test_a_warm_read_is_the_built_list_word_for_word(
    inputs: tuple[Tokenizer, list[tuple[str, str]], CommandFile],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tokenizer, examples, commands = inputs
    built = vocabulary(tokenizer, examples, commands)
    assert cached_vocabulary(CacheDir(tmp_path), tokenizer, examples, commands) == built
    assert len(_files(tmp_path)) == 1

    def must_not_segment(*_: object) -> list[tuple[str, int]]:
        raise AssertionError("the warm read segmented the examples again")

    monkeypatch.setattr(nlu.startup, "vocabulary", must_not_segment)
    assert cached_vocabulary(CacheDir(tmp_path), tokenizer, examples, commands) == built


def test_a_new_example_is_in_the_next_start_s_words(
    inputs: tuple[Tokenizer, list[tuple[str, str]], CommandFile], tmp_path: Path
) -> None:
    tokenizer, examples, commands = inputs
    cached_vocabulary(CacheDir(tmp_path), tokenizer, examples, commands)
    more = [*examples, ("拖拉机驾驶培训咋报名", "ask_courses")]
    words = dict(cached_vocabulary(CacheDir(tmp_path), tokenizer, more, commands))
    assert "拖拉机" in words
    assert words == dict(vocabulary(tokenizer, more, commands))


@pytest.mark.parametrize("damage", [b"\x00garbage", b'{"a": 1}', b'[["word", "1"]]', b'[["word"]]'])
def test_a_damaged_file_is_rebuilt(
    inputs: tuple[Tokenizer, list[tuple[str, str]], CommandFile], tmp_path: Path, damage: bytes
) -> None:
    tokenizer, examples, commands = inputs
    built = cached_vocabulary(CacheDir(tmp_path), tokenizer, examples, commands)
    (path,) = _files(tmp_path)
    path.write_bytes(damage)
    assert cached_vocabulary(CacheDir(tmp_path), tokenizer, examples, commands) == built
    assert path.read_bytes() != damage  # written again
