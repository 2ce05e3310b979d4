"""Which commands each role has. Later features add their commands here, and only when they work."""

from __future__ import annotations

from collections.abc import Iterable

from models.enums import Role

# Commands every registered person has, in menu order.
COMMON = ("start", "help", "me", "lang")
# Commands per role, in menu order (only commands that exist).
BY_ROLE: dict[Role, tuple[str, ...]] = {
    Role.ADMIN: ("dashboard", "invite", "notice", "newitem", "items", "visits", "history", "alerts", "ranking",
                 "score", "portfolio", "accountability", "outcome"),
    Role.LEADER: ("dashboard", "portfolio", "alerts", "newitem", "items", "mute", "visits", "history", "ranking",
                  "score"),
    Role.CADRE: ("mytargets", "report", "history", "adjust", "items", "rectify", "visits", "score", "appeal",
                 "cancel"),
    Role.INSPECTOR: ("inspect", "visits", "items", "rectify", "rectify_new", "history", "assess", "surveysession",
                     "cancel"),
    Role.ASSESSOR: ("assess", "cancel"),
}
# What an unregistered user sees in the menu.
PUBLIC = ("start", "help", "lang")


def commands_for(roles: Iterable[Role]) -> list[str]:
    out = list(COMMON)
    for role in roles:
        for command in BY_ROLE.get(role, ()):
            if command not in out:
                out.append(command)
    return out
