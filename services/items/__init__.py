"""Supervision items (督办件): what is to be done by when, assigned to units that sign for it, work on it,
report it done with evidence, and are verified before it is struck off (交办 → 签收 → 办理 → 办结 → 核查 →
销号). A rectification (整改) is an item opened from an inspection. Here: the traffic light (``lights``, the
one function everything shows), which units a text names (``units``), who sees and decides what
(``scope``), items as people read them (``records``), the lifecycle's writes and who is told
(``lifecycle``, ``pushes``), opening an item (``newitem``, the dialogue), a unit's notes and reports and the
verifier's comments (``itemwork``, the dialogue), the lists (``items``), the reminders the scheduler's tick
sends (``reminders``), the red items of a period (``period``) and the workbook (``export``).

May import: services.core, services.people, services.calendar, services.plan, services.progress.
"""
