"""Persona dialogues: a trainee with a profile answers whatever the bot asks, in their own words.

The responder looks at the bot's last message, works out which question it
is (by the question wordings in `config/messages/eligibility.yaml`) and
answers with the persona's colloquial answer for that topic. A dialogue
passes when:

- the verdict is the one the policy engine gives for the persona's true
  profile (so a misread negation shows up as a wrong verdict),
- every answer saved agrees with the true profile,
- no question is asked twice and no reply says 没太明白,
- no message offers more than 8 choices and the short verdict fits a phone;

an impatient persona stops midway and must be let go politely.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from bot.policy.eligibility import assess
from bot.policy.schema.questions import PROFILE_FIELDS
from bot.settings import CONFIG_DIR

PERSONA_DIR = Path(__file__).resolve().parent / "personas"
MESSAGES: dict[str, Any] = yaml.safe_load(
    (CONFIG_DIR / "messages" / "eligibility.yaml").read_text(encoding="utf-8")
)
MENU: dict[str, Any] = yaml.safe_load((CONFIG_DIR / "messages" / "menu.yaml").read_text(encoding="utf-8"))
# Stopping is let go by the flow ("先查到这里…") or, for a plain 取消, by the engine's cancel.
LET_GO = (MESSAGES["cancelled"], MENU["cancelled"])
MAX_CHOICES = 8
SHORT_VERDICT_CHARS = 200
MAX_TURNS = 20


@dataclass(frozen=True)
class Persona:
    id: str
    about: str
    opening: str
    answers: dict[str, str]
    profile: dict[str, Any] = field(default_factory=dict)
    eligible: bool | str | None = "unset"
    stop: dict[str, Any] | None = None
    after: tuple[str, ...] = ()


def load_personas(directory: Path = PERSONA_DIR) -> list[Persona]:
    out: list[Persona] = []
    for path in sorted(directory.glob("*.yaml")):
        for item in yaml.safe_load(path.read_text(encoding="utf-8")):
            out.append(
                Persona(
                    id=item["id"],
                    about=item["about"],
                    opening=item["opening"],
                    answers={k: str(v) for k, v in item["answers"].items()},
                    profile=item.get("profile") or {},
                    eligible=item.get("eligible", "unset"),
                    stop=item.get("stop"),
                    after=tuple(item.get("after") or ()),
                )
            )
    return out


def _topics() -> list[tuple[str, str]]:
    q = MESSAGES["questions"]
    specific = [
        ("sex", MESSAGES["sex_question"]["ask"]),
        ("groups_more", q["groups"]["more"]),
        ("groups_sub", q["groups"]["sub_ask"]),
        ("graduation_year", q["graduation_year"]["exact"]),
        ("resume", MESSAGES["resume_offer"]),
    ]
    return specific + [(name, cfg["ask"]) for name, cfg in q.items()]


TOPICS = _topics()


def topic_of(text: str) -> str | None:
    """Which question the bot's message asks (the last one said wins: a lead may quote another)."""
    best: tuple[int, str] | None = None
    for topic, wording in TOPICS:
        pos = text.rfind(wording)
        if pos >= 0 and (best is None or pos > best[0]):
            best = (pos, topic)
    return best[1] if best else None


def verdict_of(text: str) -> bool | str | None:
    """The verdict a result message gives, or "none" when it is no result."""
    for key, header in MESSAGES["result"]["header"].items():
        if header in text:
            return {"true": True, "false": False, "null": None}[key]
    return "none"


@dataclass
class Outcome:
    persona: Persona
    problems: list[str] = field(default_factory=list)
    asked: list[str] = field(default_factory=list)
    transcript: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems

    def report(self) -> str:
        lines = [f"{self.persona.id} ({self.persona.about}): " + "; ".join(self.problems)]
        lines += [f"    {t}" for t in self.transcript]
        return "\n".join(lines)


class Conversation:
    """One persona talking to a ChatDriver-like object (`say`, `text`, `choices`)."""

    def __init__(self, persona: Persona, chat: Any, today: date) -> None:
        self.p = persona
        self.chat = chat
        self.today = today
        self.out = Outcome(persona)

    async def say(self, text: str) -> None:
        self.out.transcript.append(f"> {text}")
        await self.chat.say(text)
        self.out.transcript.append("< " + self.chat.text.replace("\n", " / "))
        if MESSAGES["reask"] in self.chat.text:
            self.out.problems.append(f"没太明白 after {text!r}")
        if len(self.chat.choices) > MAX_CHOICES:
            self.out.problems.append(f"{len(self.chat.choices)} choices in one message")

    async def run(self) -> Outcome:
        await self.say(self.p.opening)
        after = list(self.p.after)
        verdict: bool | str | None = "none"
        for _ in range(MAX_TURNS):
            if self.out.problems:
                return self.out
            verdict = verdict_of(self.chat.text)
            if verdict != "none":
                self._check_short()
                if after:
                    await self.say(after.pop(0))
                    continue
                break
            topic = topic_of(self.chat.text)
            if topic is None:
                self.out.problems.append("the bot asked nothing it could answer")
                return self.out
            if topic in self.out.asked:
                self.out.problems.append(f"asked {topic} twice")
                return self.out
            self.out.asked.append(topic)
            if self.p.stop and len(self.out.asked) > int(self.p.stop["after"]):
                await self.say(str(self.p.stop["say"]))
                if not any(t in self.chat.text for t in LET_GO):
                    self.out.problems.append("stopping midway was not let go with the cancelled message")
                return self.out
            answer = self.p.answers.get(topic)
            if answer is None:
                self.out.problems.append(f"asked {topic}, which this persona did not expect")
                return self.out
            await self.say(answer)
        else:
            self.out.problems.append("no verdict within the turn limit")
            return self.out
        if self.p.stop:
            self.out.problems.append("reached a verdict though the persona stops midway")
        self._check_verdict(verdict)
        return self.out

    def _check_short(self) -> None:
        short = next((r["text"] for r in self.chat.replies if verdict_of(r["text"]) != "none"), "")
        if len(short) > SHORT_VERDICT_CHARS:
            self.out.problems.append(f"verdict of {len(short)} characters")

    def _check_verdict(self, verdict: bool | str | None) -> None:
        truth = assess(self.p.profile, self.today)
        if verdict != truth.eligible:
            self.out.problems.append(f"verdict {verdict}, the true profile gives {truth.eligible}")
        if self.p.eligible != "unset" and self.p.eligible != truth.eligible:
            self.out.problems.append(f"persona expects {self.p.eligible}, its profile gives {truth.eligible}")

    def check_saved(self, profile: dict[str, Any]) -> None:
        """Every saved answer agrees with the persona's truth."""
        if self.p.stop:
            return
        for name in PROFILE_FIELDS:
            if name in profile and profile[name] != self.p.profile.get(name):
                self.out.problems.append(
                    f"saved {name}={profile[name]!r}, truth {self.p.profile.get(name)!r}"
                )
