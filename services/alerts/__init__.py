"""Reminders and alerts (预警 / 提醒): the scheduler's tick deriving everything due (``tick``), who hears of an
alert at each step of its ladder (``recipients``), supervision items' reminders (``overdue``), how alerts
read (``text``) and what people do with them (``actions``: acknowledge, details, ask for a report, mute).

May import: services.core, services.people, services.calendar, services.plan, services.progress,
services.items, services.inspection, services.scoring.
"""
