"""`GET /api/v1/openapi.json`: one OpenAPI 3.1 document merged from `docs/openapi/*.yaml`.

Each area keeps its own fragment next to the others (`base.yaml` is the public
contract); merging at start means the document cannot drift from the files
reviewers read. A path or component defined differently in two fragments is
not silently overwritten: the first wins and the clash is listed under
`x-merge-conflicts` (the test suite requires that list to be empty).
"""

from __future__ import annotations

import copy
import logging
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

from bot import yaml_io
from bot.settings import ROOT

log = logging.getLogger(__name__)

FRAGMENTS_DIR = ROOT / "docs" / "openapi"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
OPENAPI_KEY = web.AppKey("openapi_document", dict)

routes = web.RouteTableDef()


def _version() -> str:
    try:
        return version("trainee-bot")
    except PackageNotFoundError:
        return "0.0.0"


def _fragments(directory: Path) -> list[Path]:
    files = sorted(directory.glob("*.yaml"))
    # The contract first, so its shared responses and schemas are the ones others refer to.
    return sorted(files, key=lambda p: (p.name != "base.yaml", p.name))


def _merge(target: dict[str, Any], entries: dict[str, Any] | None) -> list[str]:
    """Copy `entries` into `target`, keeping the first of two different definitions; the clashing keys."""
    clashes = []
    for key, value in (entries or {}).items():
        if key in target and target[key] != value:
            clashes.append(key)
            continue
        target[key] = copy.deepcopy(value)
    return clashes


def build_document(directory: Path = FRAGMENTS_DIR) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "吉林省补贴培训学员机器人 API",
            "version": _version(),
            "description": (
                "The public contract and the staff API of the trainee bot "
                '(吉人社规〔2024〕3号). Errors are JSON: {"error": {"code", "message"}}. '
                "Any JSON body: no NUL character or unpaired surrogate in any text, integers "
                "within ±2^53, nesting at most 32 deep, else a 400 `invalid_json`; a number "
                "with no fractional part (3.0) counts as an integer."
            ),
        },
        "paths": {},
        "components": {},
    }
    conflicts: list[str] = []
    for path in _fragments(directory):
        try:
            fragment = yaml_io.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            conflicts.append(f"{path.name}: not valid YAML ({exc.__class__.__name__})")
            continue
        for route, item in (fragment.get("paths") or {}).items():
            clashes = _merge(doc["paths"].setdefault(route, {}), item)
            conflicts += [f"{path.name}: {k.upper() if k in HTTP_METHODS else k} {route}" for k in clashes]
        for section, entries in (fragment.get("components") or {}).items():
            clashes = _merge(doc["components"].setdefault(section, {}), entries)
            conflicts += [f"{path.name}: components.{section}.{name}" for name in clashes]
        for tag in fragment.get("tags") or []:
            doc.setdefault("tags", []).append(tag)
    if conflicts:
        log.warning("OpenAPI fragments clash: %s", "; ".join(conflicts))
        doc["x-merge-conflicts"] = conflicts
    return doc


def setup(app: web.Application) -> None:
    app[OPENAPI_KEY] = build_document()


@routes.get("/api/v1/openapi.json")
async def openapi(request: web.Request) -> web.Response:
    return web.json_response(request.app[OPENAPI_KEY])
