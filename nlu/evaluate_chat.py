"""The held-out rule questions played through the real conversation engine.

`evaluate_rules` asks the knowledge base alone; people meet it through the
chat, where intent routing, binding and flows come first. This plays every
question as the first message of a fresh conversation in four contexts — an
unbound web user, a bound trainee, and each of them in the eligibility
screening after its first question — and counts it right only when the
first reply the bot sends cites the article and contains every fact.

The engine runs on a throw-away SQLite database with the demo data loaded
(the bound user is a demo trainee), so nothing here touches a real database
and nothing is mocked.
"""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bot.config_file import load_yaml
from nlu.evaluate_rules import RuleQuestion, RuleQuestionFile, RulesReport, says

if TYPE_CHECKING:
    from bot.engine import Engine
    from bot.services import LanguageUnderstanding

CONTEXTS = ("unbound", "bound", "unbound_in_flow", "bound_in_flow")
# The main-menu button that opens the eligibility screening (config/messages/menu.yaml).
FLOW_OPENER = "我能参加补贴培训吗"
FLOW = "eligibility"
CHANNEL = "web"


@dataclass
class ContextReport(RulesReport):
    """The same tally as the knowledge-base figure, for one chat context."""

    context: str = ""


def reply_is_right(question: RuleQuestion, reply: str) -> bool:
    """The article (its base, 第十四条 of 第十四条（四）, is enough) and every fact, in one reply."""
    return question.article in reply and all(says(reply, f) for f in question.fact)


async def _bound_user(engine: Engine, external_id: str) -> None:
    """A web chat account bound to a demo trainee enrolled in a class."""
    from sqlalchemy import select

    from models import ChatUser, Enrollment, Trainee

    services = engine.services
    async with services.db.session() as db:
        trainee_id = (
            await db.execute(
                select(Trainee.id).join(Enrollment, Enrollment.trainee_id == Trainee.id).limit(1)
            )
        ).scalar_one()
        now = services.clock.now()
        db.add(
            ChatUser(
                channel=CHANNEL, external_id=external_id, trainee_id=trainee_id, bound_at=now, created_at=now
            )
        )


async def _play(engine: Engine, context: str, index: int, question: RuleQuestion) -> tuple[bool, str]:
    user = f"eval-{context}-{index}"
    if context.startswith("bound"):
        await _bound_user(engine, user)
    if context.endswith("in_flow"):
        opened = await engine.handle(CHANNEL, user, FLOW_OPENER)
        if opened.meta.get("flow") != FLOW:
            return False, "the screening did not start"
    result = await engine.handle(CHANNEL, user, question.q)
    first = result.replies[0].text if result.replies else ""
    return reply_is_right(question, first), first


async def _evaluate(
    nlu: LanguageUnderstanding, questions: tuple[RuleQuestion, ...], data_dir: Path
) -> list[ContextReport]:
    from bot.clock import LOCAL_TZ, FrozenClock
    from bot.demo import seed_demo
    from bot.engine import Engine
    from bot.services import Services
    from bot.settings import load_settings
    from bot.texts import get_texts
    from models.db import Database

    settings = load_settings(
        database_url=f"sqlite+aiosqlite:///{data_dir / 'eval.sqlite3'}",
        bot_data_dir=data_dir,
        secret_key="evaluate-rules",
        seed_demo=False,
    )
    db = Database(settings.db_url)
    try:
        await db.migrate()
        # A term-time weekday morning, so the demo classes are running and the answers are stable.
        clock = FrozenClock(datetime(2026, 11, 23, 9, 0, tzinfo=LOCAL_TZ))
        services = Services(settings, db, get_texts(), clock, nlu)
        await seed_demo(services)
        engine = Engine(services)
        reports = []
        for context in CONTEXTS:
            report = ContextReport(context=context)
            for i, q in enumerate(questions):
                ok, said = await _play(engine, context, i, q)
                report.total += 1
                if ok:
                    report.right += 1
                else:
                    want = f"{q.article} {'/'.join(q.fact)}"
                    report.misses.append(f"{q.q}  (want {want})  → {said[:80]!r}")
            reports.append(report)
        return reports
    finally:
        await db.dispose()


def evaluate_chat(nlu: LanguageUnderstanding, path: Path) -> list[ContextReport]:
    """One report per context, in CONTEXTS order."""
    questions = load_yaml(RuleQuestionFile, path).questions
    with tempfile.TemporaryDirectory(prefix="evaluate-rules-") as tmp:
        return asyncio.run(_evaluate(nlu, questions, Path(tmp)))


def format_chat_report(reports: list[ContextReport]) -> str:
    lines = ["first reply in the chat (article and fact):"]
    lines += [f"  {r.context:16} {r.right}/{r.total} ({r.share:.1%})" for r in reports]
    for r in reports:
        lines += [f"  miss [{r.context}]: {m}" for m in r.misses]
    return "\n".join(lines)
