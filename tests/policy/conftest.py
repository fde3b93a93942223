"""Shared helpers of the policy tests: the YAML case tables and a light API client.

The endpoint tables run against an app holding only the policy routes and the
real error middleware (no database, no NLU), so hundreds of cases stay fast;
`test_api.py` also checks the routes through the full app of tests/conftest.py.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web
from aiohttp.test_utils import TestClient

CASES_DIR = Path(__file__).parent / "cases"


def load_cases(name: str) -> dict[str, Any]:
    return yaml.safe_load((CASES_DIR / name).read_text(encoding="utf-8"))


def case_ids(cases: list[dict[str, Any]]) -> list[str]:
    return [c["name"] for c in cases]


@pytest.fixture
async def policy_client(aiohttp_client: Any, tmp_path: Path) -> TestClient:
    from bot.api import policy
    from bot.http import error_middleware
    from bot.settings import load_settings

    app = web.Application(middlewares=[error_middleware])
    with warnings.catch_warnings():  # bot.http reads app["settings"], a plain string key
        warnings.simplefilter("ignore", web.NotAppKeyWarning)
        app["settings"] = load_settings(bot_data_dir=tmp_path / "data")
    app.add_routes(policy.routes)
    policy.setup(app)
    return await aiohttp_client(app)
