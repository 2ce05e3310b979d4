"""``duban sandbox``: Duban without Telegram. The local Bot API (``botapi/``, the same fake the tests drive) and
the web chat (``web.py``, ``views.py``, ``static/``) on one port, the real bot polling that Bot API with the
movable clock (``clock.py``), all held together by ``sandbox.py`` and started by ``run.py``; the chats kept
across restarts (``journal.py``), the sandbox's own small state (``state.py``), the demo county (``demo_plan.py``
the plan, ``demo.py`` the scenario played through the bot, ``photos.py`` its site photos).

The leaders' dashboard (bot.serve.dashboard) is served on the same port.

May import: bot.app, bot.serve.
"""
