"""The year-end assessment (考核考评): the round and who scores whom (``draw``), cross and inspection scoring
(``assess``), the public survey (``survey``), the office's bonus, deduction and veto items (``items``),
publication and freezing (``rounds``), appeals (``appeal`` the dialogues, ``appeal_records`` the records),
who may see which results (``results``) and the results workbook (``export``).

May import: services.core, services.people, services.calendar, services.plan, services.progress,
services.inspection, services.scoring, services.alerts.
"""
