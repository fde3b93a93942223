"""The language-understanding service the rest of the bot talks to.

    nlu = NLU.load(settings.data_dir / "nlu-cache")   # once, at start-up
    p = nlu.parse("明天的课在哪上？")                   # intent, confidence, entities
    a = nlu.answer_question("线上培训算不算？")          # PolicyAnswer or None

Loading reads the jieba dictionary and the trained intent model from the
cache directory when they are there (about half a second) and otherwise
builds and stores them (a few seconds, once). The model is retrained
whenever the training data or its parameters change: the cache file name
carries a digest of those files.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import jieba

from nlu.cache import CacheDir
from nlu.classifier import CommandTable, IntentClassifier
from nlu.config import (
    DEFAULT_CONFIG_DIR,
    MODEL_INPUT_FILES,
    OUT_OF_SCOPE,
    CommandFile,
    ConfigError,
    GroupFile,
    IntentFile,
    Lexicon,
    ModelParams,
    fingerprint,
    load_concepts,
    load_examples,
    load_model,
    read_yaml,
)
from nlu.entities import EntityExtractor
from nlu.escapes import EscapeFinder
from nlu.features import Featurizer
from nlu.ids import IdCardCheck
from nlu.knowledge import KNOWLEDGE_DIR
from nlu.model import FORMAT_VERSION, LinearModel
from nlu.normalize import Normalizer
from nlu.retrieval import KnowledgeIndex, Match, to_answer
from nlu.shanghai import today_in_shanghai
from nlu.spelling import SpellingIndex
from nlu.startup import FEATURE_VERSION, cached_vocabulary, load_knowledge_index
from nlu.text import is_blank
from nlu.text_cache import TextCache, cacheable
from nlu.tokenizer import Tokenizer
from nlu.topics import TopicGate
from nlu.training import entity_feature_types, feature_rows, feature_types, fit
from nlu.types import Entity, Parse, PolicyAnswer
from nlu.understand import Understanding

log = logging.getLogger(__name__)

# Longest message we analyse. Chat messages are a sentence or two; anything
# far longer is a paste or an attack, and refusing it up front keeps every
# parse within a millisecond or so.
MAX_TEXT = 2000

# Intents never offered as one of two clarifying choices: "did you mean yes
# or no?" helps nobody.
_NOT_A_CHOICE = frozenset({OUT_OF_SCOPE, "affirm", "deny"})


class TextTooLong(ValueError):
    """The message exceeds MAX_TEXT characters; nothing was analysed."""

    def __init__(self, length: int, limit: int = MAX_TEXT) -> None:
        super().__init__(f"text is {length} characters long; the limit is {limit}")
        self.length = length
        self.limit = limit


@dataclass
class LoadReport:
    """What start-up did, for logs and the benchmark."""

    seconds: float = 0.0
    dictionary_from_cache: bool = False
    model_from_cache: bool = False
    warnings: list[str] = field(default_factory=list)


# Answers to the same short questions, kept per loaded model (nlu.text_cache).
ANSWERS_KEPT = 2048


class NLU:
    def __init__(
        self,
        *,
        params: ModelParams,
        extractor: EntityExtractor,
        classifier: IntentClassifier,
        understanding: Understanding,
        policy: KnowledgeIndex,
        labels: dict[str, str],
        messages: dict[str, str],
        report: LoadReport,
    ) -> None:
        self.params = params
        self.extractor = extractor
        self.classifier = classifier
        self.understanding = understanding
        self.policy = policy
        self.labels = labels
        self.messages = messages
        self.report = report
        # An answer is a pure function of the text, the parse's intent and the bar.
        self._answers: TextCache[tuple[str, str, float | None], PolicyAnswer | None] = TextCache(ANSWERS_KEPT)

    # ------------------------------------------------------------------ load
    @classmethod
    def load(
        cls, cache_dir: Path, config_dir: Path = DEFAULT_CONFIG_DIR, knowledge_dir: Path = KNOWLEDGE_DIR
    ) -> NLU:
        """Build the service; safe to call from several processes at once."""
        started = time.perf_counter()
        config_dir = Path(config_dir)
        cache = CacheDir(Path(cache_dir))
        report = LoadReport()

        params: ModelParams = load_model(ModelParams, config_dir / "model.yaml")
        lexicon: Lexicon = load_model(Lexicon, config_dir / "lexicon.yaml")
        groups: GroupFile = load_model(GroupFile, config_dir / "groups.yaml")
        commands: CommandFile = load_model(CommandFile, config_dir / "commands.yaml")
        intents: IntentFile = load_model(IntentFile, config_dir / "intents.yaml")
        messages = read_yaml(config_dir / "messages.yaml")
        if not isinstance(messages, dict):
            raise ConfigError("messages.yaml: expected a mapping of message id → text")

        tokenizer = Tokenizer(cache, config_dir / "domain_dict.txt")
        report.dictionary_from_cache = tokenizer.from_cache
        normalizer = Normalizer.load(config_dir)
        featurizer = Featurizer(
            tokenizer,
            load_concepts(config_dir / "concepts.yaml"),
            params.features.char_ngram_min,
            params.features.char_ngram_max,
            params.features.word_bigrams,
            normalizer,
        )
        extractor = EntityExtractor(lexicon, groups)

        salt = f"{FEATURE_VERSION}/{FORMAT_VERSION}/jieba-{jieba.__version__}"
        key = fingerprint(config_dir, MODEL_INPUT_FILES, salt)
        name = f"intent-model-{key}.npz"
        model: LinearModel | None = None
        examples = load_examples(config_dir / "train.yaml")
        cached = cache.find(name)
        if cached is not None:
            try:
                model = LinearModel.from_bytes(cached.read_bytes())
                report.model_from_cache = True
            except (OSError, ValueError, KeyError) as exc:
                log.warning("ignoring unreadable NLU model cache %s: %s", cached, exc)
        if model is None:
            rows = feature_rows(featurizer, extractor, [t for t, _ in examples])
            model = fit(rows, [i for _, i in examples], params)
            cache.write_bytes(name, model.to_bytes())
            cache.prune("intent-model-", keep=name)

        table = CommandTable(commands)
        classifier = IntentClassifier(model, featurizer, table, params.temperature, params.thresholds)
        understanding = Understanding(
            classifier,
            normalizer,
            SpellingIndex.load(cached_vocabulary(cache, tokenizer, examples, commands), config_dir, cache),
            EscapeFinder(commands, table),
            TopicGate.load(config_dir),
            params.thresholds,
        )
        policy = load_knowledge_index(cache, config_dir, Path(knowledge_dir), tokenizer, lexicon)
        report.warnings = list(cache.warnings)
        report.seconds = time.perf_counter() - started
        return cls(
            params=params,
            extractor=extractor,
            classifier=classifier,
            understanding=understanding,
            policy=policy,
            labels={k: v.label for k, v in intents.intents.items()},
            messages={str(k): str(v) for k, v in messages.items()},
            report=report,
        )

    # ----------------------------------------------------------------- parse
    def parse(self, text: str, today: date | None = None) -> Parse:
        """Intent, calibrated confidence, entities and the top-3 alternatives.

        Raises TextTooLong (before any work) above MAX_TEXT characters.
        Empty or whitespace-only text is `out_of_scope` with confidence 0
        (emoji that mean something, such as 👍, are read as their word).
        """
        _check_length(text)
        if is_blank(text) and self.understanding.normalizer.emoji_word(text) is None:
            return Parse(OUT_OF_SCOPE, 0.0)
        day = today or today_in_shanghai()
        entities, id_like = self.extractor.analyse(text, day)
        pred = self.understanding.predict(text, feature_types(entities, id_like))
        return Parse(pred.intent, pred.confidence, entities, pred.alternatives)

    def extract_entities(self, text: str, today: date | None = None) -> tuple[Entity, ...]:
        """Entities only, for flows that read their own answers."""
        _check_length(text)
        return self.extractor.extract(text, today or today_in_shanghai())

    def answer_question(
        self, text: str, parse: Parse | None = None, min_coverage: float | None = None
    ) -> PolicyAnswer | None:
        """The knowledge-base answer to a rule question, or None when we do not know.

        Retrieval and the intent classifier together: a message the classifier
        finds nothing of ours in (out_of_scope) needs a closer match to be answered.
        None for a question about another public service: 第十七条 is no answer
        to "种地补贴到账了吗", however many words they share. `min_coverage` replaces the
        usual threshold (the conversation's lower bar when the alternative is to ask back).
        """
        _check_length(text)
        if not cacheable(text):
            return self._answer(text, parse, min_coverage)
        parse = parse or self.parse(text)
        key = (text, parse.intent, min_coverage)
        found, answer = self._answers.lookup(key)
        if not found:
            answer = self._answer(text, parse, min_coverage)
            self._answers.keep(key, answer)
        return answer

    def _answer(self, text: str, parse: Parse | None, min_coverage: float | None) -> PolicyAnswer | None:
        if is_blank(text) or self.understanding.foreign_topic(text):
            return None
        parse = parse or self.parse(text)
        # The search reads what the classifier reads: pinyin, 东北话 and politeness normalised.
        reading = self.understanding.reading(text)
        out_of_scope = parse.intent == OUT_OF_SCOPE
        return self.policy.answer(reading, out_of_scope=out_of_scope, intent=parse.intent, need=min_coverage)

    def rule_entry(self, entry_id: str) -> PolicyAnswer | None:
        """One knowledge-base entry as an answer, by id (the general rule behind a personal request)."""
        entry = self.policy.kb.by_id.get(entry_id)
        return None if entry is None else to_answer(Match(entry, 1.0, 0.0))

    def match_question(self, text: str) -> Match | None:
        """The best knowledge-base entry with its coverage, below the threshold too (for evaluation)."""
        _check_length(text)
        if is_blank(text):
            return None
        return self.policy.search(self.understanding.reading(text))

    # --------------------------------------------------- conversation helpers
    def global_command(self, text: str) -> str | None:
        """`cancel`, `human_agent` or `help` when the message is one of those
        commands or asks for one inside a sentence ("算了，帮我找个工作人员吧")."""
        if len(text) > MAX_TEXT:
            return None
        return self.understanding.escape(text)

    def exact_command(self, text: str) -> str | None:
        """The intent of an exact command or menu label (签到, 取消 …); None for free text.

        Also when the message reads as one: "可不咋的" is 是的 and "👌" 好的, an
        answer and never a question for the knowledge base.
        """
        if len(text) > MAX_TEXT:
            return None
        commands = self.classifier.commands
        return commands.exact(text) or commands.exact(self.understanding.reading(text))

    def clarify(self, parse: Parse) -> tuple[str] | tuple[str, str] | None:
        """What to ask about when `parse` is too unsure to act on.

        One intent when one meaning is likely ("您是想签到吗？"), the two
        likeliest when two are, None when nothing is likely enough to offer.
        """
        th = self.params.thresholds
        unsure = parse.intent == OUT_OF_SCOPE or parse.confidence < th.clarify_below
        if not unsure:
            return None
        choices = [(i, p) for i, p in parse.alternatives if i not in _NOT_A_CHOICE]
        if not choices:
            return None
        first, p1 = choices[0]
        p2 = choices[1][1] if len(choices) > 1 else 0.0
        if p2 < th.clarify_min_choice or p1 >= th.clarify_one_ratio * p2:
            return (first,) if p1 >= th.clarify_one_min else None
        return first, choices[1][0]

    def clarify_question(self, parse: Parse) -> tuple[str, list[str]] | None:
        """The clarifying question and its choice labels, ready to send.

        Two meanings: the labels of both and 都不是. One: 是的 / 不是.
        """
        pair = self.clarify(parse)
        if pair is None:
            return None
        if len(pair) == 1:
            question = self.messages["clarify_one"].format(label=self.labels[pair[0]])
            return question, [self.messages["clarify_yes"], self.messages["clarify_no"]]
        first, second = (self.labels[i] for i in pair)
        question = self.messages["clarify"].format(first=first, second=second)
        return question, [first, second, self.messages["clarify_neither"]]

    def intent_for_label(self, label: str) -> str | None:
        """Which intent a clarifying-choice label stands for (the user pressed it)."""
        for intent, lab in self.labels.items():
            if lab == label.strip():
                return intent
        return None

    def id_card_issue(self, text: str) -> IdCardCheck | None:
        """Why the ID-card number in `text` was refused; None if it is fine or absent.

        Lets the conversation say "the number looks wrong" instead of
        ignoring a mistyped number.
        """
        candidates = self.extractor.id_card_candidates(text[:MAX_TEXT])
        if not candidates or any(c.check is IdCardCheck.VALID for c in candidates):
            return None
        return candidates[0].check

    def transliterate(self, text: str) -> str:
        """Pinyin runs as the Chinese words meant ("zai gongdi dagong" → 在工地打工); the rest as written.

        For flows that read their own answers from the text: someone who
        types pinyin answers the questions in pinyin too.
        """
        if len(text) > MAX_TEXT:
            return text
        return self.understanding.spelling.transliterate(text)

    def concepts(self, text: str) -> set[str]:
        """The synonym groups of config/nlu/concepts.yaml the message names, read as the model reads it.

        Lets a flow tell a grievance (`complain`: 投诉, 骗, 乱收费 …) from a
        statement of one's situation that the model finds close to one.
        """
        if len(text) > MAX_TEXT or is_blank(text):
            return set()
        return self.classifier.featurizer.concepts(self.understanding.reading(text))

    def intent_features(self, text: str) -> list[str]:
        """The model's features of a message (for debugging and `python -m nlu parse -v`)."""
        types = entity_feature_types(self.extractor, text, today_in_shanghai())
        return sorted(self.classifier.featurizer.features(self.understanding.reading(text), types))

    def describe(self) -> dict[str, Any]:
        return {
            "intents": list(self.classifier.model.labels),
            "features": len(self.classifier.model.vocab),
            "temperature": self.classifier.temperature,
            "thresholds": self.params.thresholds.model_dump(),
            "load_seconds": round(self.report.seconds, 3),
            "dictionary_from_cache": self.report.dictionary_from_cache,
            "model_from_cache": self.report.model_from_cache,
        }


def _check_length(text: str) -> None:
    if len(text) > MAX_TEXT:
        raise TextTooLong(len(text))
