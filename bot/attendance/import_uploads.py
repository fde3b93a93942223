"""Checked uploads kept in the database, so any serve process can show or import them.

The console's dry run and the confirm that follows are two requests, and
behind nginx they may reach two processes; the upload row is what they share.
The file is sealed with AES-GCM under a key derived from the service's secret
key (rosters carry full ID-card numbers; the house rule is that none is stored
in the clear), bound to its token, and dropped as soon as it can no longer be
imported: imported, failed, or expired. Everything staff read from the row
(file name, report, problems) passes `mask_personal` before it is written.

A checked upload is used once: the confirm moves it from checked to importing
in one conditional UPDATE, so two clicks or two processes cannot both import.
"""

from __future__ import annotations

import json
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.auth import Principal
from bot.identity import mask_personal
from bot.services import Services
from bot.settings import Settings
from models import ImportUpload
from models.db import Database
from models.imports import LIVE_STATES

log = logging.getLogger(__name__)

KEY_INFO = b"bot/console-import-upload/v1"
NONCE_BYTES = 12
# A finished row (its file already gone) is kept this long past its expiry, so a
# bookmarked result page still says what happened, then deleted.
KEEP_FINISHED = timedelta(days=1)


class UploadUnreadable(Exception):
    """The sealed file does not open: another secret key, or a damaged row."""


@dataclass(frozen=True)
class SealedFile:
    filename: str
    content_type: str | None
    raw: bytes


def _cipher(settings: Settings) -> AESGCM:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=KEY_INFO).derive(settings.hash_key())
    return AESGCM(key)


def seal(settings: Settings, token: str, upload: SealedFile) -> bytes:
    """nonce ‖ AES-GCM(header length ‖ header ‖ file), the token as associated data."""
    header = json.dumps({"filename": upload.filename, "content_type": upload.content_type}).encode()
    plain = len(header).to_bytes(4, "big") + header + upload.raw
    nonce = secrets.token_bytes(NONCE_BYTES)
    return nonce + _cipher(settings).encrypt(nonce, plain, token.encode())


def unseal(settings: Settings, token: str, blob: bytes) -> SealedFile:
    try:
        plain = _cipher(settings).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], token.encode())
    except (InvalidTag, ValueError) as exc:
        raise UploadUnreadable("the sealed upload does not open") from exc
    size = int.from_bytes(plain[:4], "big")
    header = json.loads(plain[4 : 4 + size])
    return SealedFile(header["filename"], header["content_type"], plain[4 + size :])


def masked(value: Any) -> Any:
    """`value` with every ID-card and phone number in its strings masked (dicts and lists walked)."""
    if isinstance(value, str):
        return mask_personal(value)
    if isinstance(value, dict):
        return {k: masked(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [masked(v) for v in value]
    return value


def owns(upload: ImportUpload, principal: Principal) -> bool:
    """The one who checked it, with the same scope still (a changed account checks again)."""
    return upload.owner == principal.actor and upload.scope == principal.scope()


async def create(
    db: AsyncSession,
    settings: Settings,
    principal: Principal,
    *,
    kind: str,
    upload: SealedFile,
    total: int,
    now: datetime,
    keep: timedelta,
) -> ImportUpload:
    token = secrets.token_urlsafe(16)
    row = ImportUpload(
        token=token,
        owner=principal.actor,
        scope=principal.scope(),
        kind=kind,
        filename=mask_personal(upload.filename)[:200],
        blob=seal(settings, token, upload),
        state="checking",
        total=total,
        done=0,
        created_at=now,
        updated_at=now,
        expires_at=now + keep,
    )
    db.add(row)
    await db.flush()
    return row


async def find(db: AsyncSession, token: str) -> ImportUpload | None:
    return (await db.execute(select(ImportUpload).where(ImportUpload.token == token))).scalar_one_or_none()


async def change(
    db: AsyncSession, token: str, *, when: tuple[str, ...], now: datetime, **values: Any
) -> bool:
    """Set `values` on the upload if it is still in one of the states `when`; whether it was."""
    result = await db.execute(
        update(ImportUpload)
        .where(ImportUpload.token == token, ImportUpload.state.in_(when))
        .values(updated_at=now, **values)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


async def claim(
    db: AsyncSession, token: str, principal: Principal, *, now: datetime, keep: timedelta
) -> bool:
    """checked → importing, once: only the owner, before expiry; a second confirm finds nothing."""
    result = await db.execute(
        update(ImportUpload)
        .where(
            ImportUpload.token == token,
            ImportUpload.state == "checked",
            ImportUpload.owner == principal.actor,
            ImportUpload.expires_at > now,
            ImportUpload.blob.is_not(None),
        )
        .values(state="importing", done=0, updated_at=now, expires_at=now + keep)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


async def save_progress(database: Database, token: str, done: int, now: datetime) -> None:
    """Write how far a running check or import is, in a transaction of its own, for the other processes."""
    async with database.session() as db:
        await db.execute(
            update(ImportUpload)
            .where(ImportUpload.token == token, ImportUpload.state.in_(("checking", "importing")))
            .values(done=done, updated_at=now)
            .execution_options(synchronize_session=False)
        )


async def sweep(db: AsyncSession, now: datetime, expired_message: str) -> int:
    """Expired uploads lose their file and are marked failed; long-finished rows are deleted.

    An upload still importing when it expires is marked failed too: its import
    then finds the row changed and rolls back (`finish` in the same transaction),
    so "failed" never hides rows that were written.
    """
    result = await db.execute(
        update(ImportUpload)
        .where(ImportUpload.expires_at <= now, ImportUpload.state.in_(LIVE_STATES))
        .values(state="failed", blob=None, message=expired_message, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    await db.execute(
        update(ImportUpload)
        .where(ImportUpload.state.not_in(LIVE_STATES), ImportUpload.blob.is_not(None))
        .values(blob=None)
        .execution_options(synchronize_session=False)
    )
    await db.execute(
        delete(ImportUpload)
        .where(ImportUpload.expires_at <= now - KEEP_FINISHED)
        .execution_options(synchronize_session=False)
    )
    count = int(getattr(result, "rowcount", 0) or 0)
    if count:
        log.info("import uploads expired: %d", count)
    return count


async def sweep_expired(services: Services) -> int:
    """The scheduled sweep (the attendance tick): no file outlives its upload's expiry by long."""
    async with services.db.session() as db:
        return await sweep(db, services.clock.now(), services.texts.get("console.imports.expired"))
