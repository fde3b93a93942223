"""The screening result in plain Chinese: decision, reasons, subsidies, papers, next steps."""

from __future__ import annotations

from datetime import date
from typing import Any

from bot.policy import get_policy
from bot.policy.assessment import Assessment
from bot.policy.schema.subsidies import SUBSIDY_IDS
from handlers.base import Context


def _key(value: Any) -> str:
    """YAML keys of three-valued texts: true / false / null."""
    return "null" if value is None else str(value).lower()


def fmt_date(ctx: Context, d: date) -> str:
    return ctx.t("eligibility.date_format", year=d.year, month=d.month, day=d.day)


class ResultView:
    """The screening result in plain Chinese: decision, reasons, subsidies, papers, next steps.

    Every point carries its article; the law is named once at the top.
    """

    def __init__(
        self, ctx: Context, result: Assessment, as_of: date, unknown: list[str], *, from_class: bool
    ) -> None:
        self.ctx = ctx
        self.result = result
        self.as_of = as_of
        self.unknown = unknown  # answered 不清楚 and still deciding something
        self.from_class = from_class
        self.pol = get_policy()

    def t(self, key: str, **fmt: Any) -> str:
        return self.ctx.t(f"eligibility.result.{key}", **fmt)

    def point(self, text: str, article: str) -> str:
        return self.t("point", text=text, article=article)

    def say(self) -> None:
        r = self.result
        self.ctx.say(self.decision())
        if r.eligible is True:
            self.ctx.say(self.subsidies())
        elif r.eligible is None:
            self.ctx.say(self.t("subsidies_later"))
        notes = [self.point(n.text, n.article) for n in r.notes if n.id != "documents"]
        if r.eligible is not False:
            notes.append(self.t("next"))
        key = "choices_eligible" if r.eligible is not False else "choices_other"
        self.ctx.say("\n".join(notes), list(self.ctx.services.texts.raw(f"eligibility.result.{key}")))

    def say_short(self) -> None:
        """The verdict in a phone's screenful: one sentence, the decisive reason and its article."""
        r = self.result
        lines = [self.t(f"header.{_key(r.eligible)}")]
        reason = self._decisive()
        if reason is not None:
            lines.append(self.t("short_reason", text=reason.text.rstrip("。"), article=reason.article) + "。")
        if r.eligible is True:
            names = self.pol.subsidies.subsidies
            yes = [names[s].name for s, sub in r.subsidies.items() if sub.eligible is True]  # type: ignore[index]
            maybe = [names[s].name for s, sub in r.subsidies.items() if sub.eligible is None]  # type: ignore[index]
            joiner = self.t("names_joiner")
            if yes:
                lines.append(self.t("short_subsidies", names=joiner.join(yes)))
            if maybe:
                lines.append(self.t("short_pending", names=joiner.join(maybe)))
        if self.unknown:
            labels = [self.pol.question(f).label for f in self.unknown]
            lines.append(self.t("short_unknown", fields=self.t("field_joiner").join(labels)))
        lines.append(self.t("short_more"))
        key = "choices_short_eligible" if r.eligible is not False else "choices_short_other"
        self.ctx.say("\n".join(lines), list(self.ctx.services.texts.raw(f"eligibility.result.{key}")))

    def _decisive(self) -> Any:
        order: list[str] = self.ctx.services.texts.raw("eligibility.result.decisive")
        by_id = {r.id: r for r in self.result.reasons}
        for rid in order:
            if rid in by_id:
                return by_id[rid]
        return None

    def decision(self) -> str:
        r, pol = self.result, self.pol
        law = self.ctx.services.texts.raw("eligibility.law_title")
        lines = [self.t(f"header.{_key(r.eligible)}"), self.t("basis", law_title=law, document=pol.document)]
        for reason in r.reasons:
            if reason.id == "identity_at_class_end" or self._subsidy_of(reason.id):
                continue
            lines.append(self.point(reason.text, reason.article))
        key = "as_of_class" if self.from_class else "as_of_today"
        note = self.t(key, date=fmt_date(self.ctx, self.as_of))
        lines.append(self.point(note, pol.eligibility.identity.article))
        if self.unknown:
            labels = [pol.question(f).label for f in self.unknown]
            lines.append(self.t("still_needed", fields=self.t("field_joiner").join(labels)))
        return "\n".join(lines)

    def subsidies(self) -> str:
        r, pol = self.result, self.pol
        lines = [self.t("subsidies_title")]
        for sid, sub in r.subsidies.items():
            param = pol.subsidies.subsidies[sid]  # type: ignore[index]
            state = self.t(f"subsidy_state.{_key(sub.eligible)}")
            if sub.eligible is not False and sub.conditions:
                joined = self.t("conditions_joiner").join(sub.conditions)
                state += self.t("subsidy_conditions", conditions=joined)
            lines.append(self.t("subsidy_line", name=param.name, citation=param.citation, state=state))
        for reason in r.reasons:
            sid = self._subsidy_of(reason.id)
            if sid and r.subsidies[sid].eligible is False:
                lines.append(self.point(reason.text, reason.article))
        mine = [d for d in r.document_needs if d.provided_by == "trainee"]
        theirs = [d for d in r.document_needs if d.provided_by != "trainee"]
        if mine:
            lines.append(self.t("documents_title"))
            lines += [self.t("document_line", text=d.text, citation=d.citation) for d in mine]
        if theirs:
            # Short names only: the institution knows the details of its own papers.
            names = self.t("institution_joiner").join(dict.fromkeys(d.text.split("（")[0] for d in theirs))
            lines.append(self.t("institution_documents", items=names))
        return "\n".join(lines)

    @staticmethod
    def _subsidy_of(reason_id: str) -> str | None:
        """The subsidy a reason explains ("living_not_covered" -> "living"), if any."""
        head = reason_id.split("_", 1)[0]
        return head if head in SUBSIDY_IDS else None
