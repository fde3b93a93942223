"""General rule questions, answered from the knowledge base by anyone at any point.

Trainees ask about the rules before they ask about themselves: "补贴多久到账"
is a question about how things work, not a request to see a record, and it
needs no binding. The engine asks this module first (outside a flow and, for
questions, inside one); it answers when the knowledge base knows the answer
and the message is not a request about the user's own record:

- general question → the entry's answer with its article; where the entry
  has a personal side (claim_status …), a bound user's own record after it,
  an unbound user the way to see it;
  where it is also "can I take part?", the offer of the screening;
- inside a flow → the answer, then the flow's question again, unchanged
  (a question is never taken as the flow's answer);
- own record ("我的补贴到哪了") → bound: the personal handler; unbound: the
  general rule first, then the personal handler, which offers binding.

What counts as a question or a personal request is data
(`config/knowledge/routing.yaml`); the answers are reviewed entries
(`config/knowledge/entries/`), so nothing here composes a rule sentence.
"""

from __future__ import annotations

import re
from functools import lru_cache

from pydantic import Field
from sqlalchemy import select

from bot.config_file import StrictModel, load_yaml
from bot.places import find_places
from handlers.base import EXACT_COMMAND, Context, get_flow, handler_answers_directly, intent_handler
from models import Message
from nlu.knowledge import KNOWLEDGE_DIR
from nlu.text import compact
from nlu.types import PolicyAnswer

ELIGIBILITY_FLOW = "eligibility"
ELIGIBILITY_INTENT = "check_eligibility"


class RoutingConfig(StrictModel):
    question_markers: tuple[str, ...] = Field(min_length=1)
    question_endings: tuple[str, ...] = ()
    personal_markers: tuple[str, ...]
    personal_intents: tuple[str, ...]
    personal_rule: dict[str, str]
    never_preempt: tuple[str, ...]
    never_preempt_yields_at: float = Field(default=1.0, ge=0, le=1)
    # A guessed request for a person inside a question yields sooner: a question
    # about staff or people ("人社局工作人员吃拿卡要咋处理") is rarely a request.
    # None: as never_preempt_yields_at.
    guessed_person_yields_at: float | None = Field(default=None, ge=0, le=1)
    handler_min_coverage: dict[str, float]
    # The bar when the handler would only ask back or guess (handlers.base.answers_directly),
    # or the message lacks every word of the request (request_words).
    asks_back_min_coverage: float = Field(default=0.0, ge=0, le=1)
    request_words: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    handler_entries: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    in_flow_min_coverage: float = Field(ge=0, le=1)
    unsure_min_coverage: float | None = Field(default=None, ge=0, le=1)
    # The entry that says the rule for a fact the message tells (the screening's reading):
    # a group named, a graduation year, or an age at or past retirement.
    group_entries: dict[str, str] = Field(default_factory=dict)
    graduate_entry: str | None = None
    retired_entry: str | None = None
    eligibility_entry: str | None = None
    rural_entry: str | None = None
    general_entries: tuple[str, ...] = ()
    retired_from_age: int = Field(default=60, ge=40, le=80)
    flow_own_words: tuple[str, ...]
    place_intents: tuple[str, ...] = ()


@lru_cache(maxsize=1)
def routing() -> RoutingConfig:
    return load_yaml(RoutingConfig, KNOWLEDGE_DIR / "routing.yaml")


# 报不报, 给不给, 算不算: the A-not-A question of spoken Chinese.
_A_NOT_A = re.compile(r"(\w)[不没]\1")
# "不" alone, "我不", "还没" answer a flow; a question ending in 不 first says what it asks.
_ENDING_MIN_CHARS = 4
# ...but a modal verb before it asks in three ("能学不", "给钱不", "算数不"); "是不" or "好不" does not.
_MODAL_STARTS = ("能", "可", "会", "给", "算", "有")


def _ends_asking(clause: str, endings: tuple[str, ...]) -> bool:
    if not clause.endswith(endings):
        return False
    return len(clause) >= _ENDING_MIN_CHARS or (len(clause) == 3 and clause.startswith(_MODAL_STARTS))


