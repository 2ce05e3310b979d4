"""What every part of the practice stands on: the clock (``clock``), domain errors (``errors``), the audit
log and its hash chain (``audit``, ``audit_chain``), small facts (``kv``), handled update ids (``updates``),
the outbox of every message the bot sends on its own initiative (``outbox``, ``takeover``), stored files
(``storage``, ``files``), the person behind an update (``actor``), the dialogue skeleton (``dialogue``,
``conversations``), text helpers (``text``: Telegram's length, splitting, dates) and spreadsheet cells that
are never formulas (``cells``).

May import: nothing of services.
"""
