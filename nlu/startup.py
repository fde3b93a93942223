"""What NLU.load reads from the cache directory or builds once: the segmented knowledge
base and the vocabulary that pinyin and typo correction match against."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import jieba

from nlu.cache import CacheDir
from nlu.config import CommandFile, Lexicon
from nlu.retrieval import KnowledgeIndex
from nlu.tokenizer import Tokenizer

# Bump when feature extraction changes meaning, so cached models are retrained.
FEATURE_VERSION = "features-2"


def load_knowledge_index(
    cache: CacheDir, config_dir: Path, knowledge_dir: Path, tokenizer: Tokenizer, lexicon: Lexicon
) -> KnowledgeIndex:
    """The knowledge-base index, its segmented documents read from the cache when possible.

    Segmenting some 1,300 phrasings takes about 0.4 s, most of a warm start;
    the cache is keyed by every file that decides the segmentation.
    """
    digest = hashlib.sha256(f"{FEATURE_VERSION}/jieba-{jieba.__version__}".encode())
    files = [config_dir / "domain_dict.txt", config_dir / "lexicon.yaml", knowledge_dir / "retrieval.yaml"]
    for path in [*files, *sorted((knowledge_dir / "entries").glob("*.yaml"))]:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    name = f"knowledge-index-{digest.hexdigest()[:16]}.json"
    doc_terms = cache.read_json(name, _is_doc_terms)
    index = KnowledgeIndex.load(tokenizer, lexicon.retrieval_stopwords, knowledge_dir, doc_terms)
    if doc_terms is None:
        cache.write_json(name, index.document_terms(), "knowledge-index-")
    return index


def cached_vocabulary(
    cache: CacheDir, tokenizer: Tokenizer, examples: list[tuple[str, str]], commands: CommandFile
) -> list[tuple[str, int]]:
    """`vocabulary`, read from the cache when its inputs are the same.

    Segmenting every training example took about 90 ms of each warm start (issue 17).
    The key is a digest of the inputs themselves (the example texts, the domain words,
    the command phrases, in order) and of jieba's version, which fixes its dictionary;
    the order of the words is kept, as the spelling index breaks ties by it.
    """
    phrases = [list(p) for table in (commands.exact, commands.global_commands) for p in table.values()]
    inputs = [[t for t, _ in examples], tokenizer.domain_words, phrases]
    digest = hashlib.sha256(f"{FEATURE_VERSION}/jieba-{jieba.__version__}/".encode())
    digest.update(json.dumps(inputs, ensure_ascii=False).encode())
    name = f"vocabulary-{digest.hexdigest()[:16]}.json"
    loaded = cache.read_json(name, _is_word_counts)
    if loaded is not None:
        return [(word, count) for word, count in loaded]
    words = vocabulary(tokenizer, examples, commands)
    cache.write_json(name, words, "vocabulary-")
    return words


def _is_doc_terms(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(d, list) and all(isinstance(t, str) for t in d) for d in value
    )


def _is_word_counts(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str) and type(pair[1]) is int
        for pair in value
    )


def vocabulary(
    tokenizer: Tokenizer, examples: list[tuple[str, str]], commands: CommandFile
) -> list[tuple[str, int]]:
    """Words the bot knows, with how often the training data uses them (for pinyin and typos)."""
    counts: dict[str, int] = {}
    for text, _ in examples:
        for w in tokenizer.cut(text):
            counts[w] = counts.get(w, 0) + 1
    for word, _ in tokenizer.domain_words:
        counts[word] = counts.get(word, 0) + 1
    for table in (commands.exact, commands.global_commands):
        for phrases in table.values():
            for p in phrases:
                counts[p] = counts.get(p, 0) + 1
    return list(counts.items())
