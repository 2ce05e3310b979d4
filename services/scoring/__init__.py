"""The year-end score (考核评分): the one documented formula (``formula``, its arithmetic ``calc`` over each
assignment's points from ``points``, the data it reads ``load`` with the main query ``query``, the explained lines
built on demand ``lines``), its rules file (``rules``), the results it computes (``results``), and how they read
in chat (``text``) and as a chart (``chart``).

May import: services.core, services.people, services.calendar, services.plan, services.progress.
"""
