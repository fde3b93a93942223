"""Operational YAML files in `config/`, validated by pydantic when first read.

A typo in a key or a value out of range stops the service with the file and
key named, instead of misbehaving at the first reminder or send.
"""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ConfigDict

from bot import yaml_io

M = TypeVar("M", bound=BaseModel)


class StrictModel(BaseModel):
    """Unknown keys are errors and values are immutable once loaded."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def load_yaml(model: type[M], path: Path) -> M:
    """Parse `path` and validate it as `model` (an empty file validates as `{}`)."""
    return model.model_validate(yaml_io.safe_load(path.read_text(encoding="utf-8")) or {})
