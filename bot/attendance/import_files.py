"""Import files as staff have them: Excel workbooks and CSV in any encoding Excel writes, Chinese headers.

Excel on a Chinese Windows saves CSV in GBK (GB18030), a web export is UTF-8
with or without a BOM, and institutions name columns in Chinese (姓名,
身份证号, 签到时间). Everything is turned into the same `Source` rows keyed
by field name before validation, so an .xlsx roster, a GBK CSV and a JSON
body are checked by the same row models and reported in the same words.
The header and value words are config (`config/imports/columns.yaml`).
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import date, datetime, time
from functools import lru_cache
from typing import Any

import yaml

from bot.attendance.import_reading import Source
from bot.attendance.import_rows import ROW_MODELS, SECTIONS, ImportRejected
from bot.settings import CONFIG_DIR

COLUMNS_FILE = CONFIG_DIR / "imports" / "columns.yaml"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DATE_FIELDS = frozenset({"date", "start_date", "end_date"})
TIME_FIELDS = frozenset({"start_time", "end_time"})
MOMENT_FIELDS = frozenset({"checked_in_at"})
# 2026/11/3, 2026.11.3, 2026年11月3日 — how Excel and people write a date.
_DATE = re.compile(r"^(\d{4})\s*[/.\-年]\s*(\d{1,2})\s*[/.\-月]\s*(\d{1,2})\s*日?$")
_TIME = re.compile(r"^(\d{1,2})\s*[:：时]\s*(\d{1,2})(?:\s*[:：分]\s*(\d{1,2})秒?)?$")
_MOMENT = re.compile(r"^(\S+?)\s+(\d{1,2}\s*[:：]\s*\d{1,2}(?:\s*[:：]\s*\d{1,2})?)$")


class UnreadableFile(Exception):
    """The upload is not a CSV or workbook we can read; `message` tells staff what to do."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@lru_cache(maxsize=1)
def columns_config() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COLUMNS_FILE.read_text(encoding="utf-8"))
    for section in SECTIONS:
        fields = set(ROW_MODELS[section].model_fields)
        unknown = set(data["columns"][section]) - fields
        if unknown:
            raise ValueError(f"{COLUMNS_FILE}: unknown fields in {section}: {sorted(unknown)}")
    return data


def header_names(section: str) -> dict[str, str]:
    """Every accepted header (lower-cased, no spaces) -> field name."""
    names = {f.lower(): f for f in ROW_MODELS[section].model_fields}
    for fld, aliases in columns_config()["columns"][section].items():
        for alias in aliases:
            names[_key(alias)] = fld
    return names


def template_headers(section: str) -> list[str]:
    """The template's header row: the first Chinese name of every field, in the model's order."""
    aliases = columns_config()["columns"][section]
    return [aliases[f][0] if f in aliases else f for f in ROW_MODELS[section].model_fields]


def _key(header: str) -> str:
    return re.sub(r"\s+", "", header).replace("(", "（").replace(")", "）").lower()


def decode(raw: bytes, charset: str | None = None) -> str:
    """UTF-8 (BOM or not) when it is valid UTF-8, else GB18030 (a superset of GBK and GB2312).

    A declared charset is tried first; Excel's GBK files are often sent
    without one, and a GBK file is almost never valid UTF-8, so the guess is
    safe in practice.
    """
    tries = [charset.lower()] if charset else []
    tries += ["utf-8-sig", "gb18030"]
    for encoding in tries:
        encoding = "gb18030" if encoding in ("gbk", "gb2312", "cp936") else encoding
        try:
            return raw.decode(encoding).lstrip("\ufeff")
        except (UnicodeDecodeError, LookupError):
            continue
    raise UnreadableFile("文件编码无法识别，请在 Excel 里另存为“CSV UTF-8”或直接上传 .xlsx 文件")


