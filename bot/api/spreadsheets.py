"""Tables out as staff open them: .xlsx and CSV, with cells Excel cannot run as formulas.

A trainee's name or a clerk's note that begins with = + - @ (or a tab or
carriage return) would be a formula once Excel opens the file (CSV
injection); such text gets a leading apostrophe, the OWASP advice, in both
formats. Numbers stay numbers. CSV is UTF-8 with a BOM so Excel on a
Chinese Windows opens it without garbling.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from aiohttp import web

from bot.csv_safe import safe_cell as inert
from bot.errors import ApiError

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATS = ("xlsx", "csv")
Cell = str | int | float | Decimal | date | datetime | None


def safe_cell(value: Any) -> Any:
    """Text that a spreadsheet would evaluate, made inert (bot.csv_safe); numbers as numbers."""
    if isinstance(value, Decimal):
        return float(value)
    return inert(value)


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        writer.writerow(["" if v is None else safe_cell(v) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def xlsx_bytes(sheets: Sequence[tuple[str, Sequence[str], Iterable[Sequence[Cell]]]]) -> bytes:
    """A workbook with one sheet per (title, header, rows); header bold and frozen, columns sized."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    book.remove(book.active)  # type: ignore[arg-type]
    for title, header, rows in sheets:
        ws = book.create_sheet(title[:31])
        ws.append([safe_cell(h) for h in header])
        for cell in ws[1]:
            cell.font = Font(bold=True)
        widths = [max(len(str(h)) * 2, 8) for h in header]
        for row in rows:
            values = [safe_cell(v) for v in row]
            ws.append(values)
            for i, v in enumerate(values[: len(widths)]):
                widths[i] = min(max(widths[i], len(str(v or "")) * 2 if isinstance(v, str) else 12), 60)
        for i, width in enumerate(widths):
            ws.column_dimensions[ws.cell(row=1, column=i + 1).column_letter].width = width
        ws.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def export_format(request: web.Request) -> str:
    fmt = request.query.get("format", "xlsx").lower()
    if fmt not in FORMATS:
        raise ApiError(400, "invalid_parameter", "format 应为 xlsx 或 csv")
    return fmt


def download(
    fmt: str, filename: str, title: str, header: Sequence[str], rows: Iterable[Sequence[Cell]]
) -> web.Response:
    """The table as an attachment named `filename`.{fmt} (Chinese file names kept, RFC 5987)."""
    if fmt == "csv":
        body, ctype = csv_bytes(header, rows), "text/csv"
    else:
        body, ctype = xlsx_bytes([(title, header, list(rows))]), XLSX_TYPE
    name = f"{filename}.{fmt}"
    ascii_name = name.encode("ascii", "replace").decode().replace("?", "_")
    return web.Response(
        body=body,
        content_type=ctype,
        charset="utf-8" if fmt == "csv" else None,
        headers={
            "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"
        },
    )
