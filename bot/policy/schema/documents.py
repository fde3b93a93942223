"""`config/policy/documents.yaml`: the papers each claim needs (第十六条)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from bot.policy.schema.cited import Cited, Strict, require_keys

CLAIM_IDS = ("enterprise_employee", "key_group", "project", "evaluation", "living")


class DocumentItem(Strict):
    key: str
    text: str
    provided_by: Literal["trainee", "institution"]
    only_for_groups: tuple[str, ...] = ()


class ClaimParam(Cited):
    name: str
    items: tuple[DocumentItem, ...] = Field(min_length=1)


class DocumentsFile(Strict):
    law: dict[str, Any]
    claims: dict[Literal["enterprise_employee", "key_group", "project", "evaluation", "living"], ClaimParam]

    @model_validator(mode="after")
    def _complete(self) -> DocumentsFile:
        require_keys("claims", CLAIM_IDS, self.claims)
        return self
