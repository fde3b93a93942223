"""The eligibility flow: steps, navigation (上一步, 重新开始, 为什么问这个, 继续) and resuming."""

from __future__ import annotations

from datetime import date

from bot.policy import get_policy
from bot.policy.eligibility import assess
from bot.policy.profile import Profile, ProfileError
from bot.policy.retirement import get_retirement_rules
from bot.policy.schema.questions import PROFILE_FIELDS
from handlers.base import Context, Flow, intent_handler, on_intent, register_flow
from handlers.eligibility.answers import (
    GroupAnswer,
    Miss,
    command,
    group_labels,
    group_menu,
    menu_entry,
    question_texts,
    read_groups,
    read_sex,
    read_value,
)
from handlers.eligibility.asking import Asking
from handlers.eligibility.person import (
    RETIRED,
    Taken,
    derive_retirement,
    note,
    retirement_needs,
    sex_from_record,
    take,
)
from handlers.eligibility.questions import class_end, groups_matter, next_question
from handlers.eligibility.result import ResultView, fmt_date
from handlers.eligibility.store import Store
from handlers.menu import menu_labels
from nlu.answers import yes_no
from nlu.facts import read_facts
from nlu.text import compact

FLOW = "eligibility"
STEP_RESUME = "resume"
STEP_REUSE = "reuse"
STEP_DONE = "done"
STEP_GROUPS_MORE = "groups_more"
STEP_GROUPS_SUB = "groups_sub"  # the second step of a grouped button
STEP_SEX = "sex"  # asked only when an age is known and sex settles the retirement question
GROUP_STEPS = (STEP_GROUPS_MORE, STEP_GROUPS_SUB)


def _read_pinyin(ctx: Context) -> None:
    """An answer typed in pinyin ("zai gongdi dagong", "sanshi duo") is read as the Chinese meant.

    The intent model reads pinyin already; the flow's own readers (answer
    words, the facts reader) see the message as typed, so they get the
    transliteration. A button label or a message without pinyin is unchanged.
    """
    written = ctx.services.nlu.transliterate(ctx.text)
    if written != ctx.text:
        ctx.text = written
        ctx.facts = read_facts(written, ctx.today)


