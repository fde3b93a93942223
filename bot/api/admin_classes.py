"""Staff API of classes and attendance: imports from the real-name system, records, disagreements.

Institution operators act on their own institution only; city and county
staff within their region; the province on everything (`Principal.covers`).
Rows outside the caller's scope are reported exactly like unknown ones, so
an import cannot be used to probe other institutions' classes.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from sqlalchemy import and_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from bot.attendance.config import get_attendance_config
from bot.attendance.import_context import ImportResult
from bot.attendance.import_files import XLSX_TYPE, UnreadableFile, read_upload
from bot.attendance.import_reading import Source, parse
from bot.attendance.import_reading import read_json as read_rows
from bot.attendance.import_rows import SECTIONS, ImportRejected
from bot.attendance.imports import Importer
from bot.attendance.service import class_attendance
from bot.auth import Principal, forbidden
from bot.errors import ApiError
from bot.http import parse_json
from bot.staff.http import Staff, found, iso_time, staff_api
from models import AttendanceRecord, ClassSession, Trainee, TrainingClass

routes = web.RouteTableDef()

FILE_TYPES = ("text/csv", "text/plain", "application/csv", XLSX_TYPE, "multipart/form-data")
MAX_DISAGREEMENTS = 500


class _DryRun(Exception):
    def __init__(self, result: ImportResult) -> None:
        super().__init__("dry run")
        self.result = result


async def _read_body(request: web.Request) -> bytes:
    """The body up to the import limit (imports are larger than the app-wide limit of other calls)."""
    limit = get_attendance_config().imports.max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        raise ApiError(413, "payload_too_large", f"导入内容太大（上限 {limit} 字节），请分批导入")
    chunks, size = [], 0
    async for chunk in request.content.iter_chunked(65536):
        size += len(chunk)
        if size > limit:
            raise ApiError(413, "payload_too_large", f"导入内容太大（上限 {limit} 字节），请分批导入")
        chunks.append(chunk)
    return b"".join(chunks)


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ApiError(400, "invalid_encoding", "请用 UTF-8 编码提交 JSON") from exc


async def _next_part(reader: Any) -> Any:
    """The next part of an upload; a broken body is the sender's 400, not our 500."""
    try:
        return await reader.next()
    except (ValueError, AssertionError, LookupError, HttpProcessingError) as exc:
        raise ApiError(400, "invalid_multipart", "上传的表单内容不完整，请重新选择文件上传") from exc


async def _upload(request: web.Request, sections: tuple[str, ...]) -> list[Source]:
    """A file as a raw body (CSV in any charset Excel writes, or .xlsx) or as multipart field `file`."""
    try:
        if request.content_type == "multipart/form-data":
            limit = get_attendance_config().imports.max_body_bytes
            if request.content_length is not None and request.content_length > limit:
                raise ApiError(413, "payload_too_large", f"导入文件太大（上限 {limit} 字节），请分批导入")
            try:
                reader = await request.multipart()
            except ValueError as exc:  # no boundary in the Content-Type
                raise ApiError(
                    400, "invalid_multipart", "上传格式不对：请用表单（multipart/form-data）上传文件"
                ) from exc
            while (part := await _next_part(reader)) is not None:
                if getattr(part, "name", None) == "file":
                    chunks, size = [], 0
                    try:
                        while chunk := await part.read_chunk(65536):  # type: ignore[union-attr]
                            size += len(chunk)
                            if size > limit:
                                raise ApiError(
                                    413, "payload_too_large", f"导入文件太大（上限 {limit} 字节），请分批导入"
                                )
                            chunks.append(chunk)
                    except (ValueError, AssertionError, HttpProcessingError) as exc:
                        raise ApiError(400, "invalid_multipart", "上传的文件不完整，请重新上传") from exc
                    raw = b"".join(chunks)
                    ctype = part.headers.get("Content-Type", "").split(";")[0].strip() or None
                    return read_upload(sections, bytes(raw), part.filename, ctype)  # type: ignore[union-attr]
            raise ApiError(400, "missing_file", "请在表单字段 file 里附上要导入的文件")
        raw = await _read_body(request)
        return read_upload(sections, raw, None, request.content_type, request.charset)
    except UnreadableFile as exc:
        raise ApiError(400, "unreadable_file", exc.message) from exc


def _json(raw: bytes) -> dict[str, Any]:
    body = parse_json(_decode(raw).encode())  # the same refusals as every JSON body (issue 12)
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_json", "请求体应是一个 JSON 对象")
    return body


