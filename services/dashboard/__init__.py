"""The leaders' dashboard (督办看板): who is signed in (``access``: one-time login links, browser sessions,
Telegram Mini App ``initData``), what each person may see (``scope``: exactly /score's scoping, plus an
inspector's scope), the traffic-light board and a unit's and an assignment's drill-down (``board``), the map's
points (``mappoints``), and the person's alerts and supervision items with what they may do on them
(``actions``, through the same services the chat uses). The page and the JSON routes are bot/serve/dashboard.py.

May import: services.core, services.people, services.calendar, services.plan, services.progress, services.items,
services.inspection, services.scoring, services.alerts, services.assessment.
"""
