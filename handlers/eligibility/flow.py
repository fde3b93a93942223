"""The eligibility flow: steps, navigation (上一步, 重新开始, 为什么问这个, 继续) and resuming."""

from __future__ import annotations

from datetime import date

from bot.policy import get_policy
from bot.policy.eligibility import assess
from bot.policy.profile import Profile, ProfileError
from bot.policy.schema.questions import PROFILE_FIELDS
from handlers.base import Context, Flow, intent_handler, on_intent, register_flow
from handlers.eligibility.answers import (
    GroupAnswer,
    Miss,
    command,
    group_labels,
    question_texts,
    read_groups,
    read_value,
    year_choices,
)
from handlers.eligibility.questions import class_end, next_question
from handlers.eligibility.result import ResultView, fmt_date
from handlers.eligibility.store import Store
from handlers.menu import menu_labels
from nlu.answers import parse_group, yes_no
from nlu.text import compact

FLOW = "eligibility"
STEP_RESUME = "resume"
STEP_REUSE = "reuse"
STEP_DONE = "done"
STEP_GROUPS_MORE = "groups_more"


class EligibilityFlow(Flow):
    name = FLOW

    async def start(self, ctx: Context) -> None:
        store = Store(ctx)
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
        field = "groups" if step == STEP_GROUPS_MORE else step
        if field not in PROFILE_FIELDS:  # a step of an older version: carry on from the answers
            await self._ask_next(ctx, store)
            return True
        if cmd == "restart":
            await self._restart(ctx, store, ctx.t("eligibility.restarted"))
        elif cmd == "back":
            await self._back(ctx, store)
        elif cmd == "why":
            q = get_policy().question(field)
            why = ctx.t("eligibility.why", why=q.why, article=q.citation, law_title=self._law(ctx))
            self._ask(ctx, store, field, lead=why)
        elif cmd == "continue":
            self._ask(ctx, store, field, lead=ctx.t("eligibility.continue_ack"))
        elif field == "groups":
            return await self._on_groups(ctx, store)
        else:
            return await self._on_value(ctx, store, field)
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
            field = "groups" if step == STEP_GROUPS_MORE else (step or "")
            if field not in PROFILE_FIELDS:
                await self._ask_next(ctx, store)
                return
            lead = ctx.t("eligibility.reask")
            if misses >= int(ctx.services.texts.raw("eligibility.reask_hint_after")):
                lead += ctx.t("eligibility.reask_hint")
            self._ask(ctx, store, field, lead=lead)
        ctx.set_data(misses=misses)

    # -- answers ------------------------------------------------------------

    async def _on_value(self, ctx: Context, store: Store, field: str) -> bool:
        value = read_value(ctx, field, ctx.text)
        if value is Miss.EARLIER:
            ctx.goto(field)
            ctx.say_key("eligibility.questions.graduation_year.exact", self._plain_choices(ctx, field))
            return True
        if value is not Miss.NOT_UNDERSTOOD and value is not None:
            try:
                Profile.from_mapping({field: value})
            except ProfileError:
                value = Miss.NOT_UNDERSTOOD
        if value is Miss.NOT_UNDERSTOOD:
            return self._aside(ctx, store, field)
        store.answer(field, value)
        self._note_groups(store, ctx.text)  # "我退伍了，现在没工作" also says a group
        await self._ask_next(ctx, store)
        return True

    async def _on_groups(self, ctx: Context, store: Store) -> bool:
        answer = read_groups(ctx, ctx.text)
        if not isinstance(answer, GroupAnswer):
            return self._aside(ctx, store, "groups")
        store.pending.extend(g for g in answer.add if g not in store.pending)
        if answer.finished or answer.unsure:
            if store.pending or not answer.unsure:
                store.answer("groups", sorted(store.pending))
            else:
                store.answer("groups", None)
            store.pending = []
            await self._ask_next(ctx, store)
            return True
        store.save("in_progress")
        self._ask(ctx, store, "groups")
        return True

    def _aside(self, ctx: Context, store: Store, field: str) -> bool:
        """Not an answer to this question: maybe a group said in passing, or a fresh start."""
        if field != "groups" and self._note_groups(store, ctx.text):
            store.save("in_progress")
            self._ask(ctx, store, field, lead=self._noted(ctx, store.pending))
            return True
        parse = ctx.parse
        if parse.intent == "check_eligibility" and parse.confidence >= ctx.services.settings.intent_threshold:
            store.save("in_progress")
            ctx.goto(STEP_RESUME)
            ctx.say_key("eligibility.resume_offer", self._texts(ctx, "resume_choices"))
            return True
        return False

    @staticmethod
    def _note_groups(store: Store, text: str) -> bool:
        """Keep groups mentioned in passing for the group question (which still asks "还有吗")."""
        if "groups" in store.answers or "groups" in store.skipped:
            return False
        new = [g for g in parse_group(text) if g not in store.pending]
        store.pending.extend(new)
        return bool(new)

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
        return False

    async def _on_done(self, ctx: Context, store: Store, cmd: str | None) -> bool:
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
        if ctx.state.step == STEP_GROUPS_MORE:
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

    async def _ask_next(self, ctx: Context, store: Store, lead: str | None = None) -> None:
        """Ask the first question that can still change the result, or give the result."""
        end = await class_end(ctx)
        as_of = end or ctx.today
        while True:
            try:
                result = assess(store.answers, as_of)
                break
            except ProfileError as exc:  # a stored answer the current policy no longer accepts
                store.forget(exc.field)
        field = next_question(result, store.answers, store.skipped, as_of)
        if field is None:
            store.pending = []
            store.save(
                "done",
                eligible=result.eligible,
                categories=list(result.categories),
                as_of=as_of.isoformat(),
            )
            if lead:
                ctx.say(lead)
            unknown = [f for f in result.missing if f in store.skipped]
            ResultView(ctx, result, as_of, unknown, from_class=end is not None).say()
            ctx.goto(STEP_DONE)
            return
        store.save("in_progress")
        self._ask(ctx, store, field, lead=lead)

    # -- saying things ---------------------------------------------------------

    def _ask(self, ctx: Context, store: Store, field: str, lead: str | None = None) -> None:
        cfg = question_texts(ctx, field)
        if field == "groups" and store.pending:
            ctx.goto(STEP_GROUPS_MORE)
            labels = group_labels(ctx)
            text = self._noted(ctx, store.pending) + cfg["more"]
            choices = [label for gid, label in labels.items() if gid not in store.pending]
            choices.append(cfg["done_label"])
        else:
            ctx.goto(field)
            text = cfg["ask"]
            choices = self._choices(ctx, field)
        ctx.set_data(misses=0)
        ctx.say(f"{lead}\n{text}" if lead else text, choices)

    def _choices(self, ctx: Context, field: str) -> list[str]:
        cfg = question_texts(ctx, field)
        if field == "groups":
            return [*group_labels(ctx).values(), cfg["none_label"], cfg["unsure_label"]]
        if field == "graduation_year":
            years = [label for _, label in year_choices(ctx)]
            return [*years, cfg["earlier_label"], *self._plain_choices(ctx, field)]
        return self._plain_choices(ctx, field)

    @staticmethod
    def _plain_choices(ctx: Context, field: str) -> list[str]:
        return [c["label"] for c in question_texts(ctx, field).get("choices", [])]

    @staticmethod
    def _noted(ctx: Context, groups: list[str]) -> str:
        labels = get_policy().group_by_id
        return ctx.t("eligibility.noted_groups", groups="、".join(labels[g].name for g in groups))

    @staticmethod
    def _texts(ctx: Context, key: str) -> list[str]:
        return list(ctx.services.texts.raw(f"eligibility.{key}"))

    @staticmethod
    def _law(ctx: Context) -> str:
        return str(ctx.services.texts.raw("eligibility.law_title"))

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
