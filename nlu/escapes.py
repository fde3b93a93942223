"""Escapes said inside a sentence: a person, stop, the menu.

"转人工" alone was always understood; "算了，帮我找个工作人员吧" or "你这个机器人
说不明白我还是想找个人工客服" was not, and inside a flow such a message was
read as a (wrong) answer and the same question came again. An escape is
recognised when one clause of the message is a global command (算了, 退出,
菜单 …) or when an escape pattern of `config/nlu/commands.yaml` matches
anywhere. Several escapes: the one nearest the end wins ("算了，找个人工吧" is a
request for a person). A stop inside a question ("不办了能退钱吗") is a
question about stopping, not a stop.
"""

from __future__ import annotations

import re

from nlu.classifier import CommandTable
from nlu.config import CommandFile
from nlu.text import compact

_CLAUSE = re.compile(r"[^\s，,。.！!？?；;、~～…]+")
_QUESTION = re.compile(r"[吗嘛？?]|能不能|可不可以|是不是|会不会|怎么|为什么|为啥")
_STOPS = frozenset({"cancel"})


class EscapeFinder:
    def __init__(self, commands: CommandFile, table: CommandTable) -> None:
        self._table = table
        self._patterns = tuple(
            (intent, re.compile(p)) for intent, patterns in commands.escapes.items() for p in patterns
        )

    def find(self, text: str) -> str | None:
        """`cancel`, `human_agent` or `help` when the message asks for one, else None."""
        whole = self._table.global_command(text)
        if whole is not None:
            return whole
        question = _QUESTION.search(text) is not None
        found: list[tuple[int, str]] = []
        for m in _CLAUSE.finditer(text):
            intent = self._table.global_command(m.group(0))
            if intent is not None and compact(m.group(0)):
                found.append((m.end(), intent))
        for intent, pattern in self._patterns:
            for m in pattern.finditer(text):
                found.append((m.end(), intent))
        found = [(end, i) for end, i in found if not (question and i in _STOPS)]
        if not found:
            return None
        return max(found, key=lambda f: f[0])[1]
