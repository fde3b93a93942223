"""What every policy parameter is made of: strict YAML models that say which article they come from."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date

from pydantic import BaseModel, ConfigDict, Field, field_validator

_ARTICLE = re.compile(r"^第[一二三四五六七八九十百零〇]+条$")


class PolicyError(Exception):
    """The policy configuration is invalid; the message names the file and the place."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Cited(Strict):
    """Anything that is law: it says where it comes from and since when."""

    article: str
    document: str = Field(min_length=1)
    effective: date
    clause: str | None = None
    quote: str | None = None
    note: str | None = None

    @field_validator("article")
    @classmethod
    def _article_shape(cls, v: str) -> str:
        if not _ARTICLE.match(v):
            raise ValueError(f"article must look like 第十二条, got {v!r}")
        return v

    @property
    def citation(self) -> str:
        """The article with its item, e.g. 第十五条（三）, for people reading the source."""
        return self.article + (self.clause or "")


def require_keys(section: str, wanted: Iterable[str], present: Iterable[str]) -> None:
    """Fail at load when a section lacks a key the engine looks up, not mid-conversation."""
    missing = set(wanted) - set(present)
    if missing:
        raise ValueError(f"{section} missing: {sorted(missing)}")