class EligibilityFlow(Asking, Flow):
    name = FLOW

    async def start(self, ctx: Context) -> None:
        store = Store(ctx)
        if ctx.facts:  # an opening that already says something: take it and go on from there
            if store.status != "in_progress":
                store.clear()
            taken = take(ctx, store, ctx.facts, await self._as_of(ctx))
            await self._ask_next(ctx, store, lead=ctx.t("eligibility.intro"), taken=taken)
            return
        if store.status == "in_progress" and (store.answers or store.skipped or store.pending):
            ctx.goto(STEP_RESUME)
            ctx.say_key("eligibility.resume_offer", self._texts(ctx, "resume_choices"))
        elif store.answers:
            ctx.goto(STEP_REUSE)
            ctx.say(self._reuse_offer(ctx, store), self._texts(ctx, "reuse_choices"))
        else:
            await self._restart(ctx, store, ctx.t("eligibility.intro"))

    async def on_message(self, ctx: Context) -> bool:
        step = ctx.state.step
        store = Store(ctx)
        _read_pinyin(ctx)
        cmd = command(ctx)
        if cmd == "cancel":
            ctx.end_flow()
            if store.status == "in_progress":
                ctx.say_key("eligibility.cancelled", menu_labels(ctx))
            else:
                ctx.say_key("menu.cancelled", menu_labels(ctx))
            return True
        if step in (STEP_RESUME, STEP_REUSE):
            return await self._on_offer(ctx, store, cmd)
        if step == STEP_DONE:
            return await self._on_done(ctx, store, cmd)
        field = "groups" if step in GROUP_STEPS else RETIRED if step == STEP_SEX else step
        if field not in PROFILE_FIELDS:  # a step of an older version: carry on from the answers
            await self._ask_next(ctx, store)
            return True
        if cmd == "restart":
            await self._restart(ctx, store, ctx.t("eligibility.restarted"))
        elif cmd == "back":
            await self._back(ctx, store)
        elif cmd in ("why", "continue"):
            if cmd == "why":
                q = get_policy().question(field)
                lead = ctx.t("eligibility.why", why=q.why, article=q.citation, law_title=self._law(ctx))
            else:
                lead = ctx.t("eligibility.continue_ack")
            if step == STEP_SEX:
                self._ask_sex(ctx, lead)
            else:
                self._ask(ctx, store, field, lead=lead)
        else:
            taken = Taken()
            offered = ctx.text in (ctx.state.last_choices or [])  # a button means itself
            if ctx.facts and not offered:
                taken = take(ctx, store, ctx.facts, await self._as_of(ctx))
            if ctx.facts.asks and not taken and not offered:
                # "两后生是啥意思": a question, not an answer; the engine answers it or re-asks.
                return self._aside(ctx, store)
            if step == STEP_SEX:
                return await self._on_sex(ctx, store, taken)
            if field == "groups":
                return await self._on_groups(ctx, store, taken)
            return await self._on_value(ctx, store, field, taken)
        return True

    async def reask(self, ctx: Context) -> None:
        step = ctx.state.step
        store = Store(ctx)
        misses = int(ctx.data.get("misses", 0)) + 1
        if step == STEP_RESUME:
            ctx.say(ctx.t("eligibility.offer_reask"), self._texts(ctx, "resume_choices"))
        elif step == STEP_REUSE:
            ctx.say(ctx.t("eligibility.offer_reask"), self._texts(ctx, "reuse_choices"))
        else:
            field = "groups" if step in GROUP_STEPS else (step or "")
            lead = ctx.t("eligibility.reask")
            if misses >= int(ctx.services.texts.raw("eligibility.reask_hint_after")):
                lead += ctx.t("eligibility.reask_hint")
            if step == STEP_SEX:
                self._ask_sex(ctx, lead)
            elif field not in PROFILE_FIELDS:
                await self._ask_next(ctx, store)
                return
            else:
                self._ask(ctx, store, field, lead=lead)
        ctx.set_data(misses=misses)

    # -- answers ------------------------------------------------------------

    async def _on_value(self, ctx: Context, store: Store, field: str, taken: Taken) -> bool:
        value = read_value(ctx, field, ctx.text)
        if field in taken.fields:
            pass  # the facts reader answered it; it reads negations ("哪有退休金啊") right
        elif value is Miss.EARLIER:
            store.save("in_progress")
            ctx.goto(field)
            ctx.say_key("eligibility.questions.graduation_year.exact", self._plain_choices(ctx, field))
            return True
        else:
            if value is not Miss.NOT_UNDERSTOOD and value is not None:
                try:
                    Profile.from_mapping({field: value})
                except ProfileError:
                    value = Miss.NOT_UNDERSTOOD
            if value is not Miss.NOT_UNDERSTOOD:
                store.answer(field, value)
            elif not taken:
                return self._aside(ctx, store)
        await self._ask_next(ctx, store, taken=taken)
        return True

    async def _on_sex(self, ctx: Context, store: Store, taken: Taken) -> bool:
        sex = store.person.get("sex") if "sex" in taken.person else read_sex(ctx, ctx.text)
        if sex is None and yes_no(ctx.text) is None:  # 不清楚: leave it to the question itself
            store.sex_asked = True
        elif sex is None:
            if not taken:
                return self._aside(ctx, store)
        else:
            store.person["sex"] = sex
            store.sex_asked = True
        await self._ask_next(ctx, store, taken=taken)
        return True

    async def _on_groups(self, ctx: Context, store: Store, taken: Taken) -> bool:
        entry = menu_entry(ctx, ctx.text)
        if entry is not None:
            self._ask_sub(ctx, store, entry.groups)
            return True
        back = compact(self._groups_cfg(ctx)["back_label"])
        if ctx.state.step == STEP_GROUPS_SUB and compact(ctx.text) == back:
            self._ask(ctx, store, "groups")
            return True
        answer = read_groups(ctx, ctx.text)
        if not isinstance(answer, GroupAnswer):
            if not taken:
                return self._aside(ctx, store)
            await self._ask_next(ctx, store, taken=taken)
            return True
        store.pending.extend(g for g in answer.add if g not in store.pending)
        if answer.finished or answer.unsure:
            if store.pending or not answer.unsure:
                store.answer("groups", sorted(store.pending))
            else:
                store.answer("groups", None)
            store.pending = []
        taken.groups = [g for g in taken.groups if g not in answer.add]
        if store.pending and groups_matter(store.answers, store.pending, await self._as_of(ctx)):
            store.save("in_progress")  # "还有其他情况吗？" while another group could still matter
            self._ask(ctx, store, "groups", lead=note(ctx, store, taken, with_groups=False) or None)
            return True
        await self._ask_next(ctx, store, taken=taken)
        return True

    def _aside(self, ctx: Context, store: Store) -> bool:
        """Not an answer to this question: maybe a fresh start, else the engine decides."""
        parse = ctx.parse
        if parse.intent == "check_eligibility" and parse.confidence >= ctx.services.settings.intent_threshold:
            store.save("in_progress")
            ctx.goto(STEP_RESUME)
            ctx.say_key("eligibility.resume_offer", self._texts(ctx, "resume_choices"))
            return True
        return False

    # -- navigation ---------------------------------------------------------

    async def _on_offer(self, ctx: Context, store: Store, cmd: str | None) -> bool:
        keep = ("continue", "reuse")
        choices = self._texts(ctx, "resume_choices" if ctx.state.step == STEP_RESUME else "reuse_choices")
        t = compact(ctx.text)
        if cmd == "restart" or t == compact(choices[1]):
            await self._restart(ctx, store, ctx.t("eligibility.restarted"))
            return True
        if cmd in keep or t == compact(choices[0]) or yes_no(ctx.text) is True:
            lead = ctx.t("eligibility.continue_ack") if ctx.state.step == STEP_RESUME else None
            await self._ask_next(ctx, store, lead=lead)
            return True
        if ctx.facts:  # "我今年62了" instead of a button: carry on from the saved answers with it
            taken = take(ctx, store, ctx.facts, await self._as_of(ctx))
            if taken:
                await self._ask_next(ctx, store, taken=taken)
                return True
        return False

    async def _on_done(self, ctx: Context, store: Store, cmd: str | None) -> bool:
        details = compact(str(ctx.services.texts.raw("eligibility.result.details_label")))
        if cmd in ("why", "details") or compact(ctx.text) == details:
            await self._result(ctx, store, full=True)
            return True
        if ctx.facts:  # "说错了，我是城里户口": correct it and look again
            taken = take(ctx, store, ctx.facts, await self._as_of(ctx))
            if taken:
                await self._ask_next(ctx, store, taken=taken)
                return True
        if cmd == "restart":
            await self._restart(ctx, store, ctx.t("eligibility.restarted"))
            return True
        if cmd == "back" and store.asked:
            await self._back(ctx, store)
            return True
        actions: dict[str, str] = ctx.services.texts.raw("eligibility.result.actions")
        intent = {compact(label): i for label, i in actions.items()}.get(compact(ctx.text))
        ctx.end_flow()
        handler = intent_handler(intent) if intent else None
        if handler is None:
            return False  # the engine routes the message afresh
        await handler(ctx)
        return True

    async def _restart(self, ctx: Context, store: Store, lead: str) -> None:
        store.clear()
        await self._ask_next(ctx, store, lead=lead)

    async def _back(self, ctx: Context, store: Store) -> None:
        if ctx.state.step in GROUP_STEPS:
            store.pending = []
            store.save("in_progress")
            self._ask(ctx, store, "groups", lead=ctx.t("eligibility.back_ack"))
            return
        if not store.asked:
            field = ctx.state.step or ""
            if field in PROFILE_FIELDS:
                self._ask(ctx, store, field, lead=ctx.t("eligibility.first_question"))
            else:
                await self._ask_next(ctx, store, lead=ctx.t("eligibility.first_question"))
            return
        last = store.asked[-1]
        store.forget(last)
        if last == "groups":
            store.pending = []
        store.save("in_progress")
        self._ask(ctx, store, last, lead=ctx.t("eligibility.back_ack"))

    async def _as_of(self, ctx: Context) -> date:
        return await class_end(ctx) or ctx.today

    async def _ask_next(
        self, ctx: Context, store: Store, lead: str | None = None, taken: Taken | None = None
    ) -> None:
        """Ask the first question that can still change the result, or give the result."""
        end = await class_end(ctx)
        as_of = end or ctx.today
        taken = taken or Taken()
        if derive_retirement(store, as_of):
            taken.fields.append(RETIRED)
        need: str | None = None
        while True:
            try:
                result = assess(store.answers, as_of)
            except ProfileError as exc:  # a stored answer the current policy no longer accepts
                store.forget(exc.field)
                continue
            field = next_question(result, store.answers, store.skipped, as_of)
            if field == "groups" and store.pending and not groups_matter(store.answers, store.pending, as_of):
                store.answer("groups", sorted(store.pending))  # nothing else would change the result
                store.pending = []
                continue
            need = retirement_needs(store, as_of) if field == RETIRED else None
            if need == "sex" and await sex_from_record(ctx, store):
                if derive_retirement(store, as_of):
                    taken.fields.append(RETIRED)
                continue
            break
        said = ""
        if taken.person or taken.groups or set(taken.fields) - {ctx.state.step}:
            # Confirm what was taken, unless it is just the answer to the question asked.
            said = note(ctx, store, taken, with_groups=not (field == "groups" and store.pending))
        lead = "\n".join(x for x in (lead, said) if x) or None
        if field is None:
            store.pending = []
            categories = list(result.categories)
            store.save("done", eligible=result.eligible, categories=categories, as_of=as_of.isoformat())
            if lead:
                ctx.say(lead)
            unknown = [f for f in result.missing if f in store.skipped]
            ResultView(ctx, result, as_of, unknown, from_class=end is not None).say_short()
            ctx.goto(STEP_DONE)
            return
        store.save("in_progress")
        if need == "sex":
            self._ask_sex(ctx, lead)
            return
        if need == "ask":
            band = ctx.t("eligibility.retirement_band", citation=get_retirement_rules().citation)
            lead = "\n".join(x for x in (lead, band) if x)
        self._ask(ctx, store, field, lead=lead)

    async def _result(self, ctx: Context, store: Store, *, full: bool) -> None:
        """The result again (the full reasoning on 详细说说), from the saved answers."""
        end = await class_end(ctx)
        as_of = end or ctx.today
        result = assess(store.answers, as_of)
        unknown = [f for f in result.missing if f in store.skipped]
        view = ResultView(ctx, result, as_of, unknown, from_class=end is not None)
        view.say() if full else view.say_short()

    # -- asking (the steps the flow goes to) ------------------------------------

    def _ask(self, ctx: Context, store: Store, field: str, lead: str | None = None) -> None:
        cfg = question_texts(ctx, field)
        if field == "groups" and store.pending:
            ctx.goto(STEP_GROUPS_MORE)
            text = self._noted(ctx, store.pending) + cfg["more"]
            choices = [e.label for e in group_menu(ctx) if not set(e.groups) <= set(store.pending)]
            choices.append(cfg["done_label"])
        else:
            ctx.goto(field)
            text = cfg["ask"]
            choices = self._choices(ctx, field)
        ctx.set_data(misses=0)
        ctx.say(f"{lead}\n{text}" if lead else text, choices)

    def _ask_sub(self, ctx: Context, store: Store, groups: tuple[str, ...]) -> None:
        cfg = self._groups_cfg(ctx)
        labels = group_labels(ctx)
        choices = [labels[g] for g in groups if g not in store.pending]
        ctx.goto(STEP_GROUPS_SUB)
        ctx.say(cfg["sub_ask"], [*choices, cfg["back_label"]])

    @staticmethod
    def _ask_sex(ctx: Context, lead: str | None) -> None:
        cfg = ctx.services.texts.raw("eligibility.sex_question")
        ctx.goto(STEP_SEX)
        ctx.set_data(misses=0)
        ctx.say(f"{lead}\n{cfg['ask']}" if lead else cfg["ask"], [c["label"] for c in cfg["choices"]])

    def _reuse_offer(self, ctx: Context, store: Store) -> str:
        on = store.meta.get("updated_on")
        if isinstance(on, str):
            try:
                return ctx.t("eligibility.reuse_offer", date=fmt_date(ctx, date.fromisoformat(on)))
            except ValueError:
                pass
        return ctx.t("eligibility.reuse_offer_undated")


register_flow(EligibilityFlow())


@on_intent("check_eligibility")
async def check_eligibility(ctx: Context) -> None:
    await ctx.start_flow(FLOW)
