"""jieba word segmentation with the domain dictionary, cached under our data dir.

We drive jieba's prefix dictionary ourselves instead of letting it initialise
lazily: jieba would write its cache to the system temp dir (shared, maybe
read-only) and print a stack trace when that fails. Here the dictionary, with
the domain words already added, is built once, stored atomically in the NLU
cache directory by first character (`nlu.jieba_buckets`) and read back one
character's words at a time, just before a text with that character is cut:
a warm start no longer reads half a million entries it mostly never uses.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import jieba

from nlu.cache import CacheDir
from nlu.jieba_buckets import BucketFile, pack

log = logging.getLogger(__name__)


# jieba's bundled main dictionary (we never point jieba at another one).
MAIN_DICT = Path(jieba.__file__).resolve().parent / jieba.DEFAULT_DICT_NAME


def _dict_cache_name(domain_words: list[tuple[str, int | None]]) -> str:
    """Keyed by jieba's dictionary file and by the domain words, which the file includes."""
    source = MAIN_DICT
    stat = source.stat()
    key = f"{jieba.__version__}:{source}:{stat.st_size}:{int(stat.st_mtime)}:{domain_words!r}"
    return f"jieba-buckets-{hashlib.sha256(key.encode()).hexdigest()[:12]}.bin"


def _load_prefix_dict(
    tk: jieba.Tokenizer, cache: CacheDir, domain_words: list[tuple[str, int | None]]
) -> BucketFile | None:
    """Set up the tokenizer's prefix dictionary with the domain words in it.

    Returns the cache file to fill it from as texts come, or None when the cache
    could not be read: the dictionary was then built whole (and the file written).
    """
    name = _dict_cache_name(domain_words)
    path = cache.find(name)
    if path is not None:
        try:
            buckets = BucketFile(path.read_bytes())
        except (OSError, ValueError) as exc:
            log.warning("ignoring unreadable jieba cache %s: %s", path, exc)
        else:
            tk.FREQ, tk.total = {}, buckets.total
            tk.initialized = True
            for word, freq in domain_words:
                if freq == 0:  # what add_word does besides the dictionary: never one word
                    jieba.finalseg.add_force_split(word)
            return buckets
    with MAIN_DICT.open("rb") as fh:
        tk.FREQ, tk.total = tk.gen_pfdict(fh)
    tk.initialized = True
    for word, freq in domain_words:
        tk.add_word(word, freq)
    if cache.write_bytes(name, pack(tk.FREQ, tk.total)) is not None:
        cache.prune("jieba-", keep=name)
    return None


def load_domain_words(path: Path) -> list[tuple[str, int | None]]:
    """Entries of the domain dictionary: `word [freq]` per line, `#` comments allowed."""
    words: list[tuple[str, int | None]] = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        freq = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
        words.append((parts[0], freq))
    return words


class Tokenizer:
    """A private jieba tokenizer: no global state, no writes outside the cache dir."""

    def __init__(self, cache: CacheDir, user_dict: Path) -> None:
        self._tk = jieba.Tokenizer()
        self._tk.tmp_dir = str(cache.primary)
        self.domain_words = load_domain_words(user_dict)
        self._buckets = _load_prefix_dict(self._tk, cache, self.domain_words)
        self.from_cache = self._buckets is not None

    def _fill(self, text: str) -> None:
        """The dictionary entries of the text's characters, before jieba looks any up."""
        if self._buckets is not None:
            self._buckets.fill(self._tk.FREQ, text)

    def cut(self, text: str) -> list[str]:
        """Words of `text`, whitespace dropped."""
        self._fill(text)
        return [w for w in self._tk.lcut(text) if not w.isspace()]

    def cut_for_search(self, text: str) -> list[str]:
        """Words plus their dictionary sub-words (退役军人 → 退役, 军人, 退役军人): better recall."""
        self._fill(text)
        return [w for w in self._tk.lcut_for_search(text) if not w.isspace()]
