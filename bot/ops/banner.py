"""The "ready" lines `serve` prints: where to go, and what to type, in the first five minutes."""

from __future__ import annotations

from typing import Any

from bot.texts import Texts


def ready_lines(texts: Texts, url: str, demo: Any, data_dir: str) -> list[str]:
    t = texts.get
    lines = [t("home.banner.ready", url=url)]
    if demo is None:
        return lines
    lines.append(t("home.banner.loaded") if demo.loaded else t("home.banner.kept", data_dir=data_dir))
    if demo.staff_token:
        lines.append(t("home.banner.console", url=url, token=demo.staff_token, name=demo.staff_name))
    if demo.drop_in:
        start, end = demo.drop_in
        lines.append(t("home.banner.drop_in", start=f"{start:%m-%d %H:%M}", end=f"{end:%H:%M}"))
    if demo.trainees:
        lines.append(t("home.banner.trainees"))
        for p in demo.trainees:
            lines.append(
                t(
                    "home.banner.trainee",
                    name=p.name,
                    klass=p.class_name,
                    code=p.bind_code,
                    suggestion=p.suggestion,
                )
            )
    lines += [t("home.banner.chat", url=url), t("home.banner.links", url=url), t("home.banner.once")]
    return lines
