"""The live reminder-wave bench at a tiny size: what trainees and staff would see on the day.

It runs the real evening and morning jobs and the real outbox dispatcher
against the fake Telegram and WeChat on the bench's fast clock
(bench/wave_live.py), so a regression anywhere on the way (the plan, the
claim order, the drop rule, the WeChat fallbacks, the quota alert) shows here
as a reminder that arrives late, twice, or not at all.
"""

from __future__ import annotations

from pathlib import Path

from bench.wave_clock import run as run_fast
from bench.wave_live import Outcome, Scenario, run_scenario

# Real time: a loaded CI machine keeps up (300 reminders are ~11 seconds of sending; the night is jumped).
SPEED = 1.0


def _run(db_url: str, tmp_path: Path, **overrides: object) -> Outcome:
    sc = Scenario(size=300, telegram_share=0.6, rule="new", speed=SPEED, **overrides)  # type: ignore[arg-type]
    return run_fast(run_scenario(sc, db_url, tmp_path), SPEED)


def test_every_planned_reminder_arrives_once_before_its_class(db_url: str, tmp_path: Path) -> None:
    out = _run(db_url, tmp_path)
    assert out.reminders == 300
    assert out.before_start == 300
    assert out.after_start == 0
    for name, channel in out.channels.items():
        assert channel.duplicates == 0, name
        assert channel.latest is not None and channel.latest < 0, name
        # Every row went out; none was dropped, expired or left behind.
        assert set(channel.states) <= {"sent/message", "sent/template"}, (name, channel.states)
        assert channel.max_per_second <= channel.limit, name
    # WeChat users outside their 48-hour window got the template, the others a message.
    wechat = out.channels["wechat"].states
    assert wechat["sent/template"] > 0 and wechat["sent/message"] > 0
    assert not [a for a in out.alerts if a["kind"] == "template_quota"]
    assert out.channels["telegram"].max_per_second <= 30


def test_quota_below_demand_is_alerted_before_the_wave_naming_classes(db_url: str, tmp_path: Path) -> None:
    out = _run(db_url, tmp_path, template_quota=20)
    alerts = [a for a in out.alerts if a["kind"] == "template_quota"]
    assert len(alerts) == 1
    alert = alerts[0]
    assert alert["available"] == 20 and alert["needed"] > 20
    assert alert["classes"] and all(c["name"].endswith("班") for c in alert["classes"])
    # Staff read it in the log too, before anything was sent (the evening run logs it).
    assert any("template_quota does not fit" in line for line in out.log_alerts)
    used = {k: v for k, v in out.quota_used.items() if k.endswith("template")}
    assert used and all(v <= 20 for v in used.values())
    # What the quota could not carry is not sent late: nothing arrives after its class began.
    assert out.after_start == 0
    assert out.channels["telegram"].before_start == out.channels["telegram"].reminders