# Voice input and chat run clauses together with spaces or commas: a question may
# ask in its first clause ("…能参加不") and tell something in the last ("俺在后厨").
_CLAUSE_BREAK = re.compile(r"[\s，,。；;！!]+")


def is_question(text: str) -> bool:
    cfg = routing()
    if any(m in text for m in cfg.question_markers) or _A_NOT_A.search(text) is not None:
        return True
    clauses = [compact(c) for c in _CLAUSE_BREAK.split(text)]
    return any(_ends_asking(c, cfg.question_endings) for c in clauses)


# A question that ends on what it asks for ("…还得多交啥"); a rhetorical answer
# ("没有，哪来的退休金") does not.
_ASKING_ENDINGS = ("吗", "么", "啥", "什么", "多少", "几天", "多久", "谁", "咋整", "怎么办", "咋办")


# Words that ask wherever they stand ("…涉密信息咋填", "要不要城市低保证明", "…重点支持哪些
# 方向的培训啊"); 哪 alone is not one of them: "哪来的退休金" and "哪个都行" answer.
_ASKING_WORDS = (
    *("还是", "要不要", "能不能", "是不是", "有没有", "可不可以", "会不会"),
    *("多少", "咋", "怎么", "什么", "啥", "哪些", "哪几"),
)


def _asked(ctx: Context) -> bool:
    """A question as written and as read: "可不咋的，一直没工作" has 咋 in it but reads
    as 是的 (a rhetorical yes), so it is an answer, not a question."""
    return is_question(ctx.text) and is_question(ctx.services.nlu.understanding.reading(ctx.text))


def _asks(text: str) -> bool:
    """A clause ends as a question does ("…给补贴不", "…能参加吗？", "…交啥"), or the message
    offers a choice ("给个人还是给企业"): asked, not said in passing. Any clause counts:
    "给个体户打工的能享受补贴培训不 俺在饭店后厨" asks first and tells after."""
    t = compact(text)
    if "？" in text or "?" in text or any(w in t for w in _ASKING_WORDS) or _A_NOT_A.search(t):
        return True
    endings = routing().question_endings
    for clause in (compact(c) for c in _CLAUSE_BREAK.split(text)):
        if clause.endswith(_ASKING_ENDINGS):
            return True
        if _ends_asking(clause, endings):
            return True
    return False


def _handler_bar(ctx: Context, cfg: RoutingConfig) -> float:
    """How well a rule answer must cover the question to pre-empt a handler the classifier is
    sure of: the handler's own bar when it would answer this message itself, a low one when it
    would ask back ("您想查哪种补贴的材料？") or the message asks nothing of it."""
    intent = ctx.parse.intent
    need = cfg.handler_min_coverage.get(intent, 0.0)
    said = True
    if (words := cfg.request_words.get(intent)) is not None:
        reading = ctx.services.nlu.understanding.reading(ctx.text)
        said = any(w in ctx.text or w in reading for w in words)
    if not said or not handler_answers_directly(ctx, intent):
        need = min(need, cfg.asks_back_min_coverage)
    return need


def personal_intent(ctx: Context, answer: PolicyAnswer | None) -> str | None:
    """The own-record intent the message asks for ("我的补贴到哪了" → claim_status), else None."""
    cfg = routing()
    t = compact(ctx.text)
    if not any(compact(m) in t for m in cfg.personal_markers):
        return None
    if ctx.parse.intent in cfg.personal_intents:
        return ctx.parse.intent
    return answer.personal if answer is not None else None


