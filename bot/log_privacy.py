"""Logs never hold an ID-card number or a phone, at any level.

A record factory masks every record's message (and its traceback) as it is
made, before any handler, formatter or test capture sees it; so a library's
DEBUG line or an exception message that quotes user text is masked the same
as our own lines. SQL statement parameters are kept out of error messages by
the engine (`hide_parameters=True`, `models.db`).
"""

from __future__ import annotations

import logging
import traceback
from typing import Any

from bot.identity import has_personal_number, mask_personal

_installed = False


def mask_record(record: logging.LogRecord) -> logging.LogRecord:
    """The record with its message and traceback masked (formatted now when they need it)."""
    try:
        message = record.getMessage()
    except Exception:  # a bad format string: leave it to logging's own error report
        return record
    if has_personal_number(message):
        record.msg, record.args = mask_personal(message), None
    if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
        text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        if has_personal_number(text):
            record.exc_text = mask_personal(text)
    if record.stack_info and has_personal_number(record.stack_info):
        record.stack_info = mask_personal(record.stack_info)
    return record


def install() -> None:
    """Mask every log record of the process from now on (idempotent)."""
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return mask_record(previous(*args, **kwargs))

    logging.setLogRecordFactory(factory)
    _installed = True
