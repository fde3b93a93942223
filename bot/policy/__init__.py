"""The rules of 吉人社规〔2024〕3号 as data: eligibility, subsidies, attendance, deadlines.

Everything here is pure (no database, no I/O after the first load) so the
conversation, the HTTP API and the scheduler can all call it freely:

    from bot.policy import get_policy, Policy
    from bot.policy.eligibility import assess
    from bot.policy.assessment import Assessment
    from bot.policy.calendar import get_calendar, WorkCalendar
    from bot.policy.deadlines import compute_deadline, Deadline, EVENTS
    from bot.policy.share import subsidy_share, Share
    from bot.policy.attendance import attendance_thresholds

Parameters live in `config/policy/*.yaml`, holiday overrides in
`config/calendar/`; both are validated once and cached.
"""

from bot.policy.calendar import WorkCalendar, get_calendar
from bot.policy.params import Policy, get_policy, load_policy
from bot.policy.schema.cited import PolicyError

__all__ = ["Policy", "PolicyError", "WorkCalendar", "get_calendar", "get_policy", "load_policy"]