def rule_answer(ctx: Context, *, in_flow: bool, min_coverage: float | None = None) -> PolicyAnswer | None:
    """The knowledge-base answer when the message is a rule question we can answer, else None."""
    cfg = routing()
    text, parse = ctx.text, ctx.parse
    if not text or text in (ctx.state.last_choices or []):
        return None  # a button the bot just offered belongs to whoever offered it
    menu = {item["label"] for item in ctx.services.texts.raw("menu.menu")}
    if text in menu or ctx.services.nlu.exact_command(text) is not None:
        return None  # a command or a menu label
    if compact(text) in {compact(w) for w in cfg.flow_own_words} or not _asked(ctx):
        return None
    sure = parse.confidence >= ctx.services.settings.intent_threshold
    # An action said outright (转人工, an escape phrase: certain) is never pre-empted; the
    # classifier's guess of one ("人社局工作人员徇私舞弊怎么处理" read as human_agent)
    # yields to a rule answer that covers most of the question.
    action = parse.intent in cfg.never_preempt and sure
    if action and parse.confidence >= EXACT_COMMAND:
        return None
    if parse.intent in cfg.place_intents and find_places(text):
        return None  # "延吉有哪些定点培训机构": the course search reads the place
    answer = ctx.services.nlu.answer_question(text, parse, min_coverage)
    yields_at = cfg.never_preempt_yields_at
    if parse.intent == "human_agent" and cfg.guessed_person_yields_at is not None:
        yields_at = cfg.guessed_person_yields_at
    if answer is None or (action and answer.score < yields_at):
        return None
    fuller = answer.entry_id in cfg.handler_entries.get(parse.intent, ())
    if sure and not in_flow and fuller and handler_answers_directly(ctx, parse.intent):
        return None  # the handler says it more fully (inside a flow the flow would take it)
    # Inside a flow the flow reads the message first, so no handler's bar applies there.
    need = _handler_bar(ctx, cfg) if sure and not in_flow else 0.0
    if in_flow and not _asks(text):
        need = max(need, cfg.in_flow_min_coverage)  # a flow's answer that only looks like a question
    return answer if answer.score >= need else None


def _facts_first(ctx: Context, answer: PolicyAnswer | None) -> bool:
    """Whether a rule the message's facts name goes before this answer: none was found or, for
    a "can I take part?" question, it was found from one clause only or is a general one
    ("什么是政府补贴培训") where the message names whose case it is ("残疾人可以享受…培训吗").
    A question about something else ("我是登记失业人员…补贴标准按什么定") keeps its answer."""
    if answer is None:
        return True
    eligibility = ctx.parse.intent == ELIGIBILITY_INTENT
    return eligibility and (answer.focused or answer.entry_id in routing().general_entries)


def fact_rule(ctx: Context, *, general: bool = True) -> PolicyAnswer | None:
    """The rule for what a "can I take part?" question tells of the person, when the search
    found none: "我儿子前年从职业学校毕业…一直没上班，他能不能参加" is asked in too many words
    for the search, yet the screening's reader finds the 高校毕业生 in it."""
    cfg, facts = routing(), ctx.facts
    # A group only named, not said of the person ("…我闺女是残疾人…能不能参加" runs on as one
    # question, so the reader takes no fact from it), still says whose rule is asked for.
    named = [str(e.value) for e in ctx.parse.entities if e.type == "group"]
    if not (facts or named) or not _asks(ctx.text) or ctx.parse.intent in cfg.never_preempt:
        return None
    groups = (*facts.groups, *named)
    entry_id = next((cfg.group_entries[g] for g in groups if g in cfg.group_entries), None)
    if entry_id is None and facts.graduation_year is not None:
        entry_id = cfg.graduate_entry
    old = facts.reached_retirement_age or facts.receives_pension
    old = old or (facts.age is not None and facts.age[0] >= cfg.retired_from_age)
    if entry_id is None and old:
        entry_id = cfg.retired_entry
    if entry_id is None and facts.household == "rural" and facts.employment != "employed":
        entry_id = cfg.rural_entry  # "俺五十八了在村里种地": 农村转移就业劳动者
    if entry_id is None and general and facts and ctx.parse.intent == ELIGIBILITY_INTENT:
        entry_id = cfg.eligibility_entry  # "俺没工作 能学不": who may take part, then the screening
    return ctx.services.nlu.rule_entry(entry_id) if entry_id else None


