"""Reading free answers to the screening questions (退伍的, 去年毕业的, 没有, 不清楚 …).

The NLU helpers (`nlu.answers`) read yes/no, groups and years; the words for
each question's own values (上班, 打零工, 农村 …) and the flow's commands are
data in `config/messages/eligibility.yaml`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from typing import Any

from bot.policy import get_policy
from handlers.base import Context
from nlu.answers import UNRECOGNISED, parse_group, parse_year, yes_no
from nlu.text import compact, fold_width

BOOL_FIELDS = (
    "employed_since_graduation",
    "reached_retirement_age",
    "receives_pension",
    "ability_assessed",
    "first_evaluation_this_year",
)
# Several choice numbers in one message ("1、3"): multi-select by number.
_NUMBER_LIST = re.compile(r"^\s*\d{1,2}(?:\s*[,，、和\s]\s*\d{1,2})+\s*$")
_CLAUSE = re.compile(r"[，,。.！!？?；;、\s]+")


class Miss(Enum):
    """An answer that answers nothing (yet)."""

    NOT_UNDERSTOOD = "not_understood"
    EARLIER = "earlier"  # graduation year "更早": ask for the exact year


def question_texts(ctx: Context, field: str) -> dict[str, Any]:
    """One question's wording, buttons and answer words (config, so wording is edited without code)."""
    cfg: dict[str, Any] = ctx.services.texts.raw(f"eligibility.questions.{field}")
    return cfg


def _particle_free(ctx: Context, text: str) -> str:
    particles: str = ctx.services.texts.raw("eligibility.particles")
    return compact(text).rstrip(particles)


def _is_word(ctx: Context, text: str, words: list[str]) -> bool:
    t, bare = compact(text), _particle_free(ctx, text)
    wanted = {compact(w) for w in words}
    return t in wanted or bare in wanted


def command(ctx: Context) -> str | None:
    """The flow's own commands (上一步, 重新开始, 为什么问这个 …), matched as whole messages."""
    commands: dict[str, list[str]] = ctx.services.texts.raw("eligibility.commands")
    for name, words in commands.items():
        if _is_word(ctx, ctx.text, words):
            return name
    return None


def match_words(ctx: Context, text: str, table: dict[str, list[str]]) -> str | None:
    """The value whose words the answer uses, longest word first, negated mentions skipped.

    When an answer names two values ("以前上班，现在没工作"), the one said last wins:
    people end with how things are now.
    """
    negations: list[str] = ctx.services.texts.raw("eligibility.negations")
    window: int = ctx.services.texts.raw("eligibility.negation_window")
    pairs = sorted(
        ((compact(w), value) for value, words in table.items() for w in words),
        key=lambda p: len(p[0]),
        reverse=True,
    )
    best: tuple[int, str] | None = None
    offset = 0
    for clause in _CLAUSE.split(text):
        c = compact(clause)
        taken = [False] * len(c)
        for word, value in pairs:
            start = c.find(word)
            while start >= 0:
                end = start + len(word)
                if not any(taken[start:end]):
                    for i in range(start, end):
                        taken[i] = True
                    before = c[max(0, start - window) : start]
                    if not any(n in before for n in negations) and (
                        best is None or offset + start >= best[0]
                    ):
                        best = (offset + start, value)
                start = c.find(word, start + 1)
        offset += len(c) + 1
    return best[1] if best else None


def read_value(ctx: Context, field: str, text: str) -> Any:
    """The answer to a one-value question, None for 不清楚, or a `Miss`."""
    cfg = question_texts(ctx, field)
    t = compact(text)
    for choice in cfg.get("choices", []):
        if compact(choice["label"]) == t:
            return choice["value"]
    if field == "graduation_year":
        for year, label in year_choices(ctx):
            if compact(label) == t:
                return year
        if compact(cfg["earlier_label"]) == t:
            return Miss.EARLIER
    yn = yes_no(text)
    if yn is None:
        return None
    if field == "graduation_year":
        year = parse_year(text, ctx.today)
        return year if year is not None else Miss.NOT_UNDERSTOOD
    words = cfg.get("words") or {}
    found = match_words(ctx, text, words)
    if found is not None:
        return {"true": True, "false": False}[found] if field in BOOL_FIELDS else found
    if yn is UNRECOGNISED:
        return Miss.NOT_UNDERSTOOD
    if field in BOOL_FIELDS:
        return yn
    if yn is False and cfg.get("no_value"):
        return cfg["no_value"]
    return Miss.NOT_UNDERSTOOD


