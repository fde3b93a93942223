"""User-facing texts, loaded from `config/messages/*.yaml`.

Every Chinese sentence the bot says lives there, in one place to review and
translate. Keys are dotted: the file name, then the path inside it
(`menu.welcome` is `welcome` in `menu.yaml`).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from bot import yaml_io
from bot.settings import CONFIG_DIR

MESSAGES_DIR = CONFIG_DIR / "messages"


class Texts:
    def __init__(self, tree: dict[str, Any]) -> None:
        self._tree = tree

    @classmethod
    def load(cls, directory: Path = MESSAGES_DIR) -> Texts:
        tree: dict[str, Any] = {}
        for path in sorted(directory.glob("*.yaml")):
            tree[path.stem] = yaml_io.safe_load(path.read_text(encoding="utf-8")) or {}
        return cls(tree)

    def raw(self, key: str) -> Any:
        """The value at a dotted key (a string, a list of labels, a mapping)."""
        node: Any = self._tree
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                raise KeyError(f"no message text {key!r} in config/messages")
            node = node[part]
        return node

    def get(self, key: str, **fmt: Any) -> str:
        value = self.raw(key)
        if isinstance(value, list):
            value = "\n".join(str(v) for v in value)
        text = str(value)
        return text.format(**fmt) if fmt else text

    def has(self, key: str) -> bool:
        try:
            self.raw(key)
        except KeyError:
            return False
        return True


@lru_cache(maxsize=1)
def get_texts() -> Texts:
    return Texts.load()
