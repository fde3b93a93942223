"""Which articles of the Measures a question names ("第十七条说的啥", "17条讲的什么").

The search answers such a question from that article's entries only
(nlu/retrieval.py), so the numbering people type must map to the 第N条 of the text.
"""

from __future__ import annotations

import re

# "第十七条说的啥", "17条讲的什么": the article itself is named. Its entries are the
# only candidates; the rest of the question picks among them.
ARTICLE_MENTION = re.compile(r"第\s*([一二三四五六七八九十]{1,3}|\d{1,2})\s*条|(?<!\d)(\d{1,2})\s*条")
_DIGITS = "零一二三四五六七八九"


def article_numeral(n: int) -> str:
    """17 → 十七, 40 → 四十: the Measures number their articles in Han numerals."""
    tens, ones = divmod(n, 10)
    head = "" if tens == 0 else ("十" if tens == 1 else _DIGITS[tens] + "十")
    return head + (_DIGITS[ones] if ones else "")


def mentioned_articles(text: str) -> list[str]:
    """The articles a question names, as 第N条, in order."""
    out: list[str] = []
    for m in ARTICLE_MENTION.finditer(text):
        raw = m.group(1) or m.group(2)
        name = f"第{article_numeral(int(raw)) if raw.isdigit() else raw}条"
        if name not in out:
            out.append(name)
    return out
