"""The domain: pure Python over a unit of work and a clock, no Telegram. One package per part of the practice.

The packages, from the bottom up (each may import only those below it, as its own docstring says, and
``models`` and ``config``; tests/test_layout.py holds them to it):

    core ← people, calendar, plan ← progress ← items ← inspection, scoring ← alerts ← assessment

(``items``, the supervision items, sits below ``inspection``: a rectification is an item opened from an
inspection, and the criticism notice lists the items red in its period.)
"""
