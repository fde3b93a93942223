"""How good the intent model and the policy retrieval are, in numbers.

`python -m nlu evaluate` prints:
* stratified k-fold cross-validated accuracy of the model on train.yaml
  (vocabulary and weights fitted on the training folds only);
* per-intent precision / recall / F1 and the most frequent confusions;
* calibration: the temperature that minimises the out-of-fold negative
  log-likelihood and the expected calibration error before/after it;
* the out-of-scope threshold table (what share is refused, how many accepted
  answers are wrong) so the value in model.yaml is a measured choice;
* accuracy on heldout.yaml (phrasings never trained on) through the real
  `parse` path: exact commands, model, temperature and threshold;
* the same on heldout_trainee.yaml (how trainees in Jilin write: dialect,
  pinyin, homophone typos, emoji, voice run-ons …) and heldout_trainee_b.yaml
  (written after tuning on the first), each broken down by style, and on the
  development sets dev_trainee.yaml / dev_trainee_2.yaml (see their headers), and on
  heldout_trainee_c.yaml, written blind by someone who never saw the data or an error;
* policy retrieval against policy_questions.yaml.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict

from nlu.config import DEFAULT_CONFIG_DIR, INTENTS, OUT_OF_SCOPE, load_examples, read_yaml
from nlu.core import NLU
from nlu.knowledge import ARTICLE
from nlu.model import softmax
from nlu.training import feature_rows, fit

TEMPERATURE_GRID = tuple(round(0.3 + 0.05 * i, 2) for i in range(55))  # 0.30 … 3.00
THRESHOLD_GRID = tuple(round(0.15 + 0.05 * i, 2) for i in range(12))  # 0.15 … 0.70
CALIBRATION_BINS = 10


class _Question(BaseModel):
    model_config = ConfigDict(extra="forbid")
    q: str
    article: str | None


class _QuestionFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    questions: list[_Question]


class StyledUtterance(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    text: str
    intent: str
    style: str


class _StyledFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    utterances: list[StyledUtterance]


TRAINEE_HELDOUT = "heldout_trainee.yaml"
# Written after the language work was tuned on TRAINEE_HELDOUT: the check that it generalises.
TRAINEE_HELDOUT_B = "heldout_trainee_b.yaml"
# Written per class of error of the two sets above, before the fixes it checks;
# never trained on (see the file's header).
TRAINEE_DEV = "dev_trainee.yaml"
# Written after those fixes and run once: the untuned check of them.
TRAINEE_DEV_2 = "dev_trainee_2.yaml"
# Written for the fourth round before its fixes, weighted to the styles set C found weakest
# (dialect, run-on, pinyin, one-word answers, other services); dev, tuned on.
TRAINEE_DEV_3 = "dev_trainee_3.yaml"
# Written after the fixes tuned on TRAINEE_DEV_3 and run once: their untuned check.
TRAINEE_DEV_4 = "dev_trainee_4.yaml"
# Written blind (2026-12-02) by someone who had seen neither the training data nor any error,
# after the work on the sets above was done; run once. The product's honest figure.
TRAINEE_HELDOUT_C = "heldout_trainee_c.yaml"
# Set C's errors were studied in the fourth round, so it is spent. Set D (366) was written
# blind the same day, while that round ran, by someone who saw nothing of ours; run once
# after the round merged. The product's honest figure now.
TRAINEE_HELDOUT_D = "heldout_trainee_d.yaml"
# The sets that may share no phrasing with training; the blind sets C and D were written
# without seeing it, so a few everyday phrasings coincide (the leak test counts them).
UNSHARED_SETS = (TRAINEE_HELDOUT, TRAINEE_HELDOUT_B, TRAINEE_DEV, TRAINEE_DEV_2, TRAINEE_DEV_3, TRAINEE_DEV_4)
STYLED_SETS = (*UNSHARED_SETS, TRAINEE_HELDOUT_C, TRAINEE_HELDOUT_D)


def load_styled(path: Path) -> list[StyledUtterance]:
    """The style-tagged held-out set; unknown intents are a data error, not a miss."""
    items = _StyledFile.model_validate(read_yaml(path)).utterances
    unknown = sorted({u.intent for u in items} - set(INTENTS))
    if unknown:
        raise ValueError(f"{path.name}: unknown intents {unknown}")
    return items


@dataclass
class StyledScore:
    n: int
    accuracy: float
    by_style: dict[str, tuple[int, int]]  # style → (right, total)
    errors: list[tuple[str, str, str, str, float]]  # style, text, expected, got, confidence


def score_styled(nlu: NLU, items: list[StyledUtterance]) -> StyledScore:
    by_style: dict[str, list[int]] = {}
    errors = []
    for u in items:
        p = nlu.parse(u.text)
        tally = by_style.setdefault(u.style, [0, 0])
        tally[1] += 1
        if p.intent == u.intent:
            tally[0] += 1
        else:
            errors.append((u.style, u.text, u.intent, p.intent, p.confidence))
    right = sum(r for r, _ in by_style.values())
    return StyledScore(
        n=len(items),
        accuracy=right / len(items) if items else 0.0,
        by_style={k: (r, n) for k, (r, n) in by_style.items()},
        errors=errors,
    )


@dataclass
class IntentScores:
    precision: float
    recall: float
    f1: float
    support: int


@dataclass
class Report:
    n_examples: int
    folds: int
    cv_accuracy: float
    cv_accuracy_by_fold: list[float]
    per_intent: dict[str, IntentScores]
    confusions: list[tuple[str, str, int]]
    fitted_temperature: float
    configured_temperature: float
    ece_raw: float
    ece_calibrated: float
    nll_raw: float
    nll_calibrated: float
    threshold_table: list[dict[str, float]]
    configured_threshold: float
    heldout_accuracy: float
    heldout_n: int
    heldout_errors: list[tuple[str, str, str, float]]
    retrieval: dict[str, Any] = field(default_factory=dict)
    trainee: dict[str, StyledScore] = field(default_factory=dict)


def stratified_folds(labels: list[str], k: int, seed: int) -> np.ndarray:
    """Fold number per example; each intent spread evenly over the folds."""
    rng = np.random.default_rng(seed)
    fold = np.empty(len(labels), dtype=np.int64)
    by_label: dict[str, list[int]] = {}
    for i, lab in enumerate(labels):
        by_label.setdefault(lab, []).append(i)
    for lab in sorted(by_label):
        idx = np.asarray(by_label[lab])
        rng.shuffle(idx)
        fold[idx] = np.arange(len(idx)) % k
    return fold


def _nll(logits: np.ndarray, y: np.ndarray, t: float) -> float:
    p = softmax(logits / t)
    return float(-np.mean(np.log(np.clip(p[np.arange(len(y)), y], 1e-12, None))))


def _ece(prob: np.ndarray, y: np.ndarray) -> float:
    conf = prob.max(axis=1)
    correct = prob.argmax(axis=1) == y
    ece = 0.0
    edges = np.linspace(0, 1, CALIBRATION_BINS + 1)
    for lo, hi in itertools.pairwise(edges):
        in_bin = (conf > lo) & (conf <= hi)
        if in_bin.any():
            ece += in_bin.mean() * abs(conf[in_bin].mean() - correct[in_bin].mean())
    return float(ece)


def evaluate(nlu: NLU, config_dir: Path = DEFAULT_CONFIG_DIR) -> Report:
    params = nlu.params
    examples = load_examples(config_dir / "train.yaml")
    texts = [t for t, _ in examples]
    labels = [i for _, i in examples]
    featurizer = nlu.classifier.featurizer
    rows = feature_rows(featurizer, nlu.extractor, texts)
    label_index = {lab: i for i, lab in enumerate(INTENTS)}
    y = np.asarray([label_index[lab] for lab in labels])

    k = params.training.folds
    fold = stratified_folds(labels, k, params.training.seed)
    oof = np.zeros((len(rows), len(INTENTS)), dtype=np.float64)
    for f in range(k):
        train_idx = np.flatnonzero(fold != f)
        test_idx = np.flatnonzero(fold == f)
        model = fit([rows[i] for i in train_idx], [labels[i] for i in train_idx], params)
        oof[test_idx] = model.logits([rows[i] for i in test_idx])
    pred = oof.argmax(axis=1)
    acc_by_fold = [float((pred[fold == f] == y[fold == f]).mean()) for f in range(k)]

    per_intent: dict[str, IntentScores] = {}
    for i, intent in enumerate(INTENTS):
        tp = int(((pred == i) & (y == i)).sum())
        fp = int(((pred == i) & (y != i)).sum())
        fn = int(((pred != i) & (y == i)).sum())
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        per_intent[intent] = IntentScores(p, r, f1, int((y == i).sum()))
    pairs = Counter((INTENTS[a], INTENTS[b]) for a, b in zip(y, pred, strict=True) if a != b)
    confusions = [(t, p, n) for (t, p), n in pairs.most_common(10)]

    fitted_t = min(TEMPERATURE_GRID, key=lambda t: _nll(oof, y, t))
    t_conf = params.temperature
    prob = softmax(oof / t_conf)
    table = []
    for th in THRESHOLD_GRID:
        top = prob.argmax(axis=1)
        top_p = prob.max(axis=1)
        refused = (top_p < th) & (top != label_index[OUT_OF_SCOPE])
        final = np.where(refused, label_index[OUT_OF_SCOPE], top)
        accepted = ~refused
        wrong_accepted = float(((final != y) & accepted).sum() / max(accepted.sum(), 1))
        table.append(
            {
                "threshold": th,
                "accuracy": float((final == y).mean()),
                "refused": float(refused.mean()),
                "wrong_when_accepted": wrong_accepted,
            }
        )

    heldout = load_examples(config_dir / "heldout.yaml")
    errors = []
    for text, gold in heldout:
        p = nlu.parse(text)
        if p.intent != gold:
            errors.append((text, gold, p.intent, p.confidence))

    return Report(
        n_examples=len(rows),
        folds=k,
        cv_accuracy=float((pred == y).mean()),
        cv_accuracy_by_fold=acc_by_fold,
        per_intent=per_intent,
        confusions=confusions,
        fitted_temperature=fitted_t,
        configured_temperature=t_conf,
        ece_raw=_ece(softmax(oof), y),
        ece_calibrated=_ece(prob, y),
        nll_raw=_nll(oof, y, 1.0),
        nll_calibrated=_nll(oof, y, t_conf),
        threshold_table=table,
        configured_threshold=params.thresholds.out_of_scope_below,
        heldout_accuracy=1 - len(errors) / len(heldout),
        heldout_n=len(heldout),
        heldout_errors=errors,
        retrieval=evaluate_retrieval(nlu, config_dir),
        trainee={
            name: score_styled(nlu, load_styled(config_dir / name))
            for name in STYLED_SETS
            if (config_dir / name).is_file()
        },
    )


def _base_article(article: str | None) -> str | None:
    """第十四条 of 第十四条（四）: the development questions name the article, not always the item."""
    if article is None:
        return None
    m = ARTICLE.match(article)
    return m.group(1) if m else article


def evaluate_retrieval(nlu: NLU, config_dir: Path = DEFAULT_CONFIG_DIR) -> dict[str, Any]:
    """The knowledge base on the development questions, at the configured thresholds and others."""
    data = _QuestionFile.model_validate(read_yaml(config_dir / "policy_questions.yaml"))
    index = nlu.policy
    results = []
    for item in data.questions:
        match = index.search(item.q)
        oos = nlu.parse(item.q).intent == OUT_OF_SCOPE
        article = match.entry.base_article if match else None
        results.append((item, match.coverage if match else 0.0, article, oos))
    low, high = index.config.min_coverage, index.config.min_coverage_out_of_scope

    def outcome(lo: float, hi: float) -> tuple[int, list[str]]:
        right, wrong = 0, []
        for item, coverage, article, oos in results:
            answered = article if coverage >= (hi if oos else lo) else None
            if answered == _base_article(item.article):
                right += 1
            else:
                wrong.append(
                    f"{item.q} → {answered or '不知道'} (应为 {item.article or '不知道'}, {coverage:.2f})"
                )
        return right, wrong

    table = [
        {"min_coverage": th, "correct": outcome(th, max(th, high))[0]}
        for th in np.round(np.arange(0.1, 0.65, 0.05), 2)
    ]
    right, wrong = outcome(low, high)
    return {
        "n": len(results),
        "correct": right,
        "accuracy": right / len(results),
        "min_score": f"{low} / {high} (out_of_scope)",
        "errors": wrong,
        "table": table,
    }


def format_report(r: Report) -> str:
    lines = [
        f"Intent model: {r.n_examples} training examples, {len(INTENTS)} intents",
        f"Cross-validated accuracy ({r.folds}-fold, stratified): {r.cv_accuracy:.4f}"
        f"  (folds: {', '.join(f'{a:.3f}' for a in r.cv_accuracy_by_fold)})",
        "",
        f"{'intent':<20}{'precision':>10}{'recall':>10}{'f1':>10}{'n':>6}",
    ]
    for intent, s in r.per_intent.items():
        lines.append(f"{intent:<20}{s.precision:>10.3f}{s.recall:>10.3f}{s.f1:>10.3f}{s.support:>6}")
    lines += ["", "Top confusions (true → predicted: count):"]
    lines += [f"  {t} → {p}: {n}" for t, p, n in r.confusions] or ["  none"]
    lines += [
        "",
        "Calibration (out-of-fold):",
        f"  NLL raw {r.nll_raw:.4f} → with configured temperature {r.configured_temperature}:"
        f" {r.nll_calibrated:.4f}",
        f"  ECE raw {r.ece_raw:.4f} → calibrated {r.ece_calibrated:.4f}",
        f"  temperature minimising NLL: {r.fitted_temperature} (configured: {r.configured_temperature})",
        "",
        f"Out-of-scope threshold (configured {r.configured_threshold}):",
        f"  {'threshold':>10}{'accuracy':>10}{'refused':>10}{'wrong/accepted':>16}",
    ]
    for row in r.threshold_table:
        mark = "  <-" if math.isclose(row["threshold"], r.configured_threshold) else ""
        lines.append(
            f"  {row['threshold']:>10.2f}{row['accuracy']:>10.4f}{row['refused']:>10.4f}"
            f"{row['wrong_when_accepted']:>16.4f}{mark}"
        )
    lines += [
        "",
        f"Held-out phrasings (never trained on), full parse path: {r.heldout_accuracy:.4f}"
        f" ({r.heldout_n - len(r.heldout_errors)}/{r.heldout_n})",
    ]
    lines += [f"  ✗ {t}  expected {g}, got {p} ({c:.2f})" for t, g, p, c in r.heldout_errors]
    for name, score in r.trainee.items():
        lines += ["", *format_styled(name, score)]
    rt = r.retrieval
    lines += [
        "",
        f"Policy questions: {rt['correct']}/{rt['n']} right ({rt['accuracy']:.3f})"
        f" at min_coverage {rt['min_score']}",
    ]
    lines += [f"  ✗ {e}" for e in rt["errors"]]
    lines.append(
        "  min_coverage → correct: "
        + ", ".join(f"{row['min_coverage']:.2f}:{row['correct']}" for row in rt["table"])
    )
    return "\n".join(lines)


def format_styled(name: str, s: StyledScore) -> list[str]:
    right = sum(r for r, _ in s.by_style.values())
    lines = [
        f"Trainee held-out set ({name}), full parse path: {s.accuracy:.4f} ({right}/{s.n})",
        f"  {'style':<12}{'accuracy':>10}{'right':>8}{'n':>6}",
    ]
    for style, (ok, n) in sorted(s.by_style.items()):
        lines.append(f"  {style:<12}{ok / n:>10.3f}{ok:>8}{n:>6}")
    lines += [f"  ✗ [{st}] {t}  expected {g}, got {p} ({c:.2f})" for st, t, g, p, c in s.errors]
    return lines