def cell_text(value: Any) -> str | None:
    """A workbook cell as the text a CSV would hold (dates ISO, whole numbers without .0)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(timespec="minutes")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _normal_time(text: str) -> str:
    m = _TIME.match(text)
    if not m:
        return text
    h, mi, s = int(m.group(1)), int(m.group(2)), m.group(3)
    return f"{h:02d}:{mi:02d}" + (f":{int(s):02d}" if s else "")


def _normal_date(text: str) -> str:
    m = _DATE.match(text)
    return f"{int(m.group(1)):04d}-{int(m.group(2)):02d}-{int(m.group(3)):02d}" if m else text


def normal_value(fld: str, text: str) -> str:
    """Cell words staff write (出勤, 2026/11/3, 8:30) as the values the row models take."""
    text = text.strip()
    words = columns_config()["values"].get(fld)
    if words and text in words:
        return str(words[text])
    if fld in DATE_FIELDS:
        return _normal_date(text)
    if fld in TIME_FIELDS:
        return _normal_time(text)
    if fld in MOMENT_FIELDS:
        m = _MOMENT.match(text)
        if m:
            return f"{_normal_date(m.group(1))}T{_normal_time(m.group(2))}"
        return _normal_time(text)
    return text


def rows_of(section: str, header: list[Any], records: list[tuple[int, list[Any]]]) -> Source:
    """Rows under a header row, mapped to fields; unknown columns are rejected once, by name."""
    names = header_names(section)
    ignored = {_key(h) for h in columns_config()["ignored"].get(section, [])}
    fields: list[str | None] = []
    unknown: list[str] = []
    seen: dict[str, str] = {}
    for raw in header:
        title = cell_text(raw) or ""
        key = _key(title)
        if not key or key in ignored:
            fields.append(None)
            continue
        fld = names.get(key)
        if fld is None:
            unknown.append(title)
        elif fld in seen:
            raise ImportRejected([_problem(section, 1, fld, f"“{seen[fld]}”和“{title}”是同一列，请删掉一列")])
        else:
            seen[fld] = title
        fields.append(fld)
    if unknown:
        hint = "、".join(template_headers(section))
        message = f"不认识的列：{'、'.join(unknown)}。可用的列：{hint}"
        raise ImportRejected([_problem(section, 1, None, message)])
    rows: list[tuple[int, dict[str, Any]]] = []
    for line, cells in records:
        texts = [cell_text(c) for c in cells]
        if not any(t and t.strip() for t in texts):
            continue  # blank lines at the end of a sheet
        if len(texts) > len(fields) and any(t and t.strip() for t in texts[len(fields) :]):
            rows.append((line, {"__extra__": texts[len(fields) :]}))
            continue
        values = {
            fld: normal_value(fld, text)
            for fld, text in zip(fields, texts, strict=False)
            if fld is not None and text is not None and text.strip() != ""
        }
        rows.append((line, values))
    return Source(section, rows)


def _problem(section: str, row: int | None, fld: str | None, message: str) -> dict[str, Any]:
    return {"section": section, "row": row, "field": fld, "message": message}


def read_csv_text(section: str, text: str) -> Source:
    """A CSV with a header row; the row numbers are the lines Excel shows."""
    first = text.split("\n", 1)[0]
    delimiter = "," if "," in first else "\t" if "\t" in first else ";" if ";" in first else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        header = next(reader, None)
        records = [(reader.line_num, row) for row in reader]
    except csv.Error as exc:
        raise ImportRejected([_problem(section, reader.line_num, None, f"CSV 格式错误：{exc}")]) from exc
    if not header or not any(h.strip() for h in header):
        raise ImportRejected([_problem(section, 1, None, "CSV 没有表头（第一行应是列名）")])
    return rows_of(section, header, records)


def read_xlsx(raw: bytes, sections: tuple[str, ...]) -> list[Source]:
    """The sheets of a workbook: one section → its sheet (or the first); several → sheets named after them."""
    from openpyxl import load_workbook  # import here: only uploads need it

    try:
        book = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise UnreadableFile("不是有效的 Excel 文件（.xlsx），请在 Excel 里重新保存后再上传") from exc
    try:
        by_name = {_key(ws.title): ws for ws in book.worksheets}
        sheet_words = columns_config()["sheets"]
        out = []
        for section in sections:
            sheet = next((by_name[_key(n)] for n in sheet_words[section] if _key(n) in by_name), None)
            if sheet is None and len(sections) == 1:
                sheet = book.worksheets[0]
            if sheet is None:
                continue
            rows = list(sheet.iter_rows(values_only=True))
            start = next((i for i, r in enumerate(rows) if any(c not in (None, "") for c in r)), None)
            if start is None:
                raise ImportRejected([_problem(section, 1, None, f"工作表“{sheet.title}”是空的")])
            records = [(i + 1, list(r)) for i, r in enumerate(rows) if i > start]
            out.append(rows_of(section, list(rows[start]), records))
        if not out:
            names = "、".join(sheet_words[s][0] for s in sections)
            raise UnreadableFile(f"工作簿里没有找到要导入的工作表，请把工作表命名为：{names}")
        return out
    finally:
        book.close()


def is_xlsx(raw: bytes, filename: str | None = None, content_type: str | None = None) -> bool:
    return raw[:4] == b"PK\x03\x04" or content_type == XLSX_TYPE or (filename or "").lower().endswith(".xlsx")


def read_upload(
    sections: tuple[str, ...],
    raw: bytes,
    filename: str | None = None,
    content_type: str | None = None,
    charset: str | None = None,
) -> list[Source]:
    """An uploaded file (workbook or CSV) as the sources of `sections`; CSV carries one section."""
    if not raw.strip():
        raise UnreadableFile("上传的文件是空的")
    if is_xlsx(raw, filename, content_type):
        return read_xlsx(raw, sections)
    if (filename or "").lower().endswith(".xls"):
        raise UnreadableFile("不支持旧版 .xls 文件，请在 Excel 里另存为 .xlsx 或 CSV 后再上传")
    if len(sections) != 1:
        raise UnreadableFile("CSV 文件一次只能导入一种数据，请选择数据类型，或上传 .xlsx 工作簿")
    return [read_csv_text(sections[0], decode(raw, charset))]
