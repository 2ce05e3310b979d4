"""Progress (进度): the /report dialogue (``report``), target adjustments (``adjust``), where each assignment
stands, the effective value and the plan as of a date (``standings``), the expected value and pace
(``pace``), what a cadre reads (``history``), the half-year table (``export``) and leaders' portfolios
and weekly digest (``portfolio``).

May import: services.core, services.people, services.calendar, services.plan.
"""
