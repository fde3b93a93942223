"""`python -m nlu evaluate-rules`: how many held-out rule questions get the right answer.

A question counts as answered right when the answer the bot would give
(`NLU.answer_question`, the same call the conversation makes) cites the
expected article and contains every expected fact. The list is written
before the knowledge base was tuned and kept out of its phrasings
(tests/nlu/data/rules_heldout.yaml), so the figure is an estimate of how the
bot does on questions nobody wrote down for it.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import Field

from bot.config_file import StrictModel, load_yaml
from nlu.core import NLU

HELDOUT = Path(__file__).resolve().parent.parent / "tests" / "nlu" / "data" / "rules_heldout.yaml"


class RuleQuestion(StrictModel):
    q: str
    article: str
    fact: tuple[str, ...] = Field(min_length=1)


class RuleQuestionFile(StrictModel):
    questions: tuple[RuleQuestion, ...] = Field(min_length=1)


@dataclass
class RulesReport:
    total: int = 0
    right: int = 0
    misses: list[str] = field(default_factory=list)

    @property
    def share(self) -> float:
        return self.right / self.total if self.total else 0.0


def says(text: str, fact: str) -> bool:
    """Whether the answer states the fact: the Measures write digits full-width (１０个工作日),
    answers may not, and either is the same fact to a reader."""
    return unicodedata.normalize("NFKC", fact) in unicodedata.normalize("NFKC", text)


def answered_right(nlu: NLU, question: RuleQuestion) -> tuple[bool, str]:
    """Whether the first answer is right, and what it was (for the report)."""
    answer = nlu.answer_question(question.q)
    if answer is None:
        match = nlu.match_question(question.q)
        best = f"{match.entry.id} {match.entry.article} coverage {match.coverage:.2f}" if match else "nothing"
        return False, f"no answer (best: {best})"
    ok = answer.article.startswith(question.article) and all(says(answer.text, f) for f in question.fact)
    return ok, f"{answer.entry_id} {answer.article}: {answer.text}"


def evaluate_rules(nlu: NLU, path: Path = HELDOUT) -> RulesReport:
    report = RulesReport()
    for question in load_yaml(RuleQuestionFile, path).questions:
        ok, said = answered_right(nlu, question)
        report.total += 1
        if ok:
            report.right += 1
        else:
            want = f"{question.article} {'/'.join(question.fact)}"
            report.misses.append(f"{question.q}  (want {want})  → {said}")
    return report


def format_rules_report(report: RulesReport) -> str:
    lines = [
        f"held-out rule questions answered right: {report.right}/{report.total} ({report.share:.1%})",
        *(f"  miss: {m}" for m in report.misses),
    ]
    return "\n".join(lines)
