"""The sandbox's own small state, next to its database: who can be played (the demo county's people with the
Telegram ids they joined with, and members of the public), where the units are on the map, the clock's
instant when it stopped, the survey's secret and whether the demo county is complete. One JSON file
(``sandbox.json``), written whole and atomically."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

PUBLIC_IDS = 9_000_001  # members of the public get ids from here (people of the county: 7_000_001 on)


@dataclass
class Persona:
    id: int  # the Telegram user id (chat id) the person uses
    name: str
    role: str  # admin, leader, cadre, inspector, assessor or public
    unit: str = ""
    lang: str = "zh"
    code: str = ""  # the person's code in the plan


@dataclass
class Place:
    code: str
    name: str
    latitude: float
    longitude: float


@dataclass
class State:
    personas: list[Persona] = field(default_factory=list)
    places: list[Place] = field(default_factory=list)
    clock_at: str | None = None  # ISO instant of the clock when the sandbox stopped
    survey_secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    demo: str = "none"  # none, building, done
    notes: dict[str, Any] = field(default_factory=dict)  # what the demo made (links, numbers) for the page

    @classmethod
    def load(cls, path: Path) -> State:
        if not path.exists():
            return cls()
        raw = json.loads(path.read_text(encoding="utf-8"))
        raw["personas"] = [Persona(**p) for p in raw.get("personas", [])]
        raw["places"] = [Place(**p) for p in raw.get("places", [])]
        return cls(**raw)

    def save(self, path: Path) -> None:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), ensure_ascii=False, indent=1), encoding="utf-8")
        os.chmod(tmp, 0o600)
        tmp.replace(path)

    def persona(self, user_id: int) -> Persona | None:
        return next((p for p in self.personas if p.id == user_id), None)

    def new_public(self, name: str) -> Persona:
        taken = {p.id for p in self.personas}
        user_id = next(i for i in range(PUBLIC_IDS, PUBLIC_IDS + 100_000) if i not in taken)
        persona = Persona(user_id, name, "public")
        self.personas.append(persona)
        return persona
