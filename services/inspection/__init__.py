"""Process monitoring (督查): the /inspect dialogue (``inspect``, its photos step ``inspect_photos``), who may visit
which unit (``scope``), what a photo file says (``photo``: read with bounded work) and proves (``evidence``) and
the flags before Confirm (``flags``), earlier visits and uses of a photo (``visits``), rectification items
(``rectify``), criticism notices (``notice``, ``notice_draft``) and the group chats they go to (``groups``).

May import: services.core, services.people, services.calendar, services.plan, services.progress.
"""
