"""Background jobs: each module has `register(scheduler)`; listed in `JOB_MODULES` (bot/app.py)."""