def _dry_run(request: web.Request) -> bool:
    value = request.query.get("dry_run", "false").lower()
    if value not in ("true", "false", "1", "0"):
        raise ApiError(400, "invalid_parameter", "dry_run 应为 true 或 false")
    return value in ("true", "1")


async def _run_import(request: web.Request, staff: Staff, sources: list[Source]) -> web.Response:
    principal, services = staff.principal, staff.services
    dry_run = _dry_run(request)
    try:
        parsed = parse(sources, get_attendance_config().imports.max_rows)
        async with services.db.session() as db:
            result = await Importer(db, services, principal, services.clock.now()).run(parsed)
            if dry_run:
                raise _DryRun(result)
    except ImportRejected as exc:
        bad_rows = len({(p["section"], p["row"]) for p in exc.report})
        raise ApiError(
            422, "invalid_rows", f"有 {bad_rows} 行数据有问题，本次没有导入任何数据", report=exc.report
        ) from exc
    except _DryRun as done:
        result = done.result
        result.dry_run = True
    except IntegrityError as exc:
        raise ApiError(409, "conflict", "同时有另一批导入修改了相同的数据，请稍后重试") from exc
    return web.json_response(result.to_dict())


@routes.post("/api/v1/admin/imports/{kind}")
@staff_api
async def import_section(request: web.Request, staff: Staff) -> web.StreamResponse:
    """One section (classes, sessions, roster or attendance) as CSV, or JSON {"rows": [...]}."""
    kind = request.match_info["kind"]
    if kind not in SECTIONS:
        raise ApiError(404, "not_found", f"可导入的数据：{', '.join(SECTIONS)}")
    try:
        if request.content_type in FILE_TYPES:
            sources = await _upload(request, (kind,))
        elif request.content_type == "application/json":
            body = _json(await _read_body(request))
            if "rows" not in body:
                raise ApiError(400, "invalid_field", 'JSON 请求体应为 {"rows": [...]}')
            sources = [read_rows(kind, body["rows"])]
        else:
            raise ApiError(
                415, "unsupported_media_type", "请上传 .xlsx 或 CSV 文件（或用 application/json 提交）"
            )
    except ImportRejected as exc:  # an unreadable section (no header, unknown columns, not a list)
        raise ApiError(422, "invalid_rows", "数据无法读取，本次没有导入任何数据", report=exc.report) from exc
    return await _run_import(request, staff, sources)


@routes.post("/api/v1/admin/imports")
@staff_api
async def import_bundle(request: web.Request, staff: Staff) -> web.StreamResponse:
    """Several sections in one transaction: JSON {"classes": [...], ...}, or a workbook with a sheet each."""
    if request.content_type in (XLSX_TYPE, "multipart/form-data"):
        try:
            sources = await _upload(request, SECTIONS)
        except ImportRejected as exc:
            raise ApiError(
                422, "invalid_rows", "数据无法读取，本次没有导入任何数据", report=exc.report
            ) from exc
        return await _run_import(request, staff, sources)
    if request.content_type != "application/json":
        raise ApiError(415, "unsupported_media_type", "请用 application/json 提交，或上传 .xlsx 工作簿")
    body = _json(await _read_body(request))
    unknown = sorted(set(body) - set(SECTIONS))
    if unknown:
        raise ApiError(
            400, "invalid_field", f"不认识的部分：{', '.join(unknown)}（可用 {', '.join(SECTIONS)}）"
        )
    try:
        sources = [read_rows(s, body[s]) for s in SECTIONS if s in body]
    except ImportRejected as exc:
        raise ApiError(422, "invalid_rows", "数据无法读取，本次没有导入任何数据", report=exc.report) from exc
    return await _run_import(request, staff, sources)


async def _class_in_scope(request: web.Request, db: Any, principal: Principal) -> TrainingClass:
    raw = request.match_info["class_id"]
    klass = found(
        await db.get(TrainingClass, int(raw)) if raw.isdigit() and int(raw[:12]) < 2**31 else None,
        ApiError(404, "not_found", "没有这个班级"),
    )
    if not principal.covers(region_code=klass.region_code, institution_id=klass.institution_id):
        raise forbidden()
    return klass


def _class_dict(klass: TrainingClass) -> dict[str, Any]:
    return {
        "id": klass.id,
        "code": klass.code,
        "name": klass.name,
        "institution_id": klass.institution_id,
        "region_code": klass.region_code,
        "status": klass.status,
        "start_date": klass.start_date.isoformat(),
        "end_date": klass.end_date.isoformat(),
        "planned_hours": float(klass.planned_hours),
        "schedule": klass.schedule or None,
    }


