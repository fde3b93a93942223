"""jieba word segmentation with the domain dictionary, cached under our data dir.

We drive jieba's prefix dictionary ourselves instead of letting it initialise
lazily: jieba would write its cache to the system temp dir (shared, maybe
read-only) and print a stack trace when that fails. Here the dictionary is
built once, stored atomically in the NLU cache directory and read back as
bytes (`marshal.loads` on a buffer is several times faster than jieba's
`marshal.load` on the file object). The domain words are added afterwards;
that takes milliseconds and keeps the cache independent of their edits.
"""

from __future__ import annotations

import hashlib
import logging
import marshal
from pathlib import Path

import jieba

from nlu.cache import CacheDir

log = logging.getLogger(__name__)


# jieba's bundled main dictionary (we never point jieba at another one).
MAIN_DICT = Path(jieba.__file__).resolve().parent / jieba.DEFAULT_DICT_NAME


def _dict_cache_name() -> str:
    source = MAIN_DICT
    stat = source.stat()
    key = f"{jieba.__version__}:{source}:{stat.st_size}:{int(stat.st_mtime)}"
    return f"jieba-{hashlib.sha256(key.encode()).hexdigest()[:12]}.marshal"


def _load_prefix_dict(tk: jieba.Tokenizer, cache: CacheDir) -> bool:
    """Fill the tokenizer's prefix dictionary; True when it came from the cache."""
    name = _dict_cache_name()
    path = cache.find(name)
    if path is not None:
        try:
            freq, total = marshal.loads(path.read_bytes())
            if isinstance(freq, dict) and isinstance(total, int) and freq:
                tk.FREQ, tk.total = freq, total
                tk.initialized = True
                return True
        except (OSError, EOFError, ValueError, TypeError) as exc:
            log.warning("ignoring unreadable jieba cache %s: %s", path, exc)
    with MAIN_DICT.open("rb") as fh:
        tk.FREQ, tk.total = tk.gen_pfdict(fh)
    tk.initialized = True
    cache.write_bytes(name, marshal.dumps((tk.FREQ, tk.total)))
    return False


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
        self.from_cache = _load_prefix_dict(self._tk, cache)
        self.domain_words = load_domain_words(user_dict)
        for word, freq in self.domain_words:
            self._tk.add_word(word, freq)

    def cut(self, text: str) -> list[str]:
        """Words of `text`, whitespace dropped."""
        return [w for w in self._tk.lcut(text) if not w.isspace()]

    def cut_for_search(self, text: str) -> list[str]:
        """Words plus their dictionary sub-words (退役军人 → 退役, 军人, 退役军人): better recall."""
        return [w for w in self._tk.lcut_for_search(text) if not w.isspace()]
