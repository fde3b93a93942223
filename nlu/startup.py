"""What NLU.load reads from the cache directory or builds once: the segmented knowledge
base and the vocabulary that pinyin and typo correction match against."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import jieba

from nlu.cache import CacheDir
from nlu.config import CommandFile, Lexicon
from nlu.retrieval import KnowledgeIndex
from nlu.tokenizer import Tokenizer

log = logging.getLogger(__name__)

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
    doc_terms: list[list[str]] | None = None
    cached = cache.find(name)
    if cached is not None:
        try:
            loaded = json.loads(cached.read_bytes())
            if isinstance(loaded, list) and all(
                isinstance(d, list) and all(isinstance(t, str) for t in d) for d in loaded
            ):
                doc_terms = loaded
        except (OSError, ValueError) as exc:
            log.warning("ignoring unreadable knowledge index cache %s: %s", cached, exc)
    index = KnowledgeIndex.load(tokenizer, lexicon.retrieval_stopwords, knowledge_dir, doc_terms)
    if doc_terms is None:
        cache.write_bytes(name, json.dumps(index.document_terms(), ensure_ascii=False).encode())
        cache.prune("knowledge-index-", keep=name)
    return index


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
