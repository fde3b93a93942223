"""The OpenAPI document: served, complete for the contract and the staff API, and a
schemathesis run against the live app (demo data loaded, province token) on SQLite finds
no 500, no schema-valid request refused, no undocumented status or content type and no
body that breaks its schema (tests/security/schema_run.py has the checks)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.api.openapi import build_document
from tests.security.schema_run import call_and_check, fuzz_settings, schema
from tests.staff.live_server import LiveServer, demo_app_served

DOCUMENT = build_document()

CONTRACT = {
    "/healthz": {"get"},
    "/api/v1/chat": {"post"},
    "/api/v1/nlu/parse": {"post"},
    "/api/v1/eligibility/assess": {"post"},
    "/api/v1/subsidy/share": {"post"},
    "/api/v1/deadlines/{event}": {"get"},
    "/api/v1/admin/conversations/{channel}/{external_id}": {"get"},
}
STAFF = {
    "/api/v1/openapi.json": {"get"},
    "/api/v1/admin/me": {"get"},
    "/api/v1/admin/broadcasts": {"get", "post"},
    "/api/v1/admin/broadcasts/preview": {"post"},
    "/api/v1/admin/broadcasts/{id}": {"get"},
    "/api/v1/admin/broadcasts/{id}/deliveries": {"get"},
    "/api/v1/admin/broadcasts/{id}/cancel": {"post"},
    "/api/v1/admin/trainees": {"get"},
    "/api/v1/admin/handoffs": {"get"},
    "/api/v1/admin/handoffs/{id}/resolve": {"post"},
    "/api/v1/admin/outbox/dead": {"get"},
    "/api/v1/admin/outbox/requeue": {"post"},
}


def test_document_covers_the_contract_and_the_staff_api() -> None:
    assert DOCUMENT["openapi"].startswith("3.1")
    assert DOCUMENT.get("x-merge-conflicts", []) == []
    for path, methods in {**CONTRACT, **STAFF}.items():
        assert path in DOCUMENT["paths"], path
        assert methods <= set(DOCUMENT["paths"][path]), path
    refs = _refs(DOCUMENT)
    defined = {
        f"#/components/{section}/{name}"
        for section, items in DOCUMENT["components"].items()
        for name in items
    }
    assert refs <= defined, sorted(refs - defined)


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        for value in node.values():
            found |= _refs(value)
        return found
    if isinstance(node, list):
        return set().union(*(_refs(v) for v in node)) if node else set()
    return set()


@pytest.fixture(scope="module")
def live(
    tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path, nlu_model: Any
) -> Iterator[LiveServer]:
    """The app on a migrated SQLite copy with the demo data, as `make run` serves it."""
    tmp = tmp_path_factory.mktemp("fuzz")
    shutil.copy(sqlite_template, tmp / "bot.sqlite3")
    with demo_app_served(f"sqlite+aiosqlite:///{tmp / 'bot.sqlite3'}", tmp / "data", nlu_model) as server:
        yield server


@pytest.fixture
def _pg_ready() -> None:
    """This module runs on SQLite only (the live server owns its database)."""


@schema.parametrize()
@fuzz_settings
def test_schema_valid_requests_answered_as_documented(case: Any, live: LiveServer) -> None:
    call_and_check(case, live.url)
