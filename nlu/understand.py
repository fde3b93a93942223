"""From a message as typed to an intent: the order of the readings.

1. pinyin runs become Chinese (qiandao → 签到), then the colloquial rewrite
   (俺咋签 → 我怎么签, 👍 → 好的, polite openings cut);
2. an escape anywhere in the message (算了，找个工作人员吧) is a command;
3. exact commands, then the calibrated model;
4. only when that is not understood (out_of_scope or below the clarify
   threshold): the same with homophone typos corrected (取销 → 取消); the
   corrected reading wins only if the model is surer of it. A typo of a word
   of three or more syllables (出琴率) is repaired even when the message looks
   understood (多少 made 出琴率多少 look like a question about amounts): such
   sounds almost never spell another real word;
5. several clauses long and not clearly understood ("我在长春打工，户口在延边，
   上个月刚辞职，补贴能给多少"): the main clause alone, i.e. the last one that
   asks something (else the last one), when the model is sure of it. Voice input
   often has no punctuation at all ("我五十了厂子黄了现在没活干那能学吗"): a long
   message is then cut where a speaker turns to the question (想问, 那, 现在, 但是 …),
   and spaces count as commas;
   a greeting followed only by who the person is ("你好，我是舒兰市的学员") is a
   greeting: there is nothing to answer yet but hello;
6. a message about another public service (户口迁移, 种地补贴) that names
   nothing of vocational training is out_of_scope, not a look-alike intent.
"""

from __future__ import annotations

import re
from functools import lru_cache

from nlu.classifier import IntentClassifier, Prediction
from nlu.config import OUT_OF_SCOPE, Thresholds
from nlu.escapes import EscapeFinder
from nlu.normalize import Normalizer
from nlu.spelling import SpellingIndex
from nlu.text import for_matching
from nlu.topics import TopicGate

# Escapes and exact commands are certain (as in nlu.classifier); so is a
# message about another public service.
CERTAIN = 1.0
CLAUSE = re.compile(r"[^，,。.！!？?；;…\s]+[？?]?")
_ASKS = re.compile(r"[吗？?]|什么|怎么|多少|哪|几|能不能|可不可以|有没有|是不是|给不给|行不行|咋")
# A message needs this many clauses before its main clause is read alone.
_MIN_CLAUSES = 3
# A whole message read this surely is not overruled by a cut of its unpunctuated speech.
_SPOKEN_WHOLE_SURE = 0.8
# Unpunctuated voice input this long is cut where the speaker turns to the question.
_MIN_RUNON = 16
RUNON_TURNS = re.compile(
    r"(?=(?:我)?(?:就是)?想问(?:一下|下|问)?|请问|问一下|问下|但是|可是|不过|所以|结果|然后|现在|"
    r"听说|(?:像我)?这种情况|这样的话|那(?=有没有|能不能|是不是|还|我|这|咱|要|得|就|咋|怎么|多少|啥|什么)|"
    r"(?<=[了的呢啊吧])(?:那个|就是|我想|我要|想学|能不能|有没有|是不是|怎么|什么时候|多少|咋|给不给))"
)
# A greeting, then only who is writing: "你好，我是舒兰市的学员" asks nothing yet.
_GREETING = re.compile(
    r"^[\s，,。！!~～]*(?:喂|哎|唉|嗯|那个|就是|[\s，,。！!~～])*"
    r"(?:你好|您好|哈喽|嗨|老师好|大家好|在吗|在不在)"
)
_SELF_INTRO = re.compile(r"^(?:那个|就是|我们|我|咱|俺)*(?:是|叫|姓|来自|从)[^？?吗呢]*$")
_REQUEST = re.compile(
    r"想|要|帮|请|麻烦|能|可以|怎么|咋|啥|什么|多少|哪|几|吗|有没有|是不是|问|没$|钱|补|签|投诉|举报|到账|出勤|缺"
)
# A main clause this sure overrides a less sure reading of the whole message.
_MAIN_CLAUSE_SURE = 0.9
# Typo repair is for chat messages; a longer paste is read as written.
_MAX_CORRECTED = 200
# Readings remembered (recent distinct chat-sized messages, at most a few hundred bytes each).
_READINGS_KEPT = 2048


