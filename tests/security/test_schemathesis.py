"""Schemathesis over the whole OpenAPI document on PostgreSQL (issue 12): no 500 for any
schema-generated request. `tests/staff/test_openapi_fuzz.py` does the same on SQLite; NUL
characters, ids beyond int32 and over-long ids only fail on PostgreSQL, hence this twin."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error

from bot.api.openapi import build_document
from bot.app import create_app
from bot.clock import FrozenClock
from bot.settings import load_settings
from tests.conftest import (
    ADMIN_TOKEN,
    DEFAULT_NOW,
    TEST_DATABASE_URL,
    _migrate,
    _pg_admin,
    _pg_url,
    _run_sync,
)
from tests.staff.live_server import LiveServer

schema = schemathesis.openapi.from_dict(build_document())
pytestmark = pytest.mark.skipif(not TEST_DATABASE_URL, reason="needs PostgreSQL (TEST_DATABASE_URL)")


@pytest.fixture(scope="module")
def live_pg(tmp_path_factory: pytest.TempPathFactory, nlu_model: Any) -> Iterator[LiveServer]:
    name = f"bot_fuzz_{uuid.uuid4().hex[:12]}"
    _run_sync(_pg_admin(f'CREATE DATABASE "{name}"'))
    url = _pg_url(name)
    _run_sync(_migrate(url))
    tmp = tmp_path_factory.mktemp("fuzz-pg")
    app_settings = load_settings(
        database_url=url,
        bot_data_dir=tmp / "data",
        admin_token=ADMIN_TOKEN,
        secret_key="fuzz-secret",
        wechat_token="",
        wechat_app_id="",
        telegram_bot_token="",
        telegram_secret_token="",
        seed_demo=True,
    )
    app = create_app(
        app_settings, clock=FrozenClock(DEFAULT_NOW), nlu=nlu_model, migrate=False, scheduler=False
    )
    server = LiveServer()
    server.serve_main(app)
    try:
        yield server
    finally:
        server.stop()
        _run_sync(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@schema.parametrize()
@settings(
    max_examples=10,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_no_server_error_on_postgresql(case: Any, live_pg: LiveServer) -> None:
    response = case.call(base_url=live_pg.url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=30)
    case.validate_response(response, checks=[not_a_server_error])
