"""Other public services, kept out of the training bot's intents.

"户口迁移要带什么材料" shares 要带什么材料 with a documents question and "种地
补贴到账了吗" shares 补贴到账 with a claim question; a bag of n-grams cannot
tell them apart, and a confident wrong answer about the wrong subsidy is
worse than "I don't know". A message that names another service
(`config/nlu/offtopic.yaml`) and nothing of vocational training is out of
scope before the model is asked. Entries starting with "re:" are regular
expressions (种地 alone is what many trainees do for a living; 种地 near 补贴
is the farm subsidy).

Some look-alikes name our words themselves: "考公务员培训班哪家好" and
"驾校报名要带啥" say 培训/报名 but are exam coaching, schooling or a driving
licence, never subsidised vocational training. Those (`foreign_always`) are
out of scope even beside a domain word, unless the message also names a
skill of ours or a key word of the programme (`skill_anchors`: 电工, 补贴培训 …).
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from nlu.config import DEFAULT_CONFIG_DIR, load_model


class OfftopicFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    foreign_topics: tuple[str, ...]
    domain_anchors: tuple[str, ...]
    foreign_always: tuple[str, ...] = ()
    skill_anchors: tuple[str, ...] = ()


_REGEX = "re:"


def _alternation(words: tuple[str, ...]) -> re.Pattern[str] | None:
    """One pattern for the entries; an entry starting with "re:" is a regular expression."""
    plain = sorted((w for w in words if w and not w.startswith(_REGEX)), key=len, reverse=True)
    parts = [w[len(_REGEX) :] for w in words if w.startswith(_REGEX)] + [re.escape(w) for w in plain]
    return re.compile("|".join(f"(?:{p})" for p in parts)) if parts else None


class TopicGate:
    def __init__(self, data: OfftopicFile) -> None:
        self._foreign = _alternation(data.foreign_topics)
        self._anchors = _alternation(data.domain_anchors)
        self._always = _alternation(data.foreign_always)
        self._skills = _alternation(data.skill_anchors)

    @classmethod
    def load(cls, config_dir: Path = DEFAULT_CONFIG_DIR) -> TopicGate:
        return cls(load_model(OfftopicFile, config_dir / "offtopic.yaml"))

    def foreign_topic(self, text: str) -> str | None:
        """The other service the message is about (户口迁移), or None."""
        if self._always is not None:
            m = self._always.search(text)
            if m is not None and (self._skills is None or self._skills.search(text) is None):
                return m.group(0)
        if self._foreign is None:
            return None
        m = self._foreign.search(text)
        if m is None:
            return None
        if self._anchors is not None and self._anchors.search(text):
            return None
        return m.group(0)