class Understanding:
    def __init__(
        self,
        classifier: IntentClassifier,
        normalizer: Normalizer,
        spelling: SpellingIndex,
        escapes: EscapeFinder,
        topics: TopicGate,
        thresholds: Thresholds,
    ) -> None:
        self.classifier = classifier
        self.normalizer = normalizer
        self.spelling = spelling
        self.escapes = escapes
        self.topics = topics
        self.thresholds = thresholds
        # One turn reads its message several times (predict, escapes, exact commands, the
        # knowledge search, the flows' concepts); the reading is a pure function of the text
        # and the config loaded with it, so it is worked out once.
        self._remembered = lru_cache(maxsize=_READINGS_KEPT)(self._write_and_read)

    def reading(self, text: str) -> str:
        """The message in the model's words: pinyin read, dialect and politeness normalised."""
        return self._written_and_read(text)[1]

    def _written_and_read(self, text: str) -> tuple[str, str]:
        if len(text) > _MAX_CORRECTED:
            return self._write_and_read(text)  # a long paste: read once, not kept
        return self._remembered(text)

    def _write_and_read(self, text: str) -> tuple[str, str]:
        """(pinyin read as the words meant, and that normalised): both are needed by `predict`."""
        written = self.spelling.transliterate(text)
        return written, self.normalizer.normalize(written)

    def escape(self, text: str) -> str | None:
        """`cancel` / `human_agent` / `help` asked for anywhere in the message."""
        found = self.escapes.find(self.reading(text))
        if found is None:
            found = self.escapes.find(self.normalizer.normalize(self.spelling.correct(text)))
        return found

    def foreign_topic(self, text: str) -> bool:
        """About another public service (户口迁移, 种地补贴) and nothing of training."""
        return self._foreign(*self._written_and_read(text))

    def _unsure(self, pred: Prediction) -> bool:
        return pred.intent == OUT_OF_SCOPE or pred.confidence < self.thresholds.clarify_below

    def predict(self, text: str, entity_types: tuple[str, ...] = ()) -> Prediction:
        written, reading = self._written_and_read(text)
        escape = self.escapes.find(reading)
        if escape is not None:
            return Prediction(escape, CERTAIN, ((escape, CERTAIN),))
        if self._introduces_self(text, reading):
            return Prediction("greet", CERTAIN, (("greet", CERTAIN),))
        pred = self.classifier.predict(reading, entity_types)
        if not self._unsure(pred) and len(written) <= _MAX_CORRECTED:
            long_fixed = self.normalizer.normalize(self.spelling.correct(written, min_size=3))
            if long_fixed != reading:
                alt = self.classifier.predict(long_fixed, entity_types)
                if alt.intent != OUT_OF_SCOPE and alt.confidence > pred.confidence:
                    pred = alt
        corrected = self._corrected(written, reading) if self._unsure(pred) else None
        if corrected is not None and corrected != reading:
            escape = self.escapes.find(corrected)
            if escape is not None:
                return Prediction(escape, CERTAIN, ((escape, CERTAIN),))
            alt = self.classifier.predict(corrected, entity_types)
            surer = pred.intent == OUT_OF_SCOPE or alt.confidence > pred.confidence
            if alt.intent != OUT_OF_SCOPE and surer:
                pred = alt
        decided_by: str | None = None
        if pred.confidence < CERTAIN:
            # Facts first, then the question ("我是退伍军人，……，今天的课在哪上"): a sure main
            # clause wins over a less sure whole, however sure the facts made the whole.
            main, spoken = self._main_clause(reading)
            if main is not None:
                alt = self.classifier.predict(main, entity_types)
                # A cut of unpunctuated speech loses what its clause refers to ("…签到可是我不会弄"):
                # it only decides when the whole message was not clearly read.
                sure_whole = pred.confidence >= (_SPOKEN_WHOLE_SURE if spoken else CERTAIN)
                surer = alt.confidence >= _MAIN_CLAUSE_SURE and alt.confidence > pred.confidence
                good = (surer and not sure_whole) or (self._unsure(pred) and not self._unsure(alt))
                if alt.intent != OUT_OF_SCOPE and good:
                    pred, decided_by = alt, main
        if (
            pred.intent != OUT_OF_SCOPE
            and pred.confidence < CERTAIN
            and self._foreign_read(written, reading, corrected, decided_by)
        ):
            return Prediction(OUT_OF_SCOPE, CERTAIN, ((OUT_OF_SCOPE, CERTAIN),))
        return pred

    def _introduces_self(self, text: str, reading: str) -> bool:
        """Hello and a name or a place, nothing asked: a greeting however long."""
        if _GREETING.match(for_matching(text)) is None:
            return False
        rest = self.normalizer.strip_politeness(reading)
        rest = _GREETING.sub("", rest).strip(" ，,。！!~～")
        return bool(rest) and _SELF_INTRO.match(rest) is not None and _REQUEST.search(rest) is None

    @staticmethod
    def _main_clause(reading: str) -> tuple[str | None, bool]:
        """The clause that carries the request, and whether it was cut from unpunctuated speech."""
        clauses = [c for c in (m.group(0).strip() for m in CLAUSE.finditer(reading)) if c]
        spoken = False
        if len(clauses) < _MIN_CLAUSES:
            pieces = [c for c in RUNON_TURNS.split(clauses[-1]) if len(c) >= 2] if clauses else []
            if len(clauses[-1] if clauses else "") < _MIN_RUNON or len(pieces) < 2:
                return None, False
            clauses, spoken = clauses[:-1] + pieces, True
        asking = [c for c in clauses if _ASKS.search(c)]
        return (asking or clauses)[-1], spoken

    def _corrected(self, written: str, reading: str) -> str:
        """The reading with homophone typos repaired (取销 → 取消); `reading` itself for long text."""
        if len(written) > _MAX_CORRECTED:
            return reading
        return self.normalizer.normalize(self.spelling.correct(written))

    def _foreign_read(
        self, written: str, reading: str, corrected: str | None, decided_by: str | None
    ) -> bool:
        """When the question decided, it is what must not be about another service
        ("家里俩孩子上学……学完了补贴给多少" names school but asks about ours)."""
        if decided_by is not None:
            return self.topics.foreign_topic(decided_by) is not None
        return self._foreign(written, reading, corrected)

    def _foreign(self, written: str, reading: str, corrected: str | None = None) -> bool:
        """About another public service, read with typos corrected: a typo can hide the other
        service (户口签移) or the word that makes it ours ("补贴陪训的钱…失业保险也出钱吗" asks
        where the training money comes from, 第二条). The corrected reading goes through the
        whole gate, look-alikes (驾校陪训) included."""
        if corrected is None:
            corrected = self._corrected(written, reading)
        return self.topics.foreign_topic(corrected) is not None
