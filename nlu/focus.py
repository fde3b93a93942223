"""The asking part of a long message, for the knowledge-base search.

Older people write a greeting, their situation and thanks around one question
("您好，打扰您了，我今年六十一了……还能不能参加政府补贴的培训，麻烦您给说说，谢谢了");
voice input runs clauses together. Over the whole message the question's words
are a small share of what was said, so no entry covers enough of it and the bot
says it does not know. When the whole message finds no answer, the clauses that
ask (alone, and with the clause before them, which often says whose case it is)
are searched on their own; the best covered wins.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import TypeVar

_CLAUSE_BREAK = re.compile(r"[\s，,。；;！!？?、]+")
# Words that ask wherever they stand in a clause, and endings that ask at its end.
_ASKING = re.compile(
    r"吗|么|啥|什么|怎|咋|多少|多久|多长|几|哪|谁|能不能|可不可以|是不是|有没有|会不会|行不行|给不给|还是"
)
_ASKING_END = re.compile(r"[不没]$")
# Shorter messages are searched whole only: a clause of them is too little to go on.
MIN_CHARS = 24
MIN_CLAUSE_CHARS = 4

T = TypeVar("T")


def asking_windows(text: str) -> Iterator[str]:
    """Each asking clause, then it with the clause before it; nothing for a short message."""
    if len(text) < MIN_CHARS:
        return
    clauses = [c for c in _CLAUSE_BREAK.split(text) if c]
    if len(clauses) < 2:
        return
    for i, clause in enumerate(clauses):
        if len(clause) < MIN_CLAUSE_CHARS:
            continue
        if _ASKING.search(clause) is None and _ASKING_END.search(clause) is None:
            continue
        yield clause
        if i > 0:
            yield clauses[i - 1] + "，" + clause


def best_of_windows(text: str, search: Callable[[str], T | None], score: Callable[[T], float]) -> T | None:
    """The best-scored answer any asking window of `text` finds, or None."""
    found = [a for a in (search(w) for w in asking_windows(text)) if a is not None]
    return max(found, key=score, default=None)
