"""Staff broadcasts: audience filters, fan-out into the outbox, per-channel results, the scheduled job.

Its staff API is `bot/api/admin_broadcasts.py`, its console pages `bot/console/broadcasts.py`,
its settings `config/broadcasts.yaml`.
"""