@dataclass(frozen=True)
class GroupAnswer:
    """What a message says to the multi-select group question."""

    add: tuple[str, ...] = ()
    finished: bool = False  # 都没有 / 没有了: nothing (more) to add
    unsure: bool = False


def group_labels(ctx: Context) -> dict[str, str]:
    """Button label per group id, in the policy's order."""
    labels: dict[str, str] = question_texts(ctx, "groups")["labels"]
    return {gid: labels[gid] for gid in get_policy().group_ids}


def read_groups(ctx: Context, text: str) -> GroupAnswer | Miss:
    cfg = question_texts(ctx, "groups")
    by_label = {compact(label): gid for gid, label in group_labels(ctx).items()}
    t = compact(text)
    if t in by_label:
        return GroupAnswer(add=(by_label[t],))
    if _is_word(ctx, text, [cfg["none_label"], cfg["done_label"], *cfg["none_words"], *cfg["done_words"]]):
        return GroupAnswer(finished=True)
    if t == compact(cfg["unsure_label"]):
        return GroupAnswer(unsure=True)
    if _NUMBER_LIST.match(fold_width(text)):
        return _read_numbers(ctx, text)
    found = parse_group(text)
    if found:
        done = any(compact(w) in t for w in cfg["done_words"])
        return GroupAnswer(add=tuple(found), finished=done)
    yn = yes_no(text)
    if yn is None:
        return GroupAnswer(unsure=True)
    if yn is False:
        return GroupAnswer(finished=True)
    return Miss.NOT_UNDERSTOOD


def _read_numbers(ctx: Context, text: str) -> GroupAnswer | Miss:
    """ "1、3": several buttons of the last question by number."""
    choices = ctx.state.last_choices or []
    digits = re.findall(r"\d+", fold_width(text))
    picked: list[str] = []
    for d in digits:
        n = int(d)
        if not 1 <= n <= len(choices):
            return Miss.NOT_UNDERSTOOD
        answer = read_groups(ctx, choices[n - 1])
        if not isinstance(answer, GroupAnswer) or not answer.add:
            return Miss.NOT_UNDERSTOOD
        picked.extend(g for g in answer.add if g not in picked)
    return GroupAnswer(add=tuple(picked))


def year_choices(ctx: Context) -> list[tuple[int, str]]:
    """This year back to the last year the graduate window of 第十二条 can still cover."""
    window = get_policy().eligibility.graduate_window
    span = max(window.graduation_year_offsets) + window.unemployed_years_after
    label: str = question_texts(ctx, "graduation_year")["year_label"]
    years = [ctx.today.year - back for back in range(min(window.graduation_year_offsets), span + 1)]
    return [(y, label.format(year=y)) for y in years]


@dataclass(frozen=True)
class MenuEntry:
    """One button of the group question: a group, or a second step of several."""

    label: str
    groups: tuple[str, ...]

    @property
    def opens_step(self) -> bool:
        return len(self.groups) > 1


def group_menu(ctx: Context) -> list[MenuEntry]:
    """The group buttons (at most 8 with 都没有/不清楚), in configured order."""
    cfg = question_texts(ctx, "groups")
    labels = group_labels(ctx)
    return [
        MenuEntry(entry.get("label") or labels[entry["groups"][0]], tuple(entry["groups"]))
        for entry in cfg["menu"]
    ]


def menu_entry(ctx: Context, text: str) -> MenuEntry | None:
    """The second-step button the message names, if it is one."""
    t = compact(text)
    return next((e for e in group_menu(ctx) if e.opens_step and compact(e.label) == t), None)


def read_sex(ctx: Context, text: str) -> str | None:
    """男 / 女 as a whole answer to the sex question."""
    cfg: dict[str, Any] = ctx.services.texts.raw("eligibility.sex_question")
    t = _particle_free(ctx, text)
    for choice in cfg["choices"]:
        if compact(choice["label"]) == t:
            return str(choice["value"])
    for value, words in cfg["words"].items():
        if t in {compact(w) for w in words}:
            return str(value)
    return None
