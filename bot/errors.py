"""API errors in the contract's shape: `{"error": {"code", "message"}}`.

Handlers raise `ApiError`; the middleware in `bot.app` renders it, and turns
anything unexpected into a 500 without a stack trace in the body.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web


class ApiError(Exception):
    """A client-facing error with an HTTP status and a stable snake_case code."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra

    def response(self) -> web.Response:
        return error_response(self.status, self.code, self.message, **self.extra)


def error_response(status: int, code: str, message: str, **extra: Any) -> web.Response:
    body: dict[str, Any] = {"code": code, "message": message}
    body.update(extra)
    return web.json_response({"error": body}, status=status)
