"""The key groups of 第十二条 as people name themselves (退伍的, 贫困户, 农民工 …).

A mention only counts when it is affirmed: "我不是退伍军人", "没当过兵" and
"不知道算不算低保户" name a group without claiming it, so they yield nothing
(the eligibility flow then asks). Synonyms and the negation/question markers
are data in `config/nlu/groups.yaml`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from nlu.config import GroupFile

# Text between a negation word and the group phrase that keeps the negation
# in force: "不是[一个]退伍军人", "没[当过]兵".
_BRIDGE = r"(?:是|算|属于|当过?|做过?|有过?|办过?|拿过?|在|为|过|个|一个|名|一名|的)*"
_CLAUSE_BREAK = re.compile(r"[，,。.！!？?；;、\s]")


@dataclass(frozen=True, slots=True)
class GroupMatch:
    group: str
    start: int
    end: int


class GroupFinder:
    def __init__(self, data: GroupFile) -> None:
        self._phrase_group: dict[str, str] = {}
        for group, phrases in data.groups.items():
            for phrase in phrases:
                self._phrase_group[phrase.lower()] = group
        phrases = sorted(self._phrase_group, key=len, reverse=True)
        self._re = re.compile("|".join(re.escape(p) for p in phrases))
        negs = "|".join(re.escape(n) for n in sorted(data.negation_prefixes, key=len, reverse=True))
        self._negated = re.compile(rf"(?:{negs}){_BRIDGE}$")
        self._question = [q for q in data.question_markers]

    def find(self, text: str) -> list[GroupMatch]:
        """Affirmed group mentions, in order; `text` should be width-folded and lower-cased."""
        out: list[GroupMatch] = []
        for m in self._re.finditer(text):
            clause_start = 0
            for brk in _CLAUSE_BREAK.finditer(text, 0, m.start()):
                clause_start = brk.end()
            before = text[clause_start : m.start()]
            if self._negated.search(before):
                continue
            clause_end_m = _CLAUSE_BREAK.search(text, m.end())
            clause = text[clause_start : clause_end_m.start() if clause_end_m else len(text)]
            if any(q in clause for q in self._question):
                continue
            out.append(GroupMatch(self._phrase_group[m.group(0)], m.start(), m.end()))
        return out
