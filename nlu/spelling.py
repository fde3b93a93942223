"""Pinyin input and homophone typos, read back as the words that were meant.

People who cannot pick characters type pinyin ("qiandao", "wo yao qian
dao", "bangding一下身份"), and a pinyin keyboard happily offers the wrong
characters of the right sound (取销 for 取消, 投述 for 投诉, 考情 for 考勤).
Both are the same problem seen from two sides: the sound is right, the
characters are not. So the vocabulary the bot knows (training data, domain
dictionary, commands) is indexed by its toneless pinyin, and

* `transliterate` turns every latin run that spells pinyin into the best
  sequence of known words (fewest pieces; single characters by their
  frequency in the training data);
* `correct` replaces a run of characters that is not a word the bot knows
  but sounds like one (loosely: in/ing, zh/z … as the keyboards' fuzzy mode
  does) with that word.

A correction is a hypothesis: `NLU.parse` only uses it when the message as
written is not understood, so 钱到了没 (money) never turns into 签到 (check in).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from nlu.cache import CacheDir
from nlu.config import DEFAULT_CONFIG_DIR, load_model
from nlu.text import HAN

_LATIN_RUN = re.compile(r"[a-zA-Z][a-zA-Z' ]*[a-zA-Z]|[a-zA-Z]")
_HAN_RUN = re.compile(f"[{HAN}]+")
_HAN_CHAR = re.compile(f"[{HAN}]")
# A word costs one piece; a lone character more, so known words are preferred.
_CHAR_COST = 1.6
_MAX_WINDOW = 4
# Bump when what the word-readings cache file holds changes meaning.
_READINGS_FORMAT = "readings-1"


class SpellingFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    latin_words: tuple[str, ...]
    fuzzy_finals: tuple[tuple[str, str], ...]
    fuzzy_initials: tuple[tuple[str, str], ...]
    targets: tuple[str, ...]


@lru_cache(maxsize=1)
def _char_table() -> dict[str, str]:
    """pypinyin's per-character readings ("21512" → "hé,hè,…"), read without importing pypinyin.

    Importing pypinyin also loads its phrase dictionary, a quarter of a second of
    every start, and only whole words need it; a character's reading is the first
    of its dictionary entry (what `lazy_pinyin` returns for it: checked for every
    character). If pypinyin ever moves the file, its own table is used instead.
    """
    spec = importlib.util.find_spec("pypinyin")
    if spec is not None and spec.submodule_search_locations:
        path = Path(next(iter(spec.submodule_search_locations))) / "pinyin_dict.json"
        try:
            table = json.loads(path.read_bytes())
            if isinstance(table, dict) and table:
                return table
        except (OSError, ValueError):
            pass
    from pypinyin.constants import PINYIN_DICT

    return {str(code): readings for code, readings in PINYIN_DICT.items()}


# Combining marks that are letters' own, not tones: ü's diaeresis and ê's circumflex.
_NOT_TONES = frozenset("\u0308\u0302")


def _toneless(reading: str) -> str:
    """zhōng → zhong, lǜ → lv, ê̄ → ê: pypinyin's NORMAL style (tone marks dropped, ü written v)."""
    marks_off = "".join(
        c for c in unicodedata.normalize("NFD", reading) if c in _NOT_TONES or not "\u0300" <= c <= "\u036f"
    )
    return unicodedata.normalize("NFC", marks_off).replace("ü", "v")


@lru_cache(maxsize=1)
def _syllables() -> frozenset[str]:
    """Every toneless pinyin syllable with a vowel (drops the interjections m, n, ng, hm)."""
    readings: set[str] = set()
    for value in _char_table().values():
        readings.update(value.split(","))
    out = {_toneless(r) for r in readings}
    return frozenset(s for s in out if s.isascii() and s.isalpha() and re.search("[aeiouv]", s))


@lru_cache(maxsize=8192)
def _char_pinyin(ch: str) -> str:
    if not _HAN_CHAR.fullmatch(ch):
        return ""
    readings = _char_table().get(str(ord(ch)))
    return _toneless(readings.split(",", 1)[0]) if readings else ""


