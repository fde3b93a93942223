"""Subsidy claims: the lifecycle with statutory deadlines, publicity, rectifications, deadline reminders.

Its conversation is `handlers/claims.py`; its staff API `bot/api/admin_claims.py`,
`admin_claim_transitions.py`, `admin_publicity.py` and `admin_rectifications.py`; its settings
`config/claims.yaml` (day counts: `config/policy/deadlines.yaml`, 第十六条、第十七条).
"""
