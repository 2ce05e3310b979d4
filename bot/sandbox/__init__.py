"""``duban sandbox``: Duban without Telegram. A local Bot API (``botapi/``, the same fake the tests drive),
the real bot polling it, a web chat to play every role (``web.py``, ``static/``), a demo county (``demo*.py``)
and a clock that can be moved (``clock.py``).

May import: bot.app.
"""
