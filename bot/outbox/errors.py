"""How a send can fail, sorted by what the dispatcher must do about it.

The platform clients translate HTTP statuses and error codes into these, so
the dispatcher decides retries in one place and never parses a platform's
error format itself.
"""

from __future__ import annotations


class SendError(Exception):
    """Base class; `str(exc)` is what goes into `OutboxMessage.last_error`."""


class Transient(SendError):
    """Worth trying again later (timeouts, 5xx, a busy platform): backoff, then dead letters."""


class RateLimited(SendError):
    """The platform asked us to wait (HTTP 429 `retry_after`, WeChat 45011)."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Unreachable(SendError):
    """The user cannot be reached any more (blocked the bot, unsubscribed): no retry."""


class OutsideWindow(SendError):
    """WeChat refuses a customer-service message (45015/45047): a template may still go out."""


class QuotaExceeded(SendError):
    """WeChat's daily API quota is used up (45009): back off the whole channel and alert."""


class Rejected(SendError):
    """The platform refuses this message for good (bad request): retrying would not help."""


class OutcomeUnknown(SendError):
    """The request was written but no answer came in time: the platform may have delivered it.

    Not retried at once (that is how a slow answer became a duplicate): the row
    waits `retry.unknown_retry_seconds`, is tried once more, and is counted.
    """


def connect_failed(exc: BaseException) -> bool:
    """Whether a client error happened before the request was written (safe to retry)."""
    import aiohttp

    return isinstance(exc, aiohttp.ConnectionTimeoutError | aiohttp.ClientConnectorError)
