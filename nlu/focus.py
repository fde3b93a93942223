"""The asking part of a long message, searched on its own.

A long polite message ("您好，我们村想组织乡亲去学厨师，大家积极性很高。请问一个补贴班
最多能收多少人？麻烦您了") spends most of its words on context and courtesy,
so the entry that answers covers only a small share of it and the search
says it does not know. The clause that asks, alone or with the clause
before it, is what an answer must cover; the knowledge base searches these
parts too (nlu/retrieval.py decides between them and the whole message).
"""

from __future__ import annotations

import re

from nlu.text import compact
from nlu.understand import CLAUSE, RUNON_TURNS

# A clause that asks: a question mark or word, or the A-not-A of 东北话 (给不给, 能…不).
_ASKS = re.compile(
    r"[吗么？?]|什么|啥|怎么|咋|多少|多久|多长|哪|几|谁|能不能|可不可以|有没有|是不是|要不要|会不会|"
    r"给不给|行不行|算不算|还是|如何|是否|不$|没$"
)
# Where unpunctuated speech turns to what it asks, besides the classifier's turns: a
# question word after the context ("…定点培训学校哪能查到名单").
_ASKING_TURN = re.compile(
    r"(?<=.{6})(?=哪能|哪里|在哪|上哪|去哪|怎么|咋|能不能|可不可以|有没有|是不是|多少|多久|什么时候|啥时候)"
)
# Shorter messages are searched whole only: their context is the question.
MIN_FOCUS_CHARS = 24


def focus_parts(text: str) -> list[str]:
    """Each asking clause alone and with the clause before it, and all asking clauses together."""
    whole = compact(text)
    if len(whole) < MIN_FOCUS_CHARS:
        return []
    # Clauses as the intent classifier cuts them: at any punctuation or space.
    clauses = [c for c in (m.group(0) for m in CLAUSE.finditer(text)) if compact(c)]
    if len(clauses) < 2:
        # Voice input without punctuation: cut where the speaker turns to the question, as
        # the intent classifier does ("…想学个手艺 请问…" / "…学完了那有没有补贴").
        clauses = [c for c in RUNON_TURNS.split(whole) if len(c) >= 2]
    if len(clauses) < 2:
        clauses = [c for c in _ASKING_TURN.split(whole) if len(c) >= 2]
    if len(clauses) < 2:
        return []
    asking = [i for i, c in enumerate(clauses) if _ASKS.search(c)]
    parts: list[str] = []
    for i in asking:
        parts.append(clauses[i])
        if i > 0:
            parts.append(clauses[i - 1] + "，" + clauses[i])
    if len(asking) > 1:
        parts.append("，".join(clauses[i] for i in asking))
    return [p for p in dict.fromkeys(parts) if compact(p) != whole]
