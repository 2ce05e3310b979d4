"""People: who is talking to the bot and with which roles (``viewer``), invitations and joining
(``invite``, ``invite_sheet``), the office's changes to a person (``person``), each role's commands (``menu``).

May import: services.core.
"""