def say_answer(ctx: Context, answer: PolicyAnswer, *, offers: bool = True) -> None:
    """The answer and its article; with `offers`, the buttons that lead on from it."""
    lines = [ctx.t("rules.answer", answer=answer.text, source=answer.source, article=answer.article)]
    choices: list[str] = []
    if offers:
        if answer.eligibility and ctx.flow != ELIGIBILITY_FLOW:
            lines.append(ctx.t("rules.check_own_case"))
            choices.append(ctx.t("rules.check_own_case_label"))
        unbound = ctx.user.trainee_id is None
        if unbound and answer.personal and ctx.services.texts.has(f"rules.personal_label.{answer.personal}"):
            lines.append(ctx.t(f"rules.personal_hint.{answer.personal}"))
            choices.append(ctx.t(f"rules.personal_label.{answer.personal}"))
        if answer.offer and ctx.services.texts.has(f"rules.offer_label.{answer.offer}"):
            choices.append(ctx.t(f"rules.offer_label.{answer.offer}"))
    ctx.say("\n".join(lines), choices)


def say_unknown(ctx: Context) -> None:
    """An honest "I don't know" with a person and the hotline on offer: better than a wrong guess."""
    ctx.say_key("rules.unknown", list(ctx.services.texts.raw("rules.unknown_choices")))


