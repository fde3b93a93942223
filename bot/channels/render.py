"""Replies as each messenger shows them.

WeChat text has no buttons: one turn's replies become one message, and the
choices a number can answer (the last ones offered, which the engine keeps
as `last_choices`) are a numbered list at the end. Telegram shows each reply
as its own message with an inline keyboard (see `telegram_api.inline_keyboard`).
Both platforms cap the length of one message, so long texts are split at
line breaks.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.texts import Texts
from handlers.base import Reply


def merge_for_wechat(replies: Sequence[Reply], texts: Texts) -> tuple[str, list[str]]:
    """(body, numbered choices) of one turn: earlier choices stay as words, the last ones get numbers."""
    last = max((i for i, r in enumerate(replies) if r.choices), default=-1)
    parts = []
    for i, reply in enumerate(replies):
        lines = [reply.text]
        if reply.choices and i != last:
            lines += [texts.get("channels.other_choice_line", label=c) for c in reply.choices]
        parts.append("\n".join(lines))
    return "\n\n".join(p for p in parts if p), list(replies[last].choices) if last >= 0 else []


def wechat_text(body: str, choices: Sequence[str], texts: Texts) -> str:
    if not choices:
        return body
    lines = [body, texts.get("channels.choices_hint")] if body else [texts.get("channels.choices_hint")]
    lines += [texts.get("channels.choice_line", number=n, label=c) for n, c in enumerate(choices, 1)]
    return "\n".join(lines)


def split_text(text: str, limit: int, *, measure: str = "chars") -> list[str]:
    """Pieces no longer than `limit` (characters, or UTF-8 bytes), cut at line breaks where possible."""

    def size(s: str) -> int:
        return len(s.encode()) if measure == "bytes" else len(s)

    if size(text) <= limit:
        return [text]
    pieces: list[str] = []
    current = ""
    for line in text.split("\n"):
        candidate = f"{current}\n{line}" if current else line
        if size(candidate) <= limit:
            current = candidate
            continue
        if current:
            pieces.append(current)
        while size(line) > limit:  # one line longer than the limit: cut it by characters
            cut = len(line)
            while size(line[:cut]) > limit:
                cut = max(1, cut * limit // max(size(line[:cut]), 1) - 1)
            pieces.append(line[:cut])
            line = line[cut:]
        current = line
    if current:
        pieces.append(current)
    return pieces
