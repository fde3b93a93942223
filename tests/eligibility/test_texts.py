"""Every question the policy can ask has its wording, buttons and free-answer words.

A policy edit (a new group, a new profile field) must come with its Chinese
wording, or a trainee would hit a missing text in the middle of a screening.
"""

from __future__ import annotations

from bot.policy import get_policy

from .helpers import MESSAGES


def test_every_policy_question_has_its_wording() -> None:
    for question in get_policy().questions:
        texts = MESSAGES["questions"][question.field]
        assert texts["ask"], question.field
        # Every question can be answered 不清楚 by a button: unknown is an answer.
        unsure = [c for c in texts.get("choices", []) if c["value"] is None] or [texts.get("unsure_label")]
        assert unsure and unsure[0], question.field


def test_every_group_has_a_button_label() -> None:
    labels = MESSAGES["questions"]["groups"]["labels"]
    assert set(labels) == set(get_policy().group_ids)
    assert len(set(labels.values())) == len(labels)


def test_choice_labels_are_unique_within_a_question() -> None:
    for field, texts in MESSAGES["questions"].items():
        labels = [c["label"] for c in texts.get("choices", [])]
        assert len(labels) == len(set(labels)), field