async def _last_question(ctx: Context) -> tuple[str, list[str]] | None:
    """What the bot said last before this turn, with its buttons: the flow's pending question."""
    row = (
        await ctx.db.execute(
            select(Message)
            .where(Message.chat_user_id == ctx.user.id, Message.direction == "out")
            .order_by(Message.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    if row is None:
        return None
    return row.text, list(row.choices or [])


_RESUME_KEY = "_rules_resume"


async def resume_flow(ctx: Context) -> None:
    """Ask the flow's question again, word for word, with its buttons; the flow keeps its place.

    The question is the bot's last message before the first side question at
    this step (kept in the flow's data, so two side questions in a row do not
    repeat an answer instead of the question).
    """
    saved = ctx.data.get(_RESUME_KEY)
    if isinstance(saved, dict) and saved.get("step") == ctx.state.step and saved.get("text"):
        question: tuple[str, list[str]] | None = (str(saved["text"]), list(saved.get("choices") or []))
    else:
        question = await _last_question(ctx)
        if question is not None:
            text, choices = question
            ctx.set_data(**{_RESUME_KEY: {"step": ctx.state.step, "text": text, "choices": choices}})
    if question is None:
        return
    text, choices = question
    ctx.say(f"{ctx.t('rules.back_to_flow')}\n{text}", choices)


async def side_question(ctx: Context, *, declined: bool = False) -> bool:
    """Inside a flow: answer a general rule question and re-ask the flow's question. True when done.

    Before the flow reads the message (`declined` False) the bar is the flow's own
    (`in_flow_min_coverage`), and a rhetorical answer to its question stays its answer.
    After the flow `declined` it, the question is read as it would be outside a
    flow: "人社局工作人员吃拿卡要咋处理" is 第三十二条, not the classifier's guess of 转人工.
    """
    answer = rule_answer(ctx, in_flow=not declined)
    if _facts_first(ctx, answer) and not declined and ctx.flow == ELIGIBILITY_FLOW:
        answer = fact_rule(ctx, general=answer is None) or answer
    if answer is None or personal_intent(ctx, answer) is not None:
        return False  # the flow (or the engine's change of topic) handles it
    in_screening = ctx.flow == ELIGIBILITY_FLOW and ctx.state.step in ctx.facts.profile()
    if not declined and in_screening and not _asks(ctx.text):
        return False  # "没有，哪来的退休金" at the pension question: a rhetorical answer, not a question
    say_answer(ctx, answer, offers=False)
    # "俺爸六十三了…还给补贴不": the rule first, then the screening takes what the
    # message told it and asks on, so nothing said is lost.
    tells = not declined and ctx.flow == ELIGIBILITY_FLOW and bool(ctx.facts.profile())
    if tells and await get_flow(ELIGIBILITY_FLOW).on_message(ctx):
        return True
    await resume_flow(ctx)
    return True


def _personal_rule(ctx: Context, intent: str | None) -> PolicyAnswer | None:
    """The general rule behind an own-record request (claim_status → the whole timeline)."""
    entry_id = routing().personal_rule.get(intent or "")
    return ctx.services.nlu.rule_entry(entry_id) if entry_id else None


async def _own_record_unbound(ctx: Context) -> bool:
    """An unbound user's own-record request no entry matched, or a question in its words that
    names nobody's record ("没到九成出勤就一分钱没有了？"): the general rule, then the offer to bind."""
    if ctx.user.trainee_id is not None or not ctx.text:
        return False
    menu = {item["label"] for item in ctx.services.texts.raw("menu.menu")}
    parse = ctx.parse
    if ctx.text in menu or parse.confidence < ctx.services.settings.intent_threshold:
        return False
    intent = personal_intent(ctx, None)
    if intent is None and parse.intent in routing().personal_intents and parse.confidence < EXACT_COMMAND:
        intent = parse.intent if _asks(ctx.text) else None
    rule = _personal_rule(ctx, intent)
    handler = intent_handler(intent) if intent else None
    if rule is None or handler is None:
        return False
    say_answer(ctx, rule, offers=False)
    await handler(ctx)
    return True


async def unanswered_side_question(ctx: Context) -> bool:
    """Inside a flow, a question neither the flow nor the knowledge base understood.

    Said honestly (a person and 12333 on offer), then the flow's question
    again, instead of the flow's "I did not understand your answer".
    """
    cfg = routing()
    text = ctx.text
    if not text or text in (ctx.state.last_choices or []) or not is_question(text):
        return False
    if compact(text) in {compact(w) for w in cfg.flow_own_words}:
        return False
    say_unknown(ctx)
    await resume_flow(ctx)
    return True


async def free_question(ctx: Context, *, screening_follows: bool = False) -> bool:
    """Outside a flow: answer a general rule question; an own-record request goes to its handler.

    With `screening_follows` (the message also told us about the person), the
    engine starts the screening right after the rule, so no button offers it.
    """
    answer = rule_answer(ctx, in_flow=False)
    if _facts_first(ctx, answer) and (screening_follows or ctx.parse.intent == ELIGIBILITY_INTENT):
        answer = fact_rule(ctx, general=answer is None) or answer
    if answer is None:
        return await _own_record_unbound(ctx)
    intent = personal_intent(ctx, answer)
    if intent is not None:
        handler = intent_handler(intent)
        if handler is None:
            return False
        if ctx.user.trainee_id is None:
            # The general rule first, then the offer to bind: the entry's own when it is the
            # rule behind this request, else the intent's general rule ("我的班什么时候结束"
            # matching 第十二条's 结束时的身份 would be a wrong rule).
            rule = answer if answer.personal == intent else _personal_rule(ctx, intent)
            if rule is not None:
                say_answer(ctx, rule, offers=False)
        await handler(ctx)
        return True
    say_answer(ctx, answer, offers=not screening_follows)
    handler = intent_handler(answer.personal) if answer.personal else None
    if handler is not None and ctx.user.trainee_id is not None:
        await handler(ctx)  # a bound user: the rule, then where their own case stands
    return True


async def unsure_question(ctx: Context) -> bool:
    """Instead of asking which of two things the user meant ("您是想…还是…"): the rule a
    question asks about, at a lower coverage than usual. The classifier found something of
    ours in it, just not which handler; a rule that covers a good part of it is the better
    first reply ("交完材料多久审完啊 等的闹心")."""
    need = routing().unsure_min_coverage
    answer = None if need is None else rule_answer(ctx, in_flow=False, min_coverage=need)
    if answer is None or personal_intent(ctx, answer) is not None:
        return False
    say_answer(ctx, answer)
    return True
