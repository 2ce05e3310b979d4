"""Bring the database in line with a validated workbook: upsert by code (what is missing is listed or
pruned afterwards by services/plan/prune.py).

One pass computes every change in terms of codes (so a dry run needs no writes); with ``write`` it
also changes the tables and adds an audit entry per change, in the caller's transaction.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from models.enums import LinkKind, Role
from models.people import Person, RoleMembership
from models.plan import Assignment, LeaderLink, LeadingGroup, Target, Unit
from services.core import audit
from services.core.clock import Clock
from services.plan.spec import SHEET_BY_KEY
from services.plan.state import ATTRIBUTES, FIELDS, REFERENCES, Existing, inspector_scope, roles_text, snapshot
from services.plan.validate import row_key
from services.plan.workbook import ParsedPlan

ENTITIES = {"units": "unit", "targets": "target", "assignments": "assignment", "people": "person",
            "groups": "leading_group", "links": "leader_link"}
INSPECTOR = Role.INSPECTOR.value


def _zero() -> dict[str, int]:
    return {"created": 0, "updated": 0, "unchanged": 0, "pruned": 0}


class Applier:
    def __init__(self, session: AsyncSession, clock: Clock, actor: str, plan: ParsedPlan, ex: Existing, *,
                 prune: bool, write: bool) -> None:
        self.session, self.clock, self.actor = session, clock, actor
        self.plan, self.ex, self.prune, self.write = plan, ex, prune, write
        self.now = clock.now()
        self.counts: dict[str, dict[str, int]] = {key: _zero() for key, found in plan.sheets.items() if found.rows}
        self.missing: dict[str, list[str]] = {}
        self.protected: list[str] = []
        self.ids: dict[str, dict[str, int]] = {
            "units": {c: o.id for c, o in ex.units.items()}, "people": {c: o.id for c, o in ex.people.items()},
            "groups": {c: o.id for c, o in ex.groups.items()}, "targets": {c: o.id for c, o in ex.targets.items()},
        }
        self.deleted: set[int] = set()  # id() of rows deleted by this import

    # -- helpers

    def count(self, sheet: str, what: str) -> None:
        self.counts.setdefault(sheet, _zero())[what] += 1

    def audit(self, sheet: str, action: str, key: str, before: dict[str, Any] | None = None,
              after: dict[str, Any] | None = None) -> None:
        if self.write:
            entity = ENTITIES[sheet]
            audit.record(self.session, self.clock, actor=self.actor, action=f"{entity}.{action}", entity=entity,
                         key=key, before=before, after=after)

    def assign(self, obj: Any, values: dict[str, Any]) -> None:
        for key, value in values.items():
            if key in REFERENCES:
                attr, table = REFERENCES[key]
                setattr(obj, attr, self.ids[table][value] if value else None)
            elif key not in ("role", "scope"):
                setattr(obj, ATTRIBUTES.get(key, key), value)

    def desired(self, sheet: str, values: dict[str, Any]) -> dict[str, Any]:
        return {k: values[k] for k in FIELDS[sheet] if k in values}

    def full(self, sheet: str, desired: dict[str, Any]) -> dict[str, Any]:
        spec = SHEET_BY_KEY[sheet]
        return {**{k: spec.column(k).default for k in FIELDS[sheet]}, **desired}

    @staticmethod
    def diff(current: dict[str, Any], desired: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        before = {k: current[k] for k in desired if current[k] != desired[k]}
        return before, {k: desired[k] for k in before}

    def plain(self, values: dict[str, Any]) -> dict[str, Any]:
        return {ATTRIBUTES.get(k, k): v for k, v in values.items() if k not in REFERENCES}

    # -- upserts

    async def upsert(self, sheet: str, model: type, existing: dict[str, Any], **extra: Any) -> None:
        """Create or update the coded rows of ``sheet``; references are set once every id is known."""
        pending: list[tuple[Any, dict[str, Any]]] = []
        created: list[tuple[str, Any]] = []
        for row in self.plan.rows(sheet):
            code = row.values["code"]
            desired = self.desired(sheet, row.values)
            obj = existing.get(code)
            if obj is None:
                full = self.full(sheet, desired)
                self.count(sheet, "created")
                self.audit(sheet, "create", code, after=full)
                if self.write:
                    obj = model(code=code, **self.plain(full), **extra)
                    self.session.add(obj)
                    created.append((code, obj))
                    pending.append((obj, {k: v for k, v in full.items() if k in REFERENCES}))
                continue
            before, after = self.diff(snapshot(sheet, obj, self.ex), desired)
            if getattr(obj, "active", True) is False:
                before["active"], after["active"] = False, True
            if before:
                self.count(sheet, "updated")
                self.audit(sheet, "update", code, before, after)
                pending.append((obj, after))
            else:
                self.count(sheet, "unchanged")
        await self.settle(sheet, created, pending)

    async def settle(self, sheet: str, created: list[tuple[str, Any]], pending: list[tuple[Any, dict]]) -> None:
        if not self.write:
            return
        await self.session.flush()
        for code, obj in created:
            self.ids[sheet][code] = obj.id
        for obj, values in pending:
            self.assign(obj, values)

    async def people(self) -> None:
        created: list[tuple[str, Any]] = []
        pending: list[tuple[Any, dict[str, Any]]] = []
        memberships: list[tuple[Any, list[tuple[Any, ...]]]] = []
        for row in self.plan.rows("people"):
            code = row.values["code"]
            roles: tuple[str, ...] = row.values["role"]
            scope = ";".join(row.values["scope"]) if "scope" in row.values else None
            desired = self.desired("people", row.values)
            obj = self.ex.people.get(code)
            if obj is None:
                full = self.full("people", desired)
                new_scope = (scope or "") if INSPECTOR in roles else ""
                self.count("people", "created")
                self.audit("people", "create", code, after={**full, "role": roles_text(roles), "scope": new_scope})
                if self.write:
                    obj = Person(code=code, created_at=self.now, **self.plain(full))
                    self.session.add(obj)
                    created.append((code, obj))
                    pending.append((obj, {"unit_code": full["unit_code"]}))
                    unit = full["unit_code"]
                    memberships.append((obj, [("create", r, unit, new_scope if r == INSPECTOR else "")
                                              for r in roles]))
                continue
            current = snapshot("people", obj, self.ex)
            before, after = self.diff(current, desired)
            if not obj.active:
                before["active"], after["active"] = False, True
            held = self.ex.memberships.get(obj.id, [])
            ops = self.membership_ops(code, held, roles, scope, current["unit_code"],
                                      desired.get("unit_code", current["unit_code"]))
            kept = [m for m in held if not any(op[0] == "delete" and op[1] is m for op in ops)]
            new_roles = set(roles) | {m.role for m in kept}
            new_scope = scope if INSPECTOR in roles and scope is not None else inspector_scope(kept)
            if roles_text({m.role for m in held}) != roles_text(new_roles):
                before["role"], after["role"] = roles_text({m.role for m in held}), roles_text(new_roles)
            if inspector_scope(held) != new_scope:
                before["scope"], after["scope"] = inspector_scope(held), new_scope
            if before or ops:
                self.count("people", "updated")
                self.audit("people", "update", code, before, after)
                pending.append((obj, after))
                memberships.append((obj, ops))
            else:
                self.count("people", "unchanged")
        await self.settle("people", created, pending)
        if self.write:
            for person, ops in memberships:
                await self.apply_memberships(person, ops)

    def membership_ops(self, code: str, held: list[RoleMembership], roles: tuple[str, ...], scope: str | None,
                       old_unit: str | None, new_unit: str | None) -> list[tuple[Any, ...]]:
        """Memberships to create, move or re-scope so that the person holds ``roles`` at its unit."""
        ops: list[tuple[Any, ...]] = []
        by_role: dict[str, list[RoleMembership]] = defaultdict(list)
        for m in held:
            by_role[m.role].append(m)
        for role in roles:
            wanted_scope = scope if role == INSPECTOR and scope is not None else None
            found = by_role.get(role)
            if not found:
                ops.append(("create", role, new_unit, wanted_scope or ""))
                continue
            at_new = any(self.ex.unit_code(m.unit_id) == new_unit for m in found)
            for m in found:
                unit = self.ex.unit_code(m.unit_id)
                moved = new_unit if not at_new and old_unit != new_unit and unit == old_unit else unit
                new_scope = m.scope if wanted_scope is None else wanted_scope
                if moved != unit or new_scope != m.scope:
                    ops.append(("update", m, moved, new_scope))
        for m in held:
            if m.role not in roles:
                if self.prune:
                    ops.append(("delete", m))
                else:
                    self.missing.setdefault("memberships", []).append(f"{code}:{m.role}")
        return ops

    async def apply_memberships(self, person: Person, ops: list[tuple[Any, ...]]) -> None:
        units = self.ids["units"]
        for op in ops:
            if op[0] == "create":
                _, role, unit, scope = op
                self.session.add(RoleMembership(person_id=person.id, role=role, unit_id=units.get(unit or ""),
                                                scope=scope, created_at=self.now))
            elif op[0] == "update":
                _, m, unit, scope = op
                m.unit_id, m.scope = units.get(unit or ""), scope
            else:
                await self.session.delete(op[1])

    async def assignments(self) -> None:
        created: list[Any] = []
        for row in self.plan.rows("assignments"):
            target, unit = row.values["target_code"], row.values["unit_code"]
            key = f"{target}/{unit}"
            desired = self.desired("assignments", row.values)
            obj = self.ex.assignments.get((target, unit))
            if obj is None:
                full = self.full("assignments", desired)
                self.count("assignments", "created")
                self.audit("assignments", "create", key, after=full)
                if self.write:
                    created.append(Assignment(target_id=self.ids["targets"][target], unit_id=self.ids["units"][unit],
                                              **full))
                continue
            before, after = self.diff(snapshot("assignments", obj, self.ex), desired)
            if before:
                self.count("assignments", "updated")
                self.audit("assignments", "update", key, before, after)
                if self.write:
                    self.assign(obj, after)
            else:
                self.count("assignments", "unchanged")
        if self.write:
            self.session.add_all(created)
            await self.session.flush()

    async def links(self) -> None:
        for row in self.plan.rows("links"):
            key = row_key("links", row)
            assert key is not None
            if key in self.ex.links:
                self.count("links", "unchanged")
                continue
            leader, kind, ref = key
            takes_target = LinkKind(kind).takes_target
            self.count("links", "created")
            self.audit("links", "create", "/".join(key), after={"leader_code": leader, "kind": kind,
                                                               "target_code" if takes_target else "unit_code": ref})
            if self.write:
                self.session.add(LeaderLink(
                    leader_person_id=self.ids["people"][leader], kind=kind,
                    target_id=self.ids["targets"][ref] if takes_target else None,
                    unit_id=None if takes_target else self.ids["units"][ref],
                ))
        if self.write:
            await self.session.flush()

    async def run(self) -> None:
        now = {"created_at": self.now}
        await self.upsert("units", Unit, self.ex.units, active=True, **now)
        await self.people()
        await self.upsert("groups", LeadingGroup, self.ex.groups)
        await self.upsert("targets", Target, self.ex.targets)
        await self.assignments()
        await self.links()
