"""Conversation handlers: one module per flow or group of intents.

`load_all` imports them so their `@on_intent` / `register_flow` calls run.
Add a new module's name here.
"""

from __future__ import annotations

import importlib

HANDLER_MODULES = (
    "handlers.menu",
    "handlers.attendance",
    "handlers.class_info",
    "handlers.binding",
    "handlers.claims",
    "handlers.eligibility",
    "handlers.info",
    "handlers.courses",
)

_loaded = False


def load_all() -> None:
    global _loaded
    if _loaded:
        return
    for name in HANDLER_MODULES:
        importlib.import_module(name)
    _loaded = True
