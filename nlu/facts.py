"""Profile facts said in passing, from any message: age, sex, work, household, groups, pension …

People do not wait for the question: "俺闺女十六，中考完没再上学，家是农村的"
already answers three. The engine runs this reader on every message (in or
out of a flow) and puts the result on the `Context`, so the eligibility
screening can take what was said and ask only what is still open.

Negation is the point: "哪有退休金啊", "木有养老金", "不是农村户口" say *no*,
and a word inside a negated phrase never counts as its positive. A clause
that asks ("两后生是啥意思", "有退休金吗") states nothing. Word lists are data
(`config/nlu/facts.yaml`); numbers go through cn2an (`nlu.numbers`), years
through `nlu.answers.parse_year`, key groups through the same finder as the
NLU (`nlu.groups`, `config/nlu/groups.yaml`) plus a few spoken forms.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from nlu.answers import parse_year
from nlu.config import DEFAULT_CONFIG_DIR, GroupFile, load_model
from nlu.facts_age import NUM, AgeReader, birth_year_in
from nlu.facts_words import FACTS_FILE, FactWords
from nlu.groups import GroupFinder
from nlu.numbers import cn_to_number
from nlu.text import for_matching

_NOT_QUESTION_ME = re.compile(r"[什这那多怎]么")
_CLAUSE = re.compile(r"[^，,。.！!？?；;、\s~～]+")


@dataclass(frozen=True, slots=True)
class Facts:
    """What one message says about the person; None / () is "not said", never "no"."""

    age: tuple[int, int] | None = None  # lowest and highest age meant ("二十出头" → 20–23)
    birth_year: int | None = None
    sex: str | None = None  # "male" / "female"
    employment: str | None = None
    groups: tuple[str, ...] = ()
    household: str | None = None
    graduation_year: int | None = None
    employed_since_graduation: bool | None = None
    reached_retirement_age: bool | None = None
    receives_pension: bool | None = None
    ability_assessed: bool | None = None
    first_evaluation_this_year: bool | None = None
    correction: bool = False  # "说错了…": these facts replace earlier ones
    asks: bool = False  # some clause is a question ("两后生是啥意思"): maybe no answer at all
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def __bool__(self) -> bool:
        return bool(self.as_dict())

    def as_dict(self) -> dict[str, Any]:
        """The facts that were said (age as [lo, hi], groups as a list), for tests and logs."""
        out: dict[str, Any] = {}
        for f in fields(self):
            if f.name in ("correction", "asks", "extra"):
                continue
            value = getattr(self, f.name)
            if value is None or value == ():
                continue
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    def profile(self) -> dict[str, Any]:
        """The contract profile fields among the facts (groups only when some were named)."""
        names = (
            "employment",
            "household",
            "graduation_year",
            "employed_since_graduation",
            "reached_retirement_age",
            "receives_pension",
            "ability_assessed",
            "first_evaluation_this_year",
        )
        return {n: getattr(self, n) for n in names if getattr(self, n) is not None}


NO_FACTS = Facts()


def _longest_first(words: tuple[str, ...] | list[str]) -> list[str]:
    return sorted({w.lower() for w in words}, key=len, reverse=True)


class FactReader:
    def __init__(self, words: FactWords, groups: GroupFile) -> None:
        self.w = words
        merged = {gid: (*phrases, *words.extra_groups.get(gid, ())) for gid, phrases in groups.groups.items()}
        qmarks = (*groups.question_markers, *words.question_markers, *words.unsure_markers)
        self._groups = GroupFinder(
            GroupFile(negation_prefixes=groups.negation_prefixes, question_markers=qmarks, groups=merged)
        )
        self._neg = _longest_first(words.negations)
        self._rhetorical = _longest_first(words.rhetorical)
        self._ages = AgeReader(words)
        emp = words.employment
        self._employment = [
            (w, v)
            for v, ws in (
                ("employed", emp.employed),
                ("unemployed", emp.unemployed),
                ("flexible", emp.flexible),
                ("student", emp.student),
            )
            for w in ws
        ]
        self._employment.sort(key=lambda p: len(p[0]), reverse=True)
        hh = words.household
        self._household = sorted(
            [(w, "rural") for w in hh.rural] + [(w, "urban") for w in hh.urban],
            key=lambda p: len(p[0]),
            reverse=True,
        )

    # -- helpers -------------------------------------------------------------

    def _negated(self, clause: str, start: int) -> bool:
        before = clause[max(0, start - self.w.negation_window) : start]
        return any(n in before for n in self._neg)

    def _asks(self, clause: str) -> bool:
        """A clause that asks, or says it does not know: it states no fact."""
        return self._question(clause) or any(u in clause for u in self.w.unsure_markers)

    def _question(self, clause: str) -> bool:
        # 么 asks ("有退休金么"), but not inside 什么/这么/那么 ("没做过什么评估").
        # "可不咋的" / "可不是吗" ask nothing: a rhetorical yes is left out before looking.
        for phrase in self._rhetorical:
            clause = clause.replace(phrase, " ")
        bare = _NOT_QUESTION_ME.sub("", clause)
        return any(q in bare for q in self.w.question_markers) or any(
            q in clause for q in self.w.question_markers if len(q) > 1
        )

    @staticmethod
    def _find_all(clause: str, table: list[tuple[str, str]]) -> list[tuple[int, str, str]]:
        """Non-overlapping (start, word, value) matches, longest words first."""
        taken = [False] * len(clause)
        out = []
        for word, value in table:
            start = clause.find(word)
            while start >= 0:
                end = start + len(word)
                if not any(taken[start:end]):
                    taken[start:end] = [True] * len(word)
                    out.append((start, word, value))
                start = clause.find(word, start + 1)
        out.sort()
        return out

    # -- reading -------------------------------------------------------------

    def read(self, text: str, today: date) -> Facts:
        t = for_matching(text or "")
        clauses = [m.group(0) for m in _CLAUSE.finditer(t)]
        if not clauses:
            return NO_FACTS
        group_matches = self._groups.find(t)
        group_spans = [(g.start, g.end) for g in group_matches]
        groups = list(dict.fromkeys(g.group for g in group_matches))
        if "two_after" not in groups and self._two_after(t):
            groups.append("two_after")
        grad_msg = any(
            self.w.graduation.word in c and not any(n in c for n in self.w.graduation.not_college)
            for c in clauses
        )
        employment, since = self._work(t, group_spans, grad_msg)
        birth_year = birth_year_in(t, today)
        return Facts(
            age=self._ages.age(t, clauses, has_birth=birth_year is not None),
            birth_year=birth_year,
            sex=self._sex(clauses),
            employment=employment,
            groups=tuple(groups),
            household=self._household_of(t, group_spans),
            graduation_year=self._graduation(clauses, today),
            employed_since_graduation=since,
            reached_retirement_age=self._retired(clauses),
            receives_pension=self._pension(clauses),
            ability_assessed=self._assessed(clauses),
            first_evaluation_this_year=self._first_evaluation(t, clauses),
            correction=any(c in t for c in self.w.corrections),
            asks=any(self._question(c) for c in clauses),
        )

    def _sex(self, clauses: list[str]) -> str | None:
        sex_w = self.w.sex
        table = [(w, "male") for w in sex_w.male] + [(w, "female") for w in sex_w.female]
        table.sort(key=lambda p: len(p[0]), reverse=True)
        found = None
        for c in clauses:
            if c in sex_w.bare:
                found = sex_w.bare[c]
                continue
            for start, _, value in self._find_all(c, table):
                if not self._negated(c, start):
                    found = value
        return found

    def _work(
        self, t: str, group_spans: list[tuple[int, int]], grad_msg: bool
    ) -> tuple[str | None, bool | None]:
        """Employment now, and (in a message about graduating) work since graduation.

        A word inside a group's name is the group, not work: 大学生 is a
        graduate, not a student.
        """
        emp_w, since_w = self.w.employment, self.w.since_graduation
        strong: str | None = None
        weak = False
        since: bool | None = None
        since_table = [(w, "true") for w in since_w.employed] + [(w, "false") for w in since_w.not_employed]
        since_table.sort(key=lambda p: len(p[0]), reverse=True)
        for m in _CLAUSE.finditer(t):
            c, offset = m.group(0), m.start()
            if self._asks(c):
                continue
            if grad_msg and any(mk in c for mk in since_w.markers):
                for start, _, value in self._find_all(c, since_table):
                    positive = value == "true" and not self._negated(c, start)
                    since = positive if value == "true" else False
                continue
            for start, word, value in self._find_all(c, self._employment):
                inside = value == "student" and any(a <= offset + start < b for a, b in group_spans)
                negated = not any(word.startswith(n) for n in self._neg) and self._negated(c, start)
                if not negated and not inside:
                    strong = value
            if any(w in c for w in emp_w.weak_unemployed):
                weak = True
        if strong is None and weak:
            strong = "unemployed"
        return strong, since

    def _two_after(self, t: str) -> bool:
        ta = self.w.two_after
        for school in ta.school:
            start = t.find(school)
            while start >= 0:
                window = t[start + len(school) : start + len(school) + ta.window]
                if any(stop in window for stop in ta.stop):
                    return True
                start = t.find(school, start + 1)
        return False

    def _household_of(self, t: str, group_spans: list[tuple[int, int]]) -> str | None:
        hh = self.w.household
        said: str | None = None
        denied: str | None = None
        offset = 0
        for m in _CLAUSE.finditer(t):
            c, offset = m.group(0), m.start()
            if self._asks(c):
                continue
            for start, word, value in self._find_all(c, self._household):
                pos = offset + start
                if any(a <= pos < b for a, b in group_spans):
                    continue  # part of a group's name: 城市低保, 农村转移就业
                after = c[start + len(word) : start + len(word) + 3]
                if any(after.startswith(x) for x in hh.not_before):
                    continue
                if self._negated(c, start):
                    denied = value
                else:
                    said = value
            if said is None and any(h in c for h in hh.hukou_words):
                if any(w in c for w in hh.rural_with_hukou) and not self._negated_word(
                    c, hh.rural_with_hukou
                ):
                    said = "rural"
                elif any(w in c for w in hh.urban_with_hukou):
                    said = "urban"
        if said is None and denied is not None:
            return hh.opposite[denied]
        return said

    def _negated_word(self, clause: str, words: tuple[str, ...]) -> bool:
        return any(w in clause and self._negated(clause, clause.find(w)) for w in words)

    def _graduation(self, clauses: list[str], today: date) -> int | None:
        g = self.w.graduation
        for c in clauses:
            if g.word not in c or any(n in c for n in g.not_college) or any(n in c for n in g.not_graduated):
                continue
            year = parse_year(c, today)
            if year is None:
                ago = re.search(rf"{g.word}{NUM}年(?:了|多|啦)", c)
                n = cn_to_number(ago.group(1)) if ago and not ago.group(1).isdigit() else None
                n = int(ago.group(1)) if ago and ago.group(1).isdigit() else n
                year = today.year - int(n) if n is not None else None
            if year is not None:
                return year
        return None

    def _pension(self, clauses: list[str]) -> bool | None:
        p = self.w.pension
        result: bool | None = None
        for i, c in enumerate(clauses):
            if any(n in c for n in p.negative) or (
                any(x in c for x in p.insurance) and any(x in c for x in p.not_paid)
            ):
                result = False
                continue
            topic = next(((c.find(x), x) for x in _longest_first(p.topics) if x in c), None)
            if topic is None:
                continue
            start, word = topic
            nxt = clauses[i + 1] if i + 1 < len(clauses) else ""
            if nxt.rstrip("啊呀啦呢吧嘛哦") in p.denials or nxt in p.denials:
                result = False
                continue
            if any(r in c for r in p.residents):
                result = False
                continue
            if self._asks(c):
                continue
            after = c[start + len(word) :]
            if self._negated(c, start) or any(n in after for n in p.negative_after):
                result = False
            elif any(v in c for v in ("领", "有", "拿", "发")) or any(a in after for a in p.amount):
                result = True
        return result

    def _retired(self, clauses: list[str]) -> bool | None:
        r = self.w.retirement
        result: bool | None = None
        for c in clauses:
            start = c.find(r.topic)
            if start < 0 or self._asks(c):
                continue
            after = c[start + len(r.topic) :]
            if any(after.startswith(x) for x in r.not_topic_after):
                continue
            if self._negated(c, start):
                result = False
            elif any(x in c for x in r.reached):
                result = True
        return result

    def _assessed(self, clauses: list[str]) -> bool | None:
        a = self.w.assessment
        result: bool | None = None
        for c in clauses:
            start = c.find(a.topic)
            if start < 0 or self._asks(c):
                continue
            after = c[start + len(a.topic) :]
            if any(n in c[:start] for n in self._neg) or any(n in after for n in self._neg):
                result = False
            elif any(d in c for d in a.done):
                result = True
        return result

    def _first_evaluation(self, t: str, clauses: list[str]) -> bool | None:
        e = self.w.evaluation
        if e.year not in t:
            return None
        result: bool | None = None
        for c in clauses:
            if not any(x in c for x in e.topics) or self._asks(c):
                continue
            if any(x in c for x in e.first):
                result = True
            elif any(x in c for x in e.not_first):
                result = False
        return result


@lru_cache(maxsize=4)
def _reader(config_dir: Path = DEFAULT_CONFIG_DIR) -> FactReader:
    words = load_model(FactWords, config_dir / FACTS_FILE.name)
    groups = load_model(GroupFile, config_dir / "groups.yaml")
    return FactReader(words, groups)


def read_facts(text: str, today: date) -> Facts:
    """The profile facts `text` states, as of `today` (for 去年毕业, 二十出头 …)."""
    return _reader().read(text, today)
