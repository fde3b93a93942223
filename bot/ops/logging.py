"""Logging for operators: one line per turn, an access log, request ids, JSON lines on demand.

Standard-library logging only: every module keeps `logging.getLogger(...)`,
and the format (text for a terminal, JSON lines for a log shipper) is chosen
once here from `LOG_FORMAT`. The request id of the HTTP request being
answered rides in a context variable, so every line logged while answering it
carries the id the proxy (or the client) sent, without passing it around.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

# Attributes every LogRecord has; anything else was passed in `extra=` and is a field.
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}
_SKIP = _STANDARD | {"request_id", "fields"}

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s%(fields)s"

turn_log = logging.getLogger("bot.turn")
access_log = logging.getLogger("bot.access")


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in record.__dict__.items() if k not in _SKIP}


def install_record_factory() -> None:
    """Stamp the request id on each record when it is made, in the context that made it."""
    current = logging.getLogRecordFactory()
    if getattr(current, "stamps_request_id", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = current(*args, **kwargs)
        record.request_id = REQUEST_ID.get()
        return record

    factory.stamps_request_id = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


class RequestIdFilter(logging.Filter):
    """Stamps the current request id (and, for text, the extra fields) on every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = REQUEST_ID.get()
        extra = _fields(record)
        record.fields = "".join(f" {k}={v}" for k, v in extra.items()) if extra else ""
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id and the extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "request_id": getattr(record, "request_id", REQUEST_ID.get()),
        }
        line.update(_fields(record))
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class SchedulerNoise(logging.Filter):
    """Drops APScheduler's "skipped: maximum number of running instances" lines, counting them instead.

    The outbox dispatcher's 2-second tick meets its own long run by design
    (`max_instances=1` absorbs the tick); a warning every 2 s hides real ones.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "maximum number of running instances reached" in message:
            from bot.ops import metrics

            job = message.split('"', 2)[1] if message.count('"') >= 2 else "unknown"
            metrics.job_skipped(job.split(" ", 1)[0])
            return False
        return True


def configure(level: str = "INFO", fmt: str = "text", stream: Any = None) -> None:
    """Set up the root logger once per process (the CLI calls it before any command)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(RequestIdFilter())
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    install_record_factory()
    install_scheduler_filter()
    # APScheduler logs each run of every job at INFO ("Running job …", "executed successfully").
    logging.getLogger("apscheduler").setLevel(max(logging.WARNING, logging.getLevelName(level)))
    # aiohttp's own access logger stays off: bot.access writes one line with the request id.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


def install_scheduler_filter() -> None:
    for name in ("apscheduler.scheduler", "apscheduler.executors.default", "apscheduler.executors"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, SchedulerNoise) for f in logger.filters):
            logger.addFilter(SchedulerNoise())


def log_turn(
    channel: str, intent: str | None, flow: str | None, seconds: float, *, duplicate: bool, replies: int
) -> None:
    """The per-turn line: what was understood and how long it took; never the message text."""
    turn_log.info(
        "turn",
        extra={
            "channel": channel,
            "intent": intent or "none",
            "flow": flow or "-",
            "latency_ms": round(seconds * 1000, 1),
            "duplicate": duplicate,
            "replies": replies,
        },
    )
