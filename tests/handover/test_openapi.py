"""The OpenAPI document describes the hand-over endpoints, the contract's reply endpoint first."""

from __future__ import annotations

from bot.api.openapi import build_document

PATHS = {
    "/api/v1/admin/conversations/{channel}/{external_id}": {"get"},
    "/api/v1/admin/conversations/{channel}/{external_id}/messages": {"post"},
    "/api/v1/admin/conversations/{channel}/{external_id}/claim": {"post"},
    "/api/v1/admin/conversations/{channel}/{external_id}/hand-back": {"post"},
    "/api/v1/admin/conversations/{channel}/{external_id}/close": {"post"},
    "/api/v1/admin/handovers": {"get"},
}


def test_document_has_every_hand_over_endpoint_without_clashes() -> None:
    doc = build_document()
    assert doc.get("x-merge-conflicts", []) == []
    for path, methods in PATHS.items():
        assert methods <= set(doc["paths"][path]), path
    reply = doc["paths"]["/api/v1/admin/conversations/{channel}/{external_id}/messages"]["post"]
    assert set(reply["responses"]) >= {"201", "400", "401", "403", "404"}
    body = reply["responses"]["201"]["content"]["application/json"]["schema"]
    assert body["properties"]["delivery"]["enum"] == ["queued", "sent", "outside_window", "unreachable"]
