"""Schemathesis over the whole OpenAPI document on PostgreSQL (issue 12): no 500, and every
schema-valid request answered as documented (tests/security/schema_run.py has the checks).
`tests/staff/test_openapi_fuzz.py` does the same on SQLite; NUL characters, ids beyond
int32 and over-long ids only fail on PostgreSQL, hence this twin."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import (
    TEST_DATABASE_URL,
    _migrate,
    _pg_admin,
    _pg_url,
    _run_sync,
)
from tests.security.schema_run import call_and_check, fuzz_settings, schema
from tests.staff.live_server import LiveServer, demo_app_served

pytestmark = pytest.mark.skipif(not TEST_DATABASE_URL, reason="needs PostgreSQL (TEST_DATABASE_URL)")


@pytest.fixture(scope="module")
def live_pg(tmp_path_factory: pytest.TempPathFactory, nlu_model: Any) -> Iterator[LiveServer]:
    name = f"bot_fuzz_{uuid.uuid4().hex[:12]}"
    _run_sync(_pg_admin(f'CREATE DATABASE "{name}"'))
    url = _pg_url(name)
    _run_sync(_migrate(url))
    tmp = tmp_path_factory.mktemp("fuzz-pg")
    try:
        with demo_app_served(url, tmp / "data", nlu_model) as server:
            yield server
    finally:
        _run_sync(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@schema.parametrize()
@fuzz_settings
def test_schema_valid_requests_answered_as_documented_on_postgresql(case: Any, live_pg: LiveServer) -> None:
    call_and_check(case, live_pg.url)
