"""Reading an import: CSV or JSON rows into validated row models, or a report naming every bad cell.

Separate from applying so a dry run, a single-section upload and a bundle
all reject the same rows with the same words before anything touches the
database; `parse` collects every problem instead of stopping at the first.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from bot.attendance.import_rows import ROW_MODELS, SECTIONS, ImportRejected

# Pydantic's error types, said in words an institution's clerk understands.
ERROR_TEXTS = {
    "missing": "缺少必填项",
    "date_parsing": "日期格式应为 YYYY-MM-DD",
    "date_from_datetime_parsing": "日期格式应为 YYYY-MM-DD",
    "date_type": "日期格式应为 YYYY-MM-DD",
    "time_parsing": "时间格式应为 HH:MM",
    "time_type": "时间格式应为 HH:MM",
    "datetime_parsing": "时间格式应为 HH:MM 或 ISO 8601",
    "datetime_from_date_parsing": "时间格式应为 HH:MM 或 ISO 8601",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "decimal_parsing": "应为数字",
    "decimal_type": "应为数字",
    "bool_parsing": "应为 是/否（true/false）",
    "bool_type": "应为 是/否（true/false）",
    "string_too_long": "内容太长",
    "string_too_short": "不能为空",
    "greater_than": "应大于 0",
    "greater_than_equal": "不能为负数",
    "less_than_equal": "数值太大",
    "extra_forbidden": "不认识的列",
    "string_pattern_mismatch": "格式不对",
}


@dataclass
class Source:
    """Rows of one section with the number people will look for (CSV line, or JSON position)."""

    section: str
    rows: list[tuple[int, dict[str, Any]]]


def read_csv(section: str, text: str) -> Source:
    """A CSV export with a header row (Chinese or field names); see `import_files`."""
    from bot.attendance.import_files import read_csv_text  # import_files builds on this module

    return read_csv_text(section, text.lstrip("\ufeff"))


def read_json(section: str, items: Any) -> Source:
    if not isinstance(items, list):
        raise ImportRejected([{"section": section, "row": None, "field": None, "message": "应为一个数组"}])
    rows: list[tuple[int, dict[str, Any]]] = []
    for i, item in enumerate(items, 1):
        if not isinstance(item, dict):
            rows.append((i, {"__not_object__": True}))
        else:
            rows.append((i, {k: v for k, v in item.items() if v is not None and v != ""}))
    return Source(section, rows)


def _problems(section: str, row: int, exc: ValidationError) -> list[dict[str, Any]]:
    out = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        message = err["msg"].removeprefix("Value error, ")
        fld = loc[0] if loc else None
        if err["type"] == "value_error" and not loc and ": " in message:
            # Whole-row checks name their field first ("end_date: ...").
            fld, message = message.split(": ", 1)
        elif err["type"] == "literal_error":
            message = f"取值应为 {err['ctx'].get('expected')}"
        elif err["type"] in ERROR_TEXTS:
            message = ERROR_TEXTS[err["type"]]
        out.append({"section": section, "row": row, "field": fld, "message": message})
    return out


def parse(sources: Iterable[Source], max_rows: int) -> dict[str, list[tuple[int, Any]]]:
    """Validate every row of every section; ImportRejected with every problem found."""
    report: list[dict[str, Any]] = []
    parsed: dict[str, list[tuple[int, Any]]] = {s: [] for s in SECTIONS}
    total = 0
    for src in sources:
        model = ROW_MODELS[src.section]
        for line, values in src.rows:
            total += 1
            if "__extra__" in values:
                report.append(
                    {"section": src.section, "row": line, "field": None, "message": "这一行的列数比表头多"}
                )
                continue
            if "__not_object__" in values:
                report.append({"section": src.section, "row": line, "field": None, "message": "应为一个对象"})
                continue
            try:
                parsed[src.section].append((line, model.model_validate(values)))
            except ValidationError as exc:
                report.extend(_problems(src.section, line, exc))
    if total == 0:
        report.append({"section": None, "row": None, "field": None, "message": "没有要导入的数据"})
    if total > max_rows:
        report.append({"section": None, "row": None, "field": None, "message": f"一次最多导入 {max_rows} 行"})
    if report:
        raise ImportRejected(report)
    return parsed
