"""One trained NLU per test session, cached in the session's temp dir.

No database here: language understanding is pure. A fixed `TODAY` (a
Saturday) makes relative dates reproducible.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from nlu import NLU

TODAY = date(2026, 11, 21)  # Saturday


@pytest.fixture(scope="session")
def nlu_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("nlu-cache")


@pytest.fixture(scope="session")
def nlu(nlu_cache_dir: Path) -> NLU:
    return NLU.load(nlu_cache_dir)
