"""Command line: `python -m nlu parse "…"`, `evaluate` and `evaluate-rules [--file F]`.

The cache directory defaults to $BOT_DATA_DIR/nlu-cache (BOT_DATA_DIR
defaulting to ./var, as for the service), so the CLI shares the service's
cache and never writes to a temp dir.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import date
from pathlib import Path

from nlu.config import DEFAULT_CONFIG_DIR


def _cache_dir(arg: str | None) -> Path:
    if arg:
        return Path(arg)
    return Path(os.environ.get("BOT_DATA_DIR", "var")) / "nlu-cache"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nlu", description="Chinese language understanding")
    parser.add_argument("--cache-dir", help="default: $BOT_DATA_DIR/nlu-cache")
    parser.add_argument("--config-dir", default=str(DEFAULT_CONFIG_DIR))
    sub = parser.add_subparsers(dest="command", required=True)
    p_parse = sub.add_parser("parse", help="intent, entities and policy answer of one message")
    p_parse.add_argument("text")
    p_parse.add_argument("--today", type=date.fromisoformat, help="resolve relative dates against this day")
    p_parse.add_argument("-v", "--verbose", action="store_true", help="also print the model features")
    sub.add_parser("evaluate", help="cross-validation, held-out accuracy, calibration, retrieval")
    p_rules = sub.add_parser("evaluate-rules", help="share of held-out rule questions answered right")
    p_rules.add_argument(
        "--file", "--questions", dest="file", type=Path, help="default: tests/nlu/data/rules_heldout.yaml"
    )
    p_rules.add_argument(
        "--no-chat",
        action="store_true",
        help="only the knowledge base, not the first reply in four chat contexts",
    )
    args = parser.parse_args(argv)

    from nlu.core import NLU, TextTooLong

    nlu = NLU.load(_cache_dir(args.cache_dir), Path(args.config_dir))
    if args.command == "parse":
        try:
            parsed = nlu.parse(args.text, today=args.today)
        except TextTooLong as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        out = parsed.to_dict()
        out["alternatives"] = [[i, round(p, 4)] for i, p in parsed.alternatives]
        out["reading"] = nlu.understanding.reading(args.text)  # pinyin, dialect, politeness normalised
        clarify = nlu.clarify_question(parsed)
        if clarify is not None:
            out["clarify"] = {"question": clarify[0], "choices": clarify[1]}
        issue = nlu.id_card_issue(args.text)
        if issue is not None:
            out["id_card_issue"] = issue.value
        answer = nlu.answer_question(args.text)
        if answer is not None:
            out["policy_answer"] = {
                "text": answer.text,
                "article": answer.article,
                "source": answer.source,
                "score": answer.score,
            }
        if args.verbose:
            out["features"] = nlu.intent_features(args.text)
            out["load"] = nlu.describe()
        print(json.dumps(out, ensure_ascii=False, indent=2))
        return 0

    if args.command == "evaluate-rules":
        from nlu.evaluate_rules import HELDOUT, evaluate_rules, format_rules_report

        path = args.file or HELDOUT
        print(f"questions: {path}")
        print(format_rules_report(evaluate_rules(nlu, path)))
        if not args.no_chat:
            from nlu.evaluate_chat import evaluate_chat, format_chat_report

            print(format_chat_report(evaluate_chat(nlu, path)))
        return 0

    from nlu.evaluate import evaluate, format_report

    print(format_report(evaluate(nlu, Path(args.config_dir))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
