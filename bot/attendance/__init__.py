"""Attendance: class schedules on working days, check-in by chat, reminders, roster and attendance import.

Its conversation is `handlers/attendance.py`, its staff API `bot/api/admin_classes.py`,
its settings `config/attendance.yaml` (rules: `config/policy/`, 第十五条).
"""