@routes.get("/api/v1/admin/classes/{class_id}/attendance")
@staff_api
async def attendance_of_class(request: web.Request, staff: Staff) -> web.StreamResponse:
    principal, services = staff.principal, staff.services
    async with services.db.session() as db:
        klass = await _class_in_scope(request, db, principal)
        people = await class_attendance(db, klass.id, services.clock.now())
    return web.json_response({"class": _class_dict(klass), "trainees": [p.to_dict() for p in people]})


@routes.get("/api/v1/admin/classes/{class_id}/sessions")
@staff_api
async def sessions_of_class(request: web.Request, staff: Staff) -> web.StreamResponse:
    principal, services = staff.principal, staff.services
    async with services.db.session() as db:
        klass = await _class_in_scope(request, db, principal)
        sessions = list(
            (
                await db.execute(
                    select(ClassSession)
                    .where(ClassSession.class_id == klass.id)
                    .order_by(ClassSession.starts_at)
                )
            ).scalars()
        )
        counts: dict[tuple[int, str], int] = {}
        for session_id, source in await db.execute(
            select(AttendanceRecord.session_id, AttendanceRecord.source).where(
                AttendanceRecord.session_id.in_([s.id for s in sessions]),
                AttendanceRecord.status == "present",
            )
        ):
            counts[(session_id, source)] = counts.get((session_id, source), 0) + 1
    tz = services.clock.tz
    return web.json_response(
        {
            "class": _class_dict(klass),
            "sessions": [
                {
                    "id": s.id,
                    "date": s.session_date.isoformat(),
                    "starts_at": s.starts_at.astimezone(tz).isoformat(),
                    "ends_at": s.ends_at.astimezone(tz).isoformat(),
                    "hours": float(s.hours),
                    "topic": s.topic,
                    "present_chat": counts.get((s.id, "chat"), 0),
                    "present_institution": counts.get((s.id, "institution"), 0),
                }
                for s in sessions
            ],
        }
    )


def _int_param(request: web.Request, name: str) -> int | None:
    value = request.query.get(name)
    if value is None or value == "":
        return None
    if not value.isdigit() or not 0 < int(value[:12]) < 2**31:
        raise ApiError(400, "invalid_parameter", f"{name} 应为正整数")
    return int(value)


@routes.get("/api/v1/admin/attendance/disagreements")
@staff_api
async def disagreements(request: web.Request, staff: Staff) -> web.StreamResponse:
    """Sessions where the chat check-in and the institution's record say different things."""
    principal, services = staff.principal, staff.services
    class_id = _int_param(request, "class_id")
    institution_id = _int_param(request, "institution_id")
    chat, inst = aliased(AttendanceRecord), aliased(AttendanceRecord)
    query = (
        select(chat, inst, ClassSession, TrainingClass, Trainee)
        .join(
            inst,
            and_(
                inst.session_id == chat.session_id,
                inst.trainee_id == chat.trainee_id,
                inst.source == "institution",
            ),
        )
        .join(ClassSession, ClassSession.id == chat.session_id)
        .join(TrainingClass, TrainingClass.id == ClassSession.class_id)
        .join(Trainee, Trainee.id == chat.trainee_id)
        .where(chat.source == "chat", chat.status != inst.status)
        .order_by(ClassSession.starts_at.desc(), Trainee.id)
        .limit(MAX_DISAGREEMENTS)
    )
    if principal.is_operator:
        query = query.where(TrainingClass.institution_id == principal.institution_id)
    elif not principal.is_province:
        query = query.where(TrainingClass.region_code.startswith(principal.prefix))
    if class_id is not None:
        query = query.where(TrainingClass.id == class_id)
    if institution_id is not None:
        query = query.where(TrainingClass.institution_id == institution_id)
    tz = services.clock.tz
    async with services.db.session() as db:
        rows = (await db.execute(query)).all()
    items = [
        {
            "class_id": k.id,
            "class_code": k.code,
            "session_id": s.id,
            "session_starts_at": iso_time(s.starts_at, tz),
            "trainee_id": t.id,
            "trainee_name": t.name,
            "id_card_masked": t.id_card_masked,
            "chat": {"status": c.status, "at": iso_time(c.checked_in_at, tz)},
            "institution": {"status": i.status, "at": iso_time(i.checked_in_at, tz), "method": i.method},
            "effective": i.status,
        }
        for c, i, s, k, t in rows
    ]
    return web.json_response({"disagreements": items, "truncated": len(items) == MAX_DISAGREEMENTS})