def _word_readings(words: list[str], cache: CacheDir | None) -> dict[str, list[str]]:
    """Each word's syllables as pypinyin reads the whole word (银行 yin hang, not yin xing).

    Only pypinyin's phrase dictionary knows such readings, and loading it costs a
    quarter of a second; so the readings are kept in the NLU cache, keyed by the
    words and pypinyin's version, and a warm start reads them instead.
    """
    try:
        version = metadata.version("pypinyin")
    except metadata.PackageNotFoundError:
        version = "?"
    digest = hashlib.sha256(f"{_READINGS_FORMAT}/pypinyin-{version}".encode())
    digest.update("\n".join(words).encode())
    name = f"spelling-readings-{digest.hexdigest()[:16]}.json"
    if cache is not None:
        loaded = cache.read_json(
            name,
            lambda v: (
                isinstance(v, dict)
                and set(v) == set(words)
                and all(isinstance(r, list) and all(isinstance(x, str) for x in r) for r in v.values())
            ),
        )
        if loaded is not None:
            return loaded
    from pypinyin import lazy_pinyin

    readings = {w: [p for p in lazy_pinyin(w, errors="ignore") if p] for w in words}
    if cache is not None:
        cache.write_json(name, readings, "spelling-readings-")
    return readings


class SpellingIndex:
    def __init__(
        self, data: SpellingFile, vocabulary: Iterable[tuple[str, int]], cache: CacheDir | None = None
    ) -> None:
        self._latin_known = frozenset(w.lower() for w in data.latin_words)
        self._finals = tuple(sorted(data.fuzzy_finals, key=lambda p: -len(p[0])))
        self._initials = data.fuzzy_initials
        self._syllables = _syllables()
        self._max_syllable = max(len(s) for s in self._syllables)
        counts: Counter[str] = Counter()
        for word, n in vocabulary:
            counts[word] += n
        for word in data.targets:
            counts[word] += 1_000  # the domain's own words win a tie of sounds
        self.words = frozenset(w for w in counts if len(w) >= 2)
        # spelled pinyin ("qiandao") → best word, with the syllable boundaries inside it
        self._spelled: dict[str, tuple[str, frozenset[int]]] = {}
        # fuzzy sound key ("qian dao") → best word, for homophone typos
        self._sound: dict[str, str] = {}
        char_counts: Counter[str] = Counter()
        readings = _word_readings(sorted(w for w in self.words if _HAN_RUN.fullmatch(w)), cache)
        for word, n in counts.most_common():
            for ch in word:
                if _HAN_CHAR.fullmatch(ch):
                    char_counts[ch] += n
            if len(word) < 2 or not _HAN_RUN.fullmatch(word):
                continue
            syl = readings[word]
            if len(syl) != len(word):
                continue
            spelled = "".join(syl)
            if spelled not in self._spelled:
                cuts, pos = set(), 0
                for s in syl[:-1]:
                    pos += len(s)
                    cuts.add(pos)
                self._spelled[spelled] = (word, frozenset(cuts))
            if len(word) <= _MAX_WINDOW:
                self._sound.setdefault(self.sound_key([_char_pinyin(c) for c in word]), word)
        self._char_for: dict[str, str] = {}
        for ch, _ in char_counts.most_common():
            self._char_for.setdefault(_char_pinyin(ch), ch)

    @classmethod
    def load(
        cls,
        vocabulary: Iterable[tuple[str, int]],
        config_dir: Path = DEFAULT_CONFIG_DIR,
        cache: CacheDir | None = None,
    ) -> SpellingIndex:
        return cls(load_model(SpellingFile, config_dir / "spelling.yaml"), vocabulary, cache)

    # ------------------------------------------------------------- sounds
    def _fuzzy(self, syllable: str) -> str:
        for a, b in self._initials:
            if syllable.startswith(a):
                syllable = b + syllable[len(a) :]
                break
        for a, b in self._finals:
            if syllable.endswith(a):
                return syllable[: -len(a)] + b
        return syllable

    def sound_key(self, syllables: Iterable[str]) -> str:
        return " ".join(self._fuzzy(s) for s in syllables)

    # ------------------------------------------------------------ pinyin
    def _is_pinyin(self, chunk: str) -> bool:
        n = len(chunk)
        ok = [False] * (n + 1)
        ok[0] = True
        for i in range(n):
            if ok[i]:
                for j in range(i + 1, min(n, i + self._max_syllable) + 1):
                    if chunk[i:j] in self._syllables:
                        ok[j] = True
        return ok[n]

    def _pinyin_to_han(self, run: str) -> str | None:
        """Best Chinese reading of a latin run, or None when it is not pinyin."""
        chunks = [c for c in run.lower().replace("'", " ").split() if c]
        if not chunks or any(c in self._latin_known or not self._is_pinyin(c) for c in chunks):
            return None
        if len(chunks) == 1 and len(chunks[0]) < 2:
            return None
        s = "".join(chunks)
        forced: set[int] = set()
        pos = 0
        for c in chunks[:-1]:
            pos += len(c)
            forced.add(pos)
        n = len(s)
        inf = float("inf")
        best: list[tuple[float, str]] = [(inf, "")] * (n + 1)
        best[0] = (0.0, "")
        for i in range(n):
            cost_i, text_i = best[i]
            if cost_i == inf:
                continue
            for j in range(i + 1, n + 1):
                piece = s[i:j]
                entry = self._spelled.get(piece)
                if entry is not None:
                    word, cuts = entry
                    inner = {p - i for p in forced if i < p < j}
                    if inner <= cuts and cost_i + 1.0 < best[j][0]:
                        best[j] = (cost_i + 1.0, text_i + word)
                if j - i <= self._max_syllable and piece in self._syllables:
                    inner_forced = any(i < p < j for p in forced)
                    ch = self._char_for.get(piece)
                    if ch is not None and not inner_forced and cost_i + _CHAR_COST < best[j][0]:
                        best[j] = (cost_i + _CHAR_COST, text_i + ch)
        return best[n][1] if best[n][0] < inf else None

    def transliterate(self, text: str) -> str:
        """Pinyin runs replaced by Chinese (我要qiandao → 我要签到); other text unchanged."""

        def repl(m: re.Match[str]) -> str:
            han = self._pinyin_to_han(m.group(0))
            return han if han is not None else m.group(0)

        return _LATIN_RUN.sub(repl, text)

    # --------------------------------------------------------- homophones
    def correct(self, text: str, min_size: int = 2) -> str:
        """Unknown character runs that sound like a known word, replaced by it (取销 → 取消).

        `min_size=3` repairs only words of three or more characters (出琴率 →
        出勤率): two syllables often spell two real words (钱到 / 签到), three
        almost never do, so such a repair is safe even for a message that
        already looks understood.
        """
        return _HAN_RUN.sub(lambda m: self._correct_run(m.group(0), min_size), text)

    def _splits_word(self, run: str, start: int, end: int) -> bool:
        """A known word begins inside run[start:end] and runs past it (咋|绑定: 咋绑 is no 咋办).

        Repairing such a window would break a word that was typed right to mend one that
        was not there.
        """
        for j in range(start + 1, end):
            for k in range(end - j + 1, min(_MAX_WINDOW, len(run) - j) + 1):
                if run[j : j + k] in self.words:
                    return True
        return False

    def _correct_run(self, run: str, min_size: int = 2) -> str:
        out: list[str] = []
        i, n = 0, len(run)
        while i < n:
            for size in range(min(_MAX_WINDOW, n - i), 1, -1):
                window = run[i : i + size]
                if window in self.words:
                    out.append(window)
                    i += size
                    break
                if size < min_size:
                    continue
                word = self._sound.get(self.sound_key(_char_pinyin(c) for c in window))
                if word is not None and word != window and not self._splits_word(run, i, i + size):
                    out.append(word)
                    i += size
                    break
            else:
                out.append(run[i])
                i += 1
        return "".join(out)
