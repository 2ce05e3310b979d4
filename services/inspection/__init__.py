"""Process monitoring (督查): the /inspect dialogue (``inspect``, its photos step ``inspect_photos``), who may visit
which unit (``scope``), what a photo file says (``photo``: read with bounded work) and proves (``evidence``) and
the flags before Confirm (``flags``), earlier visits and uses of a photo (``visits``), criticism notices
(``notice``, ``notice_draft``: its facts include the supervision items red in the period) and the group chats
they go to (``groups``). Rectification items (整改) are supervision items opened from an inspection
(services/items).

May import: services.core, services.people, services.calendar, services.plan, services.progress, services.items.
"""
