"""jieba's prefix dictionary stored by first character, each character's words read when needed.

The whole dictionary is some 500,000 words and prefixes; reading it with marshal
took about 0.3 s of every warm start (issue 17) and most of it is never looked at.
Every key jieba looks up while segmenting a text is a substring of that text
(`get_DAG`, `calc`, the HMM buffer in `__cut_DAG`, `cut_for_search`'s grams), so it
begins with one of the text's characters. Loading those characters' entries before
jieba runs therefore leaves it exactly the dictionary it would have had whole.

The file holds the dictionary as it is *after* the domain words were added
(`add_word` sets their frequencies, the total and any missing prefixes), so a warm
start adds nothing; its name carries a digest of the domain words. A checksum over
the body is verified when the file is read, so damage means a rebuild at start,
never a failed lookup in the middle of a turn.
"""

from __future__ import annotations

import marshal
import struct
import zlib
from collections.abc import Iterable

MAGIC = b"jieba-buckets-1\n"
_LENGTH = struct.Struct("<Q")


def pack(freq: dict[str, int], total: int) -> bytes:
    """The file: magic, header length, header (total, {char: (offset, length)}, crc32), body."""
    buckets: dict[str, dict[str, int]] = {}
    for word, count in freq.items():
        buckets.setdefault(word[0], {})[word] = count
    index: dict[str, tuple[int, int]] = {}
    blobs: list[bytes] = []
    offset = 0
    for char, words in buckets.items():
        blob = marshal.dumps(words)
        index[char] = (offset, len(blob))
        blobs.append(blob)
        offset += len(blob)
    body = b"".join(blobs)
    header = marshal.dumps((total, index, zlib.crc32(body)))
    return MAGIC + _LENGTH.pack(len(header)) + header + body


class BucketFile:
    """A read bucket file: the total at once, each character's entries on `fill`."""

    def __init__(self, data: bytes) -> None:
        """Raises ValueError when `data` is not a whole, undamaged bucket file."""
        if not data.startswith(MAGIC) or len(data) < len(MAGIC) + _LENGTH.size:
            raise ValueError("not a jieba bucket file")
        (size,) = _LENGTH.unpack_from(data, len(MAGIC))
        start = len(MAGIC) + _LENGTH.size
        try:
            total, index, crc = marshal.loads(data[start : start + size])
        except (EOFError, TypeError) as exc:
            raise ValueError(f"unreadable header: {exc}") from exc
        body = memoryview(data)[start + size :]
        if zlib.crc32(body) != crc:
            raise ValueError("checksum mismatch")
        if not (isinstance(total, int) and isinstance(index, dict) and index):
            raise ValueError("header is not (total, index, crc)")
        for char, span in index.items():
            if not (
                isinstance(char, str)
                and isinstance(span, tuple)
                and len(span) == 2
                and 0 <= span[0] <= span[0] + span[1] <= len(body)
            ):
                raise ValueError(f"bad index entry {char!r}")
        self.total: int = total
        self._pending: dict[str, tuple[int, int]] = index
        self._body = body

    def fill(self, freq: dict[str, int], text: Iterable[str]) -> None:
        """Add to `freq` the entries of each character of `text` not added yet."""
        for char in self._pending.keys() & text:
            offset, length = self._pending[char]
            freq.update(marshal.loads(self._body[offset : offset + length]))
            del self._pending[char]  # after the update: a lookup never sees it half-loaded

    def pending(self) -> int:
        """How many characters' entries are still unread."""
        return len(self._pending)
